"""The second factor: staff need a TOTP code after their password, patients may turn one on,
and wrong codes count toward the same lockout as wrong passwords on every login path."""

from __future__ import annotations

import re
import time
from base64 import b32decode
from urllib.parse import parse_qs, urlsplit

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import AuditEvent, Role
from tests.factories import clinician, member, otp_login, patient_with_portal

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def no_code_throttle_delay(settings):
    """django-otp's own back-off would make a right code after a wrong one wait a second."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or `steps_ahead` periods later), in the
    server's count of periods: its stored drift, which a code accepted just after a period
    boundary moves by one (else a slow run makes "the next code" fall outside the window)."""
    stored = TOTPDevice.objects.filter(pk=device.pk).first() if device.pk else None
    device = stored or device
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code_for(device: TOTPDevice) -> str:
    right = {code_for(device, steps_ahead=n) for n in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in right)


def password_login(client: Client, user, path: str = "/accounts/login/"):
    return client.post(path, {"username": user.username, "password": PASSWORD})


def with_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


def failures(user) -> int:
    return sum(
        AccessAttempt.objects.filter(username=user.username).values_list(
            "failures_since_start", flat=True
        )
    )


# Staff: a password alone opens nothing.


@pytest.mark.parametrize("path", ["/admin/", "/admin/patients/patient/", "/reports/", "/"])
def test_clinician_with_password_only_is_sent_to_the_code_step(path):
    user = clinician()
    with_device(user)
    client = Client()
    assert password_login(client, user).status_code == 302
    response = client.get(path)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/otp/"
    assert parse_qs(location.query)["next"] == [path]


def test_clinician_signing_in_at_the_admin_login_lands_on_the_code_step_then_the_admin():
    user = clinician()
    device = with_device(user)
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": user.username, "password": PASSWORD, "next": "/admin/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/accounts/otp/?next=%2Fadmin%2F"
    assert "Enter your code" in response.content.decode()

    response = client.post(
        "/accounts/otp/", {"code": code_for(device), "next": "/admin/"}, follow=True
    )
    assert response.redirect_chain == [("/admin/", 302)]
    assert response.status_code == 200
    assert client.get("/admin/patients/patient/").status_code == 200
    assert client.get("/reports/").status_code == 200


def test_staff_member_with_a_correct_code_reaches_the_reports():
    user = member(Role.STAFF)
    device = with_device(user)
    client = Client()
    password_login(client, user)
    assert client.get("/reports/").status_code == 302
    client.post("/accounts/otp/", {"code": code_for(device), "next": "/reports/"})
    assert client.get("/reports/").status_code == 200


def test_unverified_staff_session_gets_403_from_the_api():
    user = clinician()
    with_device(user)
    client = Client()
    password_login(client, user)
    response = client.get("/api/v1/patients/")
    assert response.status_code == 403
    assert "authenticator" in response.json()["detail"]


