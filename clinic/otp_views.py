"""The second-factor pages: the code step after the password, and setting up an authenticator.

Staff without an authenticator set one up at their first sign-in; patients
turn it on (or off) from their portal settings. The QR code is an image in a
data URI, so the pages need no script at all.
"""

from __future__ import annotations

import base64
import io
from urllib.parse import urlencode

import django_otp
import qrcode
import qrcode.image.svg
from django import forms
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import devices_for_user, match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.audit import audit_change
from clinic.otp import (
    cycle_session_after_second_factor,
    has_confirmed_device,
    is_locked_out,
    lockout_credentials,
    reset_failures_after_sign_in,
    second_factor_missing,
)
from clinic.roles import clinic_of


class CodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code",
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
        help_text="From your authenticator app; it changes every 30 seconds.",
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit():
            raise forms.ValidationError("The code is 6 digits.")
        return code


def _next_url(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _home(request: HttpRequest) -> str:
    return reverse("admin:index") if request.user.is_staff else reverse("portal:home")


def _locked_out(request: HttpRequest) -> HttpResponse:
    """Sign the half-signed-in user out and show the lockout page (as axes does, 429)."""
    logout(request)
    return render(request, "registration/locked_out.html", status=429)


def _is_patient(request: HttpRequest) -> bool:
    return not (request.user.is_staff or request.user.is_superuser)


def _layout(request: HttpRequest) -> str:
    return "portal/_layout.html" if _is_patient(request) else "base.html"


@sensitive_post_parameters("code")
@never_cache
@login_required
def otp_verify(request: HttpRequest) -> HttpResponse:
    """The code step: a correct code marks the session verified; a wrong one is a failed login."""
    next_url = _next_url(request, _home(request))
    if not second_factor_missing(request):
        return redirect(next_url)
    if is_locked_out(request, request.user):
        return _locked_out(request)
    if not has_confirmed_device(request.user):
        return redirect(f"{reverse('otp_setup')}?{urlencode({'next': next_url})}")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            device = match_token(request.user, form.cleaned_data["code"])
        if device is not None:
            django_otp.login(request, device)
            cycle_session_after_second_factor(request)
            reset_failures_after_sign_in(request, request.user)
            return redirect(next_url)
        user_login_failed.send(
            sender=__name__, credentials=lockout_credentials(request.user), request=request
        )
        if getattr(request, "axes_locked_out", False):
            return _locked_out(request)
        form.add_error("code", "That code is not right, or it has expired. Try the newest one.")
    return render(
        request,
        "registration/otp_verify.html",
        {"form": form, "next": next_url, "layout": _layout(request)},
    )


def _qr_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=12)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _pending_device(user) -> TOTPDevice:
    """The unconfirmed device being set up: one per user, kept until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)


def _audit_device(request: HttpRequest, device: TOTPDevice, summary: str) -> None:
    patient = getattr(request.user, "patient", None) if _is_patient(request) else None
    audit_change(
        device,
        "update",
        summary,
        by=request.user,
        channel="portal" if _is_patient(request) else "admin",
        # A device carries neither: the account's clinic, and its patient record if any.
        clinic=clinic_of(request.user),
        patient_ids=[patient.pk] if patient else None,
        request=request,
    )


@sensitive_post_parameters("code")
@never_cache
@login_required
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator (QR code, then a code to confirm), or, for a patient, turn it off.

    Someone who already has an authenticator must have used it in this session
    before they can change anything here.
    """
    enrolled = has_confirmed_device(request.user)
    if enrolled and second_factor_missing(request):
        return redirect(f"{reverse('otp_verify')}?{urlencode({'next': request.get_full_path()})}")
    next_url = _next_url(
        request, reverse("portal:settings") if _is_patient(request) else _home(request)
    )
    form = CodeForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "next": next_url, "layout": _layout(request), "enrolled": enrolled}

    if enrolled:
        if request.method == "POST" and _is_patient(request) and form.is_valid():
            with transaction.atomic():
                device = match_token(request.user, form.cleaned_data["code"])
                if device is not None:
                    _audit_device(request, device, "Two-step sign-in turned off")
                    for each in devices_for_user(request.user, confirmed=None):
                        each.delete()
                    request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
            if device is not None:
                return redirect(reverse("portal:settings"))
            form.add_error("code", "That code is not right, or it has expired.")
        return render(request, "registration/otp_setup.html", context)

    device = _pending_device(request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
            if device.verify_token(form.cleaned_data["code"]):
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                _audit_device(request, device, "Two-step sign-in set up")
            else:
                device = None
        if device is not None:
            django_otp.login(request, device)
            cycle_session_after_second_factor(request)
            reset_failures_after_sign_in(request, request.user)
            return redirect(next_url)
        form.add_error("code", "That code is not right. Check the app shows Inverto, then retry.")
        device = _pending_device(request.user)
    secret = base64.b32encode(device.bin_key).decode()
    context.update(
        {
            "qr_code": _qr_data_uri(device.config_url),
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        }
    )
    return render(request, "registration/otp_setup.html", context)
