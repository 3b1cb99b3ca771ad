"""API tokens: a new one at each sign-in, expiry when idle or old, revocation when the
account changes, a sign-out endpoint, and the clinic administrator's list of tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from clinic.models import ApiToken, AuditEvent, Membership, Role
from clinic.roles import membership_grant
from clinic.tokens import Reason, token_digest
from tests.clinic.test_security_otp import code_for
from tests.factories import ClinicFactory, api_token, member, otp_login, patient_with_portal

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
REVOKE_URL = "/api/v1/auth/token/revoke/"
PASSWORD = "correct-horse-battery"
ME = "/api/v1/me/checkins/"


@pytest.fixture(autouse=True)
def no_code_throttle_delay(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def sign_in(user, **extra) -> APIClient:
    response = APIClient().post(
        TOKEN_URL, {"username": user.username, "password": PASSWORD, **extra}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def answers(key: str, url: str = ME) -> int:
    return APIClient().get(url, HTTP_AUTHORIZATION=f"Token {key}").status_code


def move_clock(monkeypatch, delta: timedelta) -> None:
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + delta)


def reason_of(key: str) -> str:
    return ApiToken.objects.get(digest=token_digest(key)).revoked_reason


# Rotation.


def test_each_sign_in_gives_a_new_token_and_the_earlier_one_stops_working():
    user = patient_with_portal().user
    first = sign_in(user)
    assert answers(first) == 200
    second = sign_in(user)
    assert second != first
    assert answers(second) == 200
    assert answers(first) == 401
    assert reason_of(first) == Reason.ROTATED
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 1


def test_only_a_digest_of_the_token_is_stored():
    user = patient_with_portal().user
    key = sign_in(user)
    token = ApiToken.objects.get(user=user)
    assert token.digest == token_digest(key) and key not in token.digest
    assert token.created_ip == "127.0.0.1"


def test_an_api_sign_in_is_kept_as_a_successful_sign_in():
    from axes.models import AccessLog

    user = patient_with_portal().user
    sign_in(user)
    assert AccessLog.objects.filter(username=user.username, path_info=TOKEN_URL).exists()
    user.refresh_from_db()
    assert user.last_login is not None


# Expiry.


def test_a_token_unused_for_the_idle_period_is_refused_and_marked_expired(monkeypatch, settings):
    settings.API_TOKEN_IDLE_DAYS = 30
    key = sign_in(patient_with_portal().user)
    move_clock(monkeypatch, timedelta(days=30, minutes=1))
    response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401
    assert response.json() == {"detail": "Token expired: sign in again."}
    assert reason_of(key) == Reason.EXPIRED


def test_a_token_used_within_the_idle_period_keeps_working(monkeypatch, settings):
    settings.API_TOKEN_IDLE_DAYS = 30
    key = sign_in(patient_with_portal().user)
    real_now = timezone.now
    for days in (20, 40, 60):  # each use well inside 30 days of the one before
        monkeypatch.setattr(timezone, "now", lambda days=days: real_now() + timedelta(days=days))
        assert answers(key) == 200
    token = ApiToken.objects.get(digest=token_digest(key))
    assert token.last_used_at > real_now() + timedelta(days=59)


def test_a_token_older_than_the_maximum_age_is_refused_even_in_daily_use(monkeypatch, settings):
    settings.API_TOKEN_IDLE_DAYS, settings.API_TOKEN_MAX_AGE_DAYS = 30, 90
    key = sign_in(patient_with_portal().user)
    real_now = timezone.now
    for days in [*range(0, 90, 5), 91]:
        monkeypatch.setattr(timezone, "now", lambda days=days: real_now() + timedelta(days=days))
        assert answers(key) == (200 if days < 90 else 401), days


def test_last_use_is_written_at_most_once_a_minute():
    user = patient_with_portal().user
    key = api_token(user)
    token = ApiToken.objects.get(digest=token_digest(key))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.get(ME)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == token.last_used_at


# Sign-out.


def test_revoke_endpoint_signs_out_the_token_it_is_called_with():
    user = patient_with_portal().user
    key = sign_in(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.post(REVOKE_URL)
    assert response.status_code == 204
    assert client.get(ME).status_code == 401
    assert reason_of(key) == Reason.SIGNED_OUT
    audit = AuditEvent.objects.get(summary__contains="revoked by its holder")
    assert (audit.actor_id, audit.channel, audit.ip_address) == (user.pk, "api", "127.0.0.1")


def test_revoke_endpoint_without_a_token_answers_401_and_a_session_does_not_count():
    assert APIClient().post(REVOKE_URL).status_code == 401
    patient = patient_with_portal()
    client = APIClient()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    assert client.post(REVOKE_URL).status_code == 401


def test_revoke_endpoint_is_in_the_api_schema():
    schema = APIClient().get("/api/schema/?format=json").json()
    operation = schema["paths"][REVOKE_URL]["post"]
    assert "204" in operation["responses"] and "401" in operation["responses"]
    assert "auth" in operation["tags"]


@pytest.mark.parametrize(
    "body",
    [{}, {"username": "x"}, {"password": "x"}, {"username": ["a"], "password": {"b": 1}}],
    ids=["empty", "no password", "no user name", "wrong types"],
)
def test_bad_token_sign_in_input_answers_400(body):
    assert APIClient().post(TOKEN_URL, body, format="json").status_code == 400


def test_malformed_json_to_token_sign_in_answers_400():
    response = APIClient().post(TOKEN_URL, "{not json", content_type="application/json")
    assert response.status_code == 400


# Revocation when the account changes.


def test_changing_the_password_revokes_the_accounts_tokens():
    patient = patient_with_portal()
    key = sign_in(patient.user)
    client = Client()
    client.post("/accounts/login/", {"username": patient.user.username, "password": PASSWORD})
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-password-42",
            "new_password2": "a-new-long-password-42",
        },
    )
    assert response.status_code == 302
    assert answers(key) == 401
    assert reason_of(key) == Reason.PASSWORD_CHANGED


def test_resetting_the_password_revokes_the_accounts_tokens():
    user = patient_with_portal().user
    key = sign_in(user)
    user.refresh_from_db()  # the sign-in set last_login, which the reset link depends on
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    client = Client()
    form_url = client.get(f"/accounts/reset/{uid}/{token}/", follow=True).redirect_chain[-1][0]
    client.post(
        form_url,
        {"new_password1": "a-new-long-password-42", "new_password2": "a-new-long-password-42"},
    )
    assert answers(key) == 401
    assert reason_of(key) == Reason.PASSWORD_CHANGED


def test_second_factor_reset_by_the_clinic_administrator_revokes_the_tokens():
    clinic = ClinicFactory()
    administrator = member(Role.CLINIC_ADMIN, clinic)
    clinician = member(Role.CLINICIAN, clinic)
    device = TOTPDevice.objects.create(user=clinician, name="Phone", confirmed=True)
    key = sign_in(clinician, otp=code_for(device))
    assert answers(key, "/api/v1/patients/") == 200
    client = Client()
    otp_login(client, administrator)
    client.post(
        "/admin/clinic/membership/",
        {
            "action": "reset_second_factor",
            "_selected_action": [Membership.objects.get(user=clinician).pk],
        },
    )
    assert not TOTPDevice.objects.filter(user=clinician).exists()
    assert answers(key, "/api/v1/patients/") == 401
    assert reason_of(key) == Reason.SECOND_FACTOR_CHANGED


def test_a_patient_turning_the_second_factor_on_revokes_tokens_got_with_the_password_alone():
    patient = patient_with_portal()
    key = sign_in(patient.user)
    client = Client()
    client.post("/accounts/login/", {"username": patient.user.username, "password": PASSWORD})
    client.get("/accounts/two-factor/")
    device = TOTPDevice.objects.get(user=patient.user)
    client.post("/accounts/two-factor/", {"code": code_for(device)})
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert answers(key) == 401
    assert reason_of(key) == Reason.SECOND_FACTOR_CHANGED


def test_checking_a_code_at_the_code_step_does_not_revoke_the_tokens():
    """django-otp saves the device at every code: only a new or removed factor counts."""
    clinician = member(Role.CLINICIAN)
    device = TOTPDevice.objects.create(user=clinician, name="Phone", confirmed=True)
    key = sign_in(clinician, otp=code_for(device))
    client = Client()
    client.post("/accounts/login/", {"username": clinician.username, "password": PASSWORD})
    client.post("/accounts/otp/", {"code": code_for(device, steps_ahead=1)})
    assert client.get("/admin/").status_code == 200
    assert answers(key, "/api/v1/patients/") == 200


@pytest.mark.parametrize(
    "change",
    ["role", "clinic"],
    ids=["a new role", "another clinic"],
)
def test_a_role_or_clinic_change_revokes_the_accounts_tokens(change):
    if change == "role":
        patient = patient_with_portal()
        key = sign_in(patient.user)
        membership_grant(user=patient.user, clinic=patient.clinic, role=Role.STAFF)
    else:
        # A patient's portal account stays in the patient's clinic (PostgreSQL holds it):
        # the account that moves is one with no patient record yet.
        user = member(Role.PATIENT)
        key = sign_in(user)
        membership_grant(user=user, clinic=ClinicFactory(), role=Role.PATIENT)
    assert reason_of(key) == Reason.ROLE_CHANGED
    assert answers(key) == 401


def test_granting_the_same_role_again_keeps_the_tokens():
    patient = patient_with_portal()
    key = sign_in(patient.user)
    membership_grant(user=patient.user, clinic=patient.clinic, role=Role.PATIENT)
    assert answers(key) == 200


def test_deactivating_the_account_revokes_its_tokens():
    user = patient_with_portal().user
    key = sign_in(user)
    user.is_active = False
    user.save()
    assert reason_of(key) == Reason.DEACTIVATED
    user.is_active = True
    user.save()
    assert answers(key) == 401  # reactivation does not bring a token back


def test_each_revocation_leaves_one_audit_row_naming_the_account():
    user = patient_with_portal().user
    sign_in(user)
    user.set_password("another-long-password-7")
    user.save()
    audit = AuditEvent.objects.get(
        object_type="auth.user", object_id=str(user.pk), summary__contains="revoked"
    )
    assert audit.changes == {"tokens_revoked": 1, "reason": "password_changed"}
    assert audit.clinic_id == user.membership.clinic_id


# The administrator's list of tokens.

CHANGELIST = "/admin/clinic/apitoken/"


def test_clinic_administrator_lists_their_clinics_tokens_only():
    clinic = ClinicFactory()
    administrator = member(Role.CLINIC_ADMIN, clinic)
    ours = patient_with_portal(clinic).user
    theirs = patient_with_portal(ClinicFactory()).user
    sign_in(ours)
    sign_in(ours)  # the earlier one listed as replaced
    sign_in(theirs)
    client = Client()
    otp_login(client, administrator)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert ours.username in html and theirs.username not in html
    assert "Live" in html and "Revoked: Replaced at a new sign-in" in html
    other = ApiToken.objects.get(user=theirs)
    assert client.get(f"{CHANGELIST}{other.pk}/change/").status_code == 302  # not found
    assert client.get(f"{CHANGELIST}add/").status_code == 403


def test_clinic_administrator_revokes_a_token_from_the_list_and_it_is_audited():
    clinic = ClinicFactory()
    administrator = member(Role.CLINIC_ADMIN, clinic)
    user = patient_with_portal(clinic).user
    key = sign_in(user)
    client = Client()
    otp_login(client, administrator)
    token = ApiToken.objects.get(digest=token_digest(key))
    response = client.post(
        CHANGELIST, {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert "1 API token(s) revoked." in response.content.decode()
    assert answers(key) == 401
    assert reason_of(key) == Reason.ADMINISTRATOR
    audit = AuditEvent.objects.get(summary__contains="revoked by an administrator")
    assert (audit.actor_id, audit.channel) == (administrator.pk, "admin")


def test_clinic_administrator_cannot_revoke_another_clinics_token_by_a_crafted_post():
    administrator = member(Role.CLINIC_ADMIN, ClinicFactory())
    key = sign_in(patient_with_portal(ClinicFactory()).user)
    client = Client()
    otp_login(client, administrator)
    token = ApiToken.objects.get(digest=token_digest(key))
    client.post(CHANGELIST, {"action": "revoke", "_selected_action": [token.pk]})
    assert answers(key) == 200


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.STAFF])
def test_other_staff_roles_do_not_see_the_tokens(role):
    user = member(role)
    client = Client()
    otp_login(client, user)
    assert client.get(CHANGELIST).status_code == 403
