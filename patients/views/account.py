"""Portal account pages: accepting an invitation (set a password, then signed in)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from patients import services


class SetPasswordForm(forms.Form):
    password1 = forms.CharField(
        label="Choose a password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters, not only numbers, not a common password.",
    )
    password2 = forms.CharField(
        label="Type it again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "The two passwords are different.")
        return cleaned


@never_cache
def invitation_accept(request, token: str):
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return render(request, "registration/invitation_invalid.html", status=410)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token, password=form.cleaned_data["password1"], request=request
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                form.add_error("password1" if field in ("password", "__all__") else None, messages)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("portal:home")
    return render(
        request,
        "registration/invitation_accept.html",
        {"form": form, "invitation": invitation, "username": invitation.email.lower()},
    )
