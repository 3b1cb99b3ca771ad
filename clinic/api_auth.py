"""Token login for integrators, counted and locked out by django-axes like every sign-in."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class TokenLoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, help_text="The account's user name.")
    password = serializers.CharField(
        max_length=128,
        trim_whitespace=False,
        write_only=True,
        style={"input_type": "password"},
        help_text="The account's password.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="Send as `Authorization: Token <token>` on every API request."
    )


class TokenLoginView(APIView):
    """Exchange a user name and password for the account's API token.

    Failed attempts are counted by django-axes per user name and address, as
    on the portal and admin sign-in pages; after too many the address is locked
    out (429) for the cool-off period, even with the right password.
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
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
