"""A clinician goes from a newly screened patient to an active plan in under a minute,
signing in with a password and a TOTP code, under the content security policy."""

import time

import pytest
from django.core import mail
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from programmes.models import Plan, PlanStatus
from tests.browser.conftest import login
from tests.factories import PatientFactory, screen

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_clinician_assigns_and_activates_inversion_plan_in_under_a_minute(
    live_server, desktop_page, artifacts_dir
):
    patient = PatientFactory(first_name="Nadia", last_name="Hale")
    screen(patient)
    patient.clinician.set_password("correct-horse-battery")
    patient.clinician.save()
    device = TOTPDevice.objects.create(user=patient.clinician, name="Phone", confirmed=True)
    page = desktop_page
    refused = []  # Chromium reports each thing the policy blocks on the console
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    started = time.monotonic()
    login(page, live_server, patient.clinician.username, "correct-horse-battery", "/admin/login/")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    page.get_by_label("6-digit code").fill(f"{totp.token():06d}")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_role("link", name="Nadia Hale").click()
    expect(page.get_by_text("Cleared for inversion and exercise.")).to_be_visible()
    page.get_by_role("link", name="Assign a programme…").click()
    page.get_by_label("Template").select_option(label="Progressive inversion (default)")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Plan created as a draft").wait_for()
    page.get_by_role("button", name="Activate").click()
    page.get_by_text("Activate: done.").wait_for()
    elapsed = time.monotonic() - started
    page.screenshot(path=str(artifacts_dir / "admin-plan-activated.png"), full_page=True)

    plan = Plan.objects.get(patient=patient)
    assert plan.status == PlanStatus.ACTIVE
    assert plan.current_step.angle_deg == 20
    assert elapsed < 60, f"took {elapsed:.1f}s"

    # A changelist action (select a row, choose the action, Go) works under the policy too.
    page.goto(f"{live_server.url}/admin/patients/patient/")
    page.get_by_role("checkbox", name="Select this object for an action - Nadia Hale").check()
    page.get_by_label("Action:").select_option(
        label="Send portal invitation (one-time link, 7 days)"
    )
    page.get_by_role("button", name="Go").click()
    page.get_by_text("Invitation sent to 1 patient(s).").wait_for()
    assert len(mail.outbox) == 1
    assert refused == []
