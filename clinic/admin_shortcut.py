"""The admin's "view on site" shortcut (`/admin/r/<content type>/<id>/`), scoped.

Django's shortcut looks the row up among all rows: it redirects for another clinic's
patient and answers 404 for an id nobody has, which tells a clinic's staff which ids
exist elsewhere. This one looks the row up through the model's admin queryset (the
user's clinic only) and needs view permission; anything else is the same 404.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse


def _not_found() -> Http404:
    return Http404("No such record.")


def view_on_site(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist:
        raise _not_found() from None
    model_admin = admin.site._registry.get(model)
    if model_admin is None or not model_admin.has_view_or_change_permission(request):
        raise _not_found()
    try:
        visible = model_admin.get_queryset(request).filter(pk=object_id).exists()
    except (ValueError, ValidationError):
        visible = False
    if not visible:
        raise _not_found()
    return shortcut(request, content_type_id, object_id)


# Same staff-only guard as every admin view.
scoped_view_on_site = admin.site.admin_view(view_on_site)
