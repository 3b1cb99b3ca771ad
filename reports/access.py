"""Who may enter the staff area: the one place its access rule lives.

Every staff report view is wrapped in `staff_area_required`, which also asks for
the second factor (clinic/otp.py), so it must stay the only gate.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from clinic.models import Membership
from clinic.otp import redirect_to_second_factor, second_factor_missing
from clinic.roles import STAFF_SIDE_ROLES

StaffView = Callable[..., HttpResponse]


def staff_area_required(view: StaffView) -> StaffView:
    """Clinic administrators, clinicians and staff of a clinic; the page sees `request.clinic`.

    Anonymous users go to the login page; patients and users without a clinic get 403;
    staff who have not given their second factor yet go to the code step.
    Dates are the clinic's local dates, and nothing is cached (it is health data).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = Membership.objects.select_related("clinic").filter(user=user).first()
        if membership is None or membership.role not in STAFF_SIDE_ROLES:
            raise PermissionDenied("The reports are for clinic staff.")
        if second_factor_missing(request):
            return redirect_to_second_factor(request)
        user.membership = membership  # scoped querysets read it without another query
        request.clinic = membership.clinic
        with timezone.override(ZoneInfo(membership.clinic.time_zone)):
            response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    return wrapper
