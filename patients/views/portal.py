"""The patient portal: thin views over services and user-scoped querysets."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from patients.models import Patient


@login_required
def home(request):
    if request.user.is_staff and not hasattr(request.user, "patient"):
        return redirect("admin:index")
    patient = Patient.objects.for_user(request.user).select_related("current_screening").first()
    return render(request, "patients/home.html", {"patient": patient})
