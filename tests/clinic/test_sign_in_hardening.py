"""Sign-in hardening: limits no spread of user names escapes, every sign-in kept, rate-limited
reset e-mails, session idle and absolute lifetime, and a new session key after the code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from clinic.models import Role
from clinic.signin import LAST_SEEN, SIGNED_IN_AT
from tests.clinic.test_security_otp import code_for
from tests.factories import ClinicFactory, member, otp_login, patient_with_portal

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
TOKEN_URL = "/api/v1/auth/token/"
LOGIN_URL = "/accounts/login/"
RESET_URL = "/accounts/password_reset/"


@pytest.fixture(autouse=True)
def no_code_throttle_delay(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def api_sign_in(username: str, password: str, address: str):
    return APIClient().post(
        TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


def page_sign_in(username: str, password: str, address: str):
    return Client(REMOTE_ADDR=address).post(LOGIN_URL, {"username": username, "password": password})


# Password spraying.


def test_forty_guesses_over_ten_accounts_from_one_address_are_stopped_at_the_address_limit(
    settings,
):
    """The probe's spray: 4 guesses at each of 10 accounts, under the per-account limit of 5."""
    assert settings.SIGNIN_ADDRESS_FAILURE_LIMIT == 20
    users = [patient_with_portal().user for _ in range(10)]
    statuses = [
        api_sign_in(user.username, f"guess {n}", "203.0.113.9").status_code
        for n in range(4)
        for user in users
    ]
    # As with django-axes' own limit, the failure that reaches it is answered 429.
    assert statuses[:19] == [400] * 19
    assert set(statuses[19:]) == {429}
    # Even the right password of an account never guessed at is refused from there ...
    fresh = patient_with_portal().user
    assert api_sign_in(fresh.username, PASSWORD, "203.0.113.9").status_code == 429
    assert page_sign_in(fresh.username, PASSWORD, "203.0.113.9").status_code == 429
    # ... and answered as usual from anywhere else.
    assert api_sign_in(fresh.username, PASSWORD, "198.51.100.4").status_code == 200


def test_spraying_the_sign_in_page_locks_the_address_for_every_account(settings):
    settings.SIGNIN_ADDRESS_FAILURE_LIMIT = 6
    users = [patient_with_portal().user for _ in range(3)]
    statuses = [
        page_sign_in(user.username, f"guess {n}", "203.0.113.10").status_code
        for n in range(2)
        for user in users
    ]
    assert statuses == [200] * 5 + [429]
    locked = page_sign_in(users[0].username, PASSWORD, "203.0.113.10")
    assert locked.status_code == 429
    assert "Too many sign-in attempts" in locked.content.decode()


def test_unknown_user_names_count_towards_the_address_limit(settings):
    settings.SIGNIN_ADDRESS_FAILURE_LIMIT = 5
    for n in range(5):
        api_sign_in(f"nobody-{n}@example.invalid", "guess", "203.0.113.11")
    user = patient_with_portal().user
    assert api_sign_in(user.username, PASSWORD, "203.0.113.11").status_code == 429


def test_wrong_codes_at_the_code_step_count_towards_the_address_limit(settings):
    settings.SIGNIN_ADDRESS_FAILURE_LIMIT = 4
    clinician = member(Role.CLINICIAN)
    TOTPDevice.objects.create(user=clinician, name="Phone", confirmed=True)
    client = Client(REMOTE_ADDR="203.0.113.12")
    client.post(LOGIN_URL, {"username": clinician.username, "password": PASSWORD})
    for _ in range(2):
        client.post("/accounts/otp/", {"code": "000000"})
    for n in range(2):
        api_sign_in(f"nobody-{n}", "guess", "203.0.113.12")
    other = patient_with_portal().user
    assert page_sign_in(other.username, PASSWORD, "203.0.113.12").status_code == 429


def test_failures_across_the_service_past_the_global_limit_make_every_sign_in_wait(settings):
    """A spray from many addresses: each under every per-address limit, together over the
    global one; then nobody signs in until the window holds fewer failures."""
    settings.SIGNIN_GLOBAL_FAILURE_LIMIT = 8
    settings.SIGNIN_GLOBAL_WINDOW_MINUTES = 10
    for n in range(8):
        api_sign_in(f"guess-{n}", "guess", f"192.0.2.{n + 1}")
    user = patient_with_portal().user
    assert api_sign_in(user.username, PASSWORD, "198.51.100.50").status_code == 429
    assert page_sign_in(user.username, PASSWORD, "198.51.100.51").status_code == 429

    AccessFailureLog.objects.update(attempt_time=timezone.now() - timedelta(minutes=11))
    assert api_sign_in(user.username, PASSWORD, "198.51.100.52").status_code == 200


