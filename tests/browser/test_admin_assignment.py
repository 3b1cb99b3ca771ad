"""A clinician goes from a newly screened patient to an active plan in under a minute."""

import time

import pytest
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
    page = desktop_page

    started = time.monotonic()
    login(page, live_server, patient.clinician.username, "correct-horse-battery", "/admin/login/")
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
