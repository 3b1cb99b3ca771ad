"""Token sign-in and sign-out for integrators, counted and locked out by django-axes like
every sign-in. Tokens themselves (rotation, expiry, revocation) live in clinic/tokens.py."""

from __future__ import annotations

from axes.models import AccessLog
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.contrib.auth.signals import user_login_failed
from django_otp import match_token
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.models import AuditEvent
from clinic.otp import reset_failures_after_sign_in, second_factor_required
from clinic.signin_audit import signin_record
from clinic.tokens import ExpiringTokenAuthentication, Reason, token_issue, tokens_revoke


class TokenLoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, help_text="The account's user name.")
    password = serializers.CharField(
        max_length=128,
        trim_whitespace=False,
        write_only=True,
        style={"input_type": "password"},
        help_text="The account's password.",
    )
    otp = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        default="",
        help_text="The code from the authenticator app: required for staff-side accounts "
        "and for patients who turned the second factor on.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="Send as `Authorization: Token <token>` on every API request. A new "
        "token at each sign-in replaces the account's earlier ones; it expires after "
        "30 days unused (by default) and when the password, second factor or role changes."
    )


def _record_sign_in(django_request, user) -> None:
    """Keep the successful sign-in, as django-axes does for the sign-in pages.

    Not `user_logged_in`: that signal's receivers expect a browser session to start.
    """
    AccessLog.objects.create(
        username=user.get_username(),
        ip_address=django_request.axes_ip_address,
        user_agent=django_request.axes_user_agent,
        http_accept=django_request.axes_http_accept,
        path_info=django_request.axes_path_info,
        attempt_time=django_request.axes_attempt_time,
    )
    update_last_login(None, user)


class TokenLoginView(APIView):
    """Exchange a user name and password for a new API token.

    Failed attempts are counted by django-axes as on the portal and admin sign-in
    pages: per user name and address, per address across accounts, and across the
    whole service (clinic/signin.py). Past a limit the answer is 429 for the cool-off
    period, even with the right password. Each sign-in issues a new token and revokes
    the account's earlier ones.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttled_by_axes = True

    @extend_schema(
        request=TokenLoginSerializer,
        responses={200: TokenSerializer},
        summary="Sign in and get an API token",
        tags=["auth"],
    )
    def post(self, request):
        body = TokenLoginSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # axes flags the Django request it is given, not DRF's wrapper around it.
        django_request = request._request
        user = authenticate(
            request=django_request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
        )
        if getattr(django_request, "axes_locked_out", False):
            # Answer in JSON here rather than with the HTML lockout page the
            # middleware would render for a request still flagged.
            django_request.axes_locked_out = False
            return Response(
                {"detail": "Too many failed sign-ins: try again later."},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        if user is None or not user.is_active:
            raise exceptions.ValidationError(
                {"non_field_errors": ["Unable to sign in with these credentials."]}
            )
        # A token must not be a way round the second factor the other sign-ins ask for;
        # a wrong code is a failed sign-in to axes, as on the code page.
        if second_factor_required(user) and match_token(user, body.validated_data["otp"]) is None:
            user_login_failed.send(
                sender=__name__,
                credentials={"username": body.validated_data["username"]},
                request=django_request,
            )
            if getattr(django_request, "axes_locked_out", False):
                django_request.axes_locked_out = False
                return Response(
                    {"detail": "Too many failed sign-ins: try again later."},
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                )
            raise exceptions.ValidationError(
                {"otp": ["Enter the current code from your authenticator app."]}
            )
        # The whole sign-in succeeded: forget this user's failures from this address.
        reset_failures_after_sign_in(django_request, user)
        key = token_issue(user=user, request=django_request)
        _record_sign_in(django_request, user)
        signin_record(django_request, user, how="API token")
        return Response({"token": key})


class TokenRevokeView(APIView):
    """Sign out: revoke the token this request is signed in with."""

    authentication_classes = [ExpiringTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="Revoked: the token signs nobody in now.")},
        summary="Revoke the API token of this request (sign out)",
        tags=["auth"],
    )
    def post(self, request):
        tokens_revoke(
            user=request.user,
            reason=Reason.SIGNED_OUT,
            by=request.user,
            channel=AuditEvent.Channel.API,
            request=request,
            tokens=request.user.api_tokens.filter(pk=request.auth.pk),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