def test_a_global_limit_under_reach_does_not_slow_anyone(settings):
    settings.SIGNIN_GLOBAL_FAILURE_LIMIT = 8
    for n in range(7):
        api_sign_in(f"guess-{n}", "guess", f"192.0.2.{n + 1}")
    user = patient_with_portal().user
    assert api_sign_in(user.username, PASSWORD, "198.51.100.53").status_code == 200


# Every sign-in kept, and shown to the clinic's administrator.


def test_failed_and_successful_sign_ins_are_kept():
    user = patient_with_portal().user
    page_sign_in(user.username, "wrong", "203.0.113.20")
    api_sign_in(user.username, "wrong", "203.0.113.20")
    page_sign_in(user.username, PASSWORD, "203.0.113.20")
    failures = AccessFailureLog.objects.filter(username=user.username)
    assert sorted(failures.values_list("path_info", flat=True)) == [LOGIN_URL, TOKEN_URL]
    assert AccessLog.objects.filter(username=user.username, path_info=LOGIN_URL).exists()


@pytest.mark.parametrize(
    "url", ["/admin/axes/accessfailurelog/", "/admin/axes/accesslog/", "/admin/axes/accessattempt/"]
)
def test_clinic_administrator_sees_their_own_clinics_sign_in_records_only(url):
    clinic = ClinicFactory()
    administrator = member(Role.CLINIC_ADMIN, clinic)
    ours = patient_with_portal(clinic).user
    theirs = patient_with_portal(ClinicFactory()).user
    for user in (ours, theirs):
        page_sign_in(user.username, "wrong", "203.0.113.21")
        page_sign_in(user.username, PASSWORD, "203.0.113.22")
    client = Client()
    otp_login(client, administrator)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert ours.username in html and theirs.username not in html


def test_sign_in_records_are_read_only_and_hidden_from_clinicians():
    administrator = member(Role.CLINIC_ADMIN)
    client = Client()
    otp_login(client, administrator)
    assert client.get("/admin/axes/accessfailurelog/add/").status_code == 403
    clinician = member(Role.CLINICIAN)
    other = Client()
    otp_login(other, clinician)
    assert other.get("/admin/axes/accessfailurelog/").status_code == 403


# Password-reset e-mails.


def test_reset_e_mails_stop_after_the_accounts_quota_without_telling_the_requester(settings):
    settings.PASSWORD_RESET_ACCOUNT_LIMIT = 3
    user = patient_with_portal().user
    user.email = "ada@example.invalid"
    user.save()
    for n in range(5):
        client = Client(REMOTE_ADDR=f"198.51.100.{n + 60}")
        response = client.post(RESET_URL, {"email": "ada@example.invalid"})
        assert response.status_code == 302
        assert response["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 3


def test_reset_requests_from_one_address_are_refused_past_its_limit(settings):
    settings.PASSWORD_RESET_ADDRESS_LIMIT = 4
    client = Client(REMOTE_ADDR="203.0.113.30")
    statuses = [
        client.post(RESET_URL, {"email": f"someone-{n}@example.invalid"}).status_code
        for n in range(6)
    ]
    assert statuses == [302, 302, 302, 302, 429, 429]
    assert (
        "Too many reset requests"
        in client.post(RESET_URL, {"email": "x@example.invalid"}).content.decode()
    )
    assert (
        Client(REMOTE_ADDR="203.0.113.31")
        .post(RESET_URL, {"email": "a@example.invalid"})
        .status_code
        == 302
    )


def test_reset_limits_count_only_the_window(settings):
    from clinic.models import PasswordResetRequest

    settings.PASSWORD_RESET_ADDRESS_LIMIT = 2
    client = Client(REMOTE_ADDR="203.0.113.32")
    for _ in range(2):
        client.post(RESET_URL, {"email": "a@example.invalid"})
    assert client.post(RESET_URL, {"email": "a@example.invalid"}).status_code == 429
    PasswordResetRequest.objects.update(requested_at=timezone.now() - timedelta(minutes=61))
    assert client.post(RESET_URL, {"email": "a@example.invalid"}).status_code == 302


@pytest.mark.parametrize(
    "body", [{}, {"email": "not an address"}, {"email": "a" * 300 + "@b.c"}, {"email": "\x00"}]
)
def test_bad_reset_input_is_a_form_error_not_a_server_error(body):
    response = Client().post(RESET_URL, body)
    assert response.status_code == 200
    assert len(mail.outbox) == 0


@pytest.mark.parametrize("body", [{}, {"username": "x"}, {"username": "\x00", "password": "x"}])
def test_bad_sign_in_page_input_is_a_form_error_not_a_server_error(body):
    assert Client().post(LOGIN_URL, body).status_code == 200


# Session lifetime.


def move_clock(monkeypatch, minutes: float) -> None:
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(minutes=minutes))


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_staff_session_idle_for_fifteen_minutes_is_signed_out(monkeypatch):
    client = Client()
    otp_login(client, member(Role.CLINICIAN))
    assert client.get("/admin/").status_code == 200
    move_clock(monkeypatch, 16)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not signed_in(client)


