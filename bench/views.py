"""The yardsticks `make bench` measures the product against.

`staff_page` is a staff report page with nothing of its own: the same gate (session,
membership, second factor), the reports' layout, no query. `MinimalWrite` is an API POST
with the check-in's authentication, CSRF and role policy that inserts one small row.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.models import WriteProbe
from clinic.permissions import PATIENT_ROLES, Access
from reports.access import staff_area_required


@staff_area_required
def staff_page(request: HttpRequest) -> HttpResponse:
    return render(
        request, "bench/staff_page.html", {"clinic": request.clinic, "title": "Yardstick"}
    )


class MinimalWrite(APIView):
    access = Access(write=PATIENT_ROLES)

    def post(self, request) -> Response:
        probe = WriteProbe.objects.create(user_id=request.user.pk)
        return Response({"id": probe.pk}, status=status.HTTP_201_CREATED)