def test_code_step_does_not_redirect_to_another_site():
    user = clinician()
    device = with_device(user)
    client = Client()
    password_login(client, user)
    response = client.post(
        "/accounts/otp/", {"code": code_for(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/admin/"


# Wrong codes and lockout.


def test_wrong_code_is_refused_and_counts_as_a_failed_login():
    user = clinician()
    device = with_device(user)
    client = Client()
    password_login(client, user)
    response = client.post("/accounts/otp/", {"code": wrong_code_for(device), "next": "/admin/"})
    assert response.status_code == 200
    assert "not right" in response.content.decode()
    assert failures(user) == 1
    assert client.get("/admin/").status_code == 302


def test_five_wrong_codes_lock_the_account_and_sign_the_session_out(settings):
    user = clinician()
    device = with_device(user)
    client = Client()
    password_login(client, user)
    wrong = wrong_code_for(device)
    statuses = [client.post("/accounts/otp/", {"code": wrong}).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert "_auth_user_id" not in client.session
    again = Client()
    response = password_login(again, user)
    assert response.status_code == 429  # the password no longer opens even the code step
    assert "_auth_user_id" not in again.session


def test_signing_in_again_with_the_password_does_not_reset_the_wrong_code_count():
    user = clinician()
    device = with_device(user)
    wrong = wrong_code_for(device)
    client = Client()
    password_login(client, user)
    for _ in range(3):
        client.post("/accounts/otp/", {"code": wrong})
    client.post("/accounts/logout/")
    password_login(client, user)
    client.post("/accounts/otp/", {"code": wrong})
    assert client.post("/accounts/otp/", {"code": wrong}).status_code == 429


def test_a_correct_code_forgets_earlier_failures():
    user = clinician()
    device = with_device(user)
    client = Client()
    password_login(client, user)
    client.post("/accounts/otp/", {"code": wrong_code_for(device)})
    client.post("/accounts/otp/", {"code": code_for(device)})
    assert failures(user) == 0
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_wrong_passwords_lock_out_on_each_login_page(path):
    user = clinician()
    client = Client()
    for _ in range(5):
        client.post(path, {"username": user.username, "password": "wrong"})
    response = password_login(client, user, path)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_password_reset_confirm_sets_a_password_but_signs_nobody_in():
    """So it is no way around the lockout or the second factor."""
    user = clinician()
    with_device(user)
    client = Client()
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    response = client.get(f"/accounts/reset/{uid}/{token}/", follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(
        form_url,
        {"new_password1": "a-new-long-password-42", "new_password2": "a-new-long-password-42"},
    )
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    client.post(
        "/accounts/login/", {"username": user.username, "password": "a-new-long-password-42"}
    )
    assert client.get("/admin/")["Location"].startswith("/accounts/otp/")


# First sign-in of staff without an authenticator: set one up.


def test_staff_without_an_authenticator_sets_one_up_at_first_sign_in():
    user = clinician()
    client = Client()
    password_login(client, user)
    response = client.get("/accounts/otp/?next=/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/two-factor/")
    html = response.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html
    secret = re.search(r'<code class="otp-secret">([A-Z2-7 ]+)</code>', html).group(1)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert b32decode(secret.replace(" ", "")) == device.bin_key
    assert client.get("/admin/").status_code == 302  # not yet

    response = client.post("/accounts/two-factor/", {"code": code_for(device), "next": "/admin/"})
    assert response["Location"] == "/admin/"
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/admin/").status_code == 200
    assert AuditEvent.objects.filter(actor=user, summary="Two-step sign-in set up").exists()


def test_staff_with_an_authenticator_cannot_set_up_another_without_their_code():
    user = clinician()
    with_device(user)
    client = Client()
    password_login(client, user)
    response = client.get("/accounts/two-factor/")
    assert urlsplit(response["Location"]).path == "/accounts/otp/"
    assert TOTPDevice.objects.filter(user=user).count() == 1


# Patients: optional.


def test_patient_without_two_step_sign_in_needs_only_the_password():
    patient = patient_with_portal()
    client = Client()
    password_login(client, patient.user)
    assert client.get("/settings/").status_code == 200


def test_patient_turns_on_two_step_sign_in_and_then_their_login_asks_for_the_code():
    patient = patient_with_portal()
    client = Client()
    password_login(client, patient.user)
    page = client.get("/accounts/two-factor/")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in page.content.decode()
    device = TOTPDevice.objects.get(user=patient.user, confirmed=False)
    done = client.post("/accounts/two-factor/", {"code": code_for(device)})
    assert done["Location"] == "/settings/"
    assert client.get("/").status_code == 200  # this session is verified now
    assert AuditEvent.objects.filter(
        patient_id=patient.pk, summary="Two-step sign-in set up", channel="portal"
    ).exists()

    later = Client()
    password_login(later, patient.user)
    response = later.get("/checkin/")
    assert urlsplit(response["Location"]).path == "/accounts/otp/"
    later.post("/accounts/otp/", {"code": code_for(device, steps_ahead=1)})
    assert later.get("/").status_code == 200


def test_patient_turns_two_step_sign_in_off_with_a_current_code():
    patient = patient_with_portal()
    device = with_device(patient.user)
    client = Client()
    password_login(client, patient.user)
    client.post("/accounts/otp/", {"code": code_for(device)})
    response = client.post("/accounts/two-factor/", {"code": code_for(device, steps_ahead=1)})
    assert response["Location"] == "/settings/"
    assert not TOTPDevice.objects.filter(user=patient.user).exists()
    fresh = Client()
    password_login(fresh, patient.user)
    assert fresh.get("/").status_code == 200


def test_setup_with_a_wrong_code_keeps_it_off():
    patient = patient_with_portal()
    client = Client()
    password_login(client, patient.user)
    client.get("/accounts/two-factor/")
    device = TOTPDevice.objects.get(user=patient.user)
    response = client.post("/accounts/two-factor/", {"code": wrong_code_for(device)})
    assert response.status_code == 200
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed


# The test helper the rest of the suite signs staff in with.


def test_otp_login_helper_gives_a_verified_session():
    user = clinician()
    client = Client()
    otp_login(client, user)
    assert client.get("/admin/").status_code == 200


def test_staff_area_gate_itself_asks_for_the_second_factor(rf):
    """Even without the middleware, the staff area's one gate sends staff to the code step."""
    from django.http import HttpResponse

    from reports.access import staff_area_required

    user = member(Role.STAFF)
    user.is_verified = lambda: False
    request = rf.get("/reports/")
    request.user = user
    request.session = {}
    response = staff_area_required(lambda request: HttpResponse("report"))(request)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/otp/?next=%2Freports%2F"


def test_portal_settings_page_links_to_two_step_sign_in():
    patient = patient_with_portal()
    client = Client()
    password_login(client, patient.user)
    assert 'href="/accounts/two-factor/"' in client.get("/settings/").content.decode()


def test_turning_two_step_sign_in_on_applies_to_the_patients_other_sessions_at_once():
    patient = patient_with_portal()
    phone, laptop = Client(), Client()
    password_login(phone, patient.user)
    password_login(laptop, patient.user)
    assert laptop.get("/").status_code == 200
    phone.get("/accounts/two-factor/")
    device = TOTPDevice.objects.get(user=patient.user)
    phone.post("/accounts/two-factor/", {"code": code_for(device)})
    assert phone.get("/").status_code == 200
    assert urlsplit(laptop.get("/")["Location"]).path == "/accounts/otp/"