def test_a_staff_session_in_use_stays_until_its_absolute_lifetime(monkeypatch, settings):
    client = Client()
    otp_login(client, member(Role.CLINICIAN))
    real_now = timezone.now
    for minutes in (10, 20, 30, 40):  # a request every 10 minutes: never idle 15
        monkeypatch.setattr(timezone, "now", lambda m=minutes: real_now() + timedelta(minutes=m))
        assert client.get("/admin/").status_code == 200, minutes
    session = client.session
    session[SIGNED_IN_AT] -= 3600 * settings.SESSION_MAX_HOURS_STAFF
    session.save()
    assert client.get("/admin/").status_code == 302
    assert not signed_in(client)


def test_a_patient_session_lasts_an_hour_idle(monkeypatch):
    patient = patient_with_portal()
    client = Client()
    client.post(LOGIN_URL, {"username": patient.user.username, "password": PASSWORD})
    move_clock(monkeypatch, 50)  # longer than a staff session could idle
    assert client.get("/").status_code == 200
    move_clock(monkeypatch, 50 + 61)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN_URL)


def test_idle_and_absolute_limits_are_configurable(monkeypatch, settings):
    settings.SESSION_IDLE_MINUTES_PATIENT = 5
    patient = patient_with_portal()
    client = Client()
    client.post(LOGIN_URL, {"username": patient.user.username, "password": PASSWORD})
    move_clock(monkeypatch, 6)
    assert client.get("/").status_code == 302


def test_a_session_from_before_the_limits_gets_its_clock_started_not_ended():
    patient = patient_with_portal()
    client = Client()
    client.post(LOGIN_URL, {"username": patient.user.username, "password": PASSWORD})
    session = client.session
    del session[SIGNED_IN_AT], session[LAST_SEEN]
    session.save()
    assert client.get("/").status_code == 200
    assert isinstance(client.session[SIGNED_IN_AT], int)


def test_an_idle_api_session_is_signed_out_too(monkeypatch):
    patient = patient_with_portal()
    client = APIClient()
    client.post(LOGIN_URL, {"username": patient.user.username, "password": PASSWORD})
    assert client.get("/api/v1/me/checkins/").status_code == 200
    move_clock(monkeypatch, 61)
    assert client.get("/api/v1/me/checkins/").status_code in (401, 403)


# The session key after the second factor.


def test_the_session_key_changes_when_the_code_is_accepted():
    clinician = member(Role.CLINICIAN)
    device = TOTPDevice.objects.create(user=clinician, name="Phone", confirmed=True)
    client = Client()
    client.post(LOGIN_URL, {"username": clinician.username, "password": PASSWORD})
    before = client.cookies["sessionid"].value
    client.post("/accounts/otp/", {"code": code_for(device), "next": "/admin/"})
    after = client.cookies["sessionid"].value
    assert after != before
    assert client.get("/admin/").status_code == 200

    # The key seen before the code step signs nobody in now.
    stale = Client()
    stale.cookies["sessionid"] = before
    assert stale.get("/admin/").status_code == 302
    # And the kept sign-in record follows the new key: signing out closes it.
    client.post("/accounts/logout/")
    record = AccessLog.objects.get(username=clinician.username)
    assert record.logout_time is not None


def test_the_session_key_changes_when_an_authenticator_is_set_up():
    clinician = member(Role.CLINICIAN)
    client = Client()
    client.post(LOGIN_URL, {"username": clinician.username, "password": PASSWORD})
    client.get("/accounts/two-factor/")
    before = client.cookies["sessionid"].value
    device = TOTPDevice.objects.get(user=clinician)
    client.post("/accounts/two-factor/", {"code": code_for(device), "next": "/admin/"})
    assert client.cookies["sessionid"].value != before
    assert client.get("/admin/").status_code == 200
