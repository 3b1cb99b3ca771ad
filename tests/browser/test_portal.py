"""The patient portal in Chromium, as a patient on a phone would use it (issue 5's acceptance).

Every test saves screenshots into test-artifacts/, named by test and step, so a person can
look at what a patient saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from playwright.sync_api import Page, expect

from patients import services as patient_services
from programmes import services
from programmes.domain.symptoms import STOP_ADVICE, URGENT_REFERRAL_ADVICE
from programmes.models import CheckIn, ClinicianAlert, Plan, ProgrammeTemplate
from tests.factories import PatientFactory, patient_with_portal, screen

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PASSWORD = "correct-horse-battery"
PHONE_WIDTH = 360
SUBRESOURCES = frozenset({"script", "stylesheet", "image", "font", "fetch", "xhr"})


# Helpers.


@dataclass
class BrowserConsole:
    """What the browser complained about; a test may tolerate messages it provokes."""

    problems: list[str] = field(default_factory=list)
    tolerated: list[str] = field(default_factory=lambda: ["Failed to load resource"])

    def error(self, text: str) -> None:
        if not text.startswith(tuple(self.tolerated)):
            self.problems.append(text)


@pytest.fixture
def console() -> BrowserConsole:
    return BrowserConsole()


@pytest.fixture
def phone(chromium, console):
    """A 360 px wide touch phone, in British English and the UK's time zone."""
    context = chromium.new_context(
        viewport={"width": PHONE_WIDTH, "height": 740},
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        timezone_id="Europe/London",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    # Script errors, content the CSP refused (it allows no inline script) and missing
    # static files fail the test; pages' own status codes are the tests' business.
    page.on("pageerror", lambda error: console.problems.append(f"script error: {error}"))
    page.on(
        "console", lambda message: console.error(message.text) if message.type == "error" else None
    )
    page.on(
        "response",
        lambda response: (
            console.problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and response.request.resource_type in SUBRESOURCES
            else None
        ),
    )
    yield page
    context.close()
    assert console.problems == [], f"the browser reported problems: {console.problems}"


@pytest.fixture
def shot(request, artifacts_dir):
    """Save a full-page screenshot named portal-<test>-<NN>-<step>.png."""
    test = re.sub(r"[^a-z0-9]+", "-", request.node.name.removeprefix("test_").lower()).strip("-")
    count = 0

    def take(page: Page, step: str) -> None:
        nonlocal count
        count += 1
        path = artifacts_dir / f"portal-{test}-{count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True, scale="css")

    return take


def active_inversion_plan(patient) -> Plan:
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    plan = services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    return services.plan_activate(plan=plan, by=patient.clinician)


def cleared_patient_on_plan(**kwargs):
    """A screened, cleared patient with a portal account and an active inversion plan."""
    patient = patient_with_portal(**kwargs)
    screen(patient)
    active_inversion_plan(patient)
    return patient


def open_signed_in(page: Page, live_server, patient, path: str = "/") -> None:
    """Open a portal page already signed in (the sign-in form has tests of its own here)."""
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}{path}")


def assert_fits_phone(page: Page) -> None:
    """No sideways scrolling, every visible control inside the 360 px screen and big enough."""
    expect(page.locator("main")).to_be_visible()
    page.wait_for_load_state("load")  # measured with the stylesheet applied
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= PHONE_WIDTH, f"{page.url} scrolls sideways: {scroll_width}px wide"
    outside = page.evaluate(
        """(width) => Array.from(document.querySelectorAll(
                'a, button, input:not([type=hidden]), select, textarea, summary'))
            .filter((el) => el.offsetParent !== null && !el.closest('.skip-link'))
            .map((el) => [el, el.getBoundingClientRect()])
            .filter(([el, box]) => box.width > 0 && (box.left < 0 || box.right > width + 0.5))
            .map(([el, box]) => `${el.tagName} ${el.name || el.textContent.trim().slice(0, 30)}`
                + ` ${Math.round(box.left)}..${Math.round(box.right)}`)""",
        PHONE_WIDTH,
    )
    assert outside == [], f"{page.url}: controls outside the screen: {outside}"
    too_small = page.evaluate(
        """() => Array.from(document.querySelectorAll('button, .button, nav a'))
            .filter((el) => el.offsetParent !== null && el.getBoundingClientRect().height < 44)
            .map((el) => el.textContent.trim())"""
    )
    assert too_small == [], f"{page.url}: buttons under 44 px high, hard to tap: {too_small}"


def send_checkin(page: Page) -> None:
    """Press Send; the form goes by htmx (its script runs under the CSP), not a page load."""
    with page.expect_response(
        lambda response: (
            "/checkin/" in response.url
            and response.request.method == "POST"
            and response.request.headers.get("hx-request") == "true"
        )
    ):
        page.get_by_role("button", name="Send check-in").click()


def fill_checkin(page: Page, *, pain_before: str = "5", pain_after: str = "3") -> None:
    page.get_by_role("group", name="Did you do today's session?").get_by_label(
        "Yes, all of it"
    ).check()
    page.get_by_role("group", name="Pain before the session").get_by_label(
        pain_before, exact=True
    ).check()
    page.get_by_role("group", name="Pain after the session").get_by_label(
        pain_after, exact=True
    ).check()


# 1a. Invitation to first sign-in.


def test_invited_patient_sets_a_password_starts_the_intake_and_signs_in_again(
    live_server, phone, shot
):
    patient = PatientFactory(first_name="Nadia", last_name="Hale", email="Nadia@example.invalid")
    patient_services.invitation_send(
        patient=patient, by=patient.clinician, base_url=live_server.url
    )
    link = re.search(r"https?://\S+/invite/\S+/", mail.outbox[-1].body).group(0)
    page = phone

    page.goto(link)
    expect(page.get_by_role("heading", name="Welcome, Nadia")).to_be_visible()
    expect(page.get_by_text("nadia@example.invalid")).to_be_visible()
    assert_fits_phone(page)
    shot(page, "invitation")

    page.get_by_label("Choose a password").fill("sciatica-walks-2026")
    page.get_by_label("Type it again").fill("sciatica-walks-2062")
    page.get_by_role("button", name="Create my account").click()
    again = page.get_by_label("Type it again")
    expect(again).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{again.get_attribute('aria-describedby')}")).to_have_text(
        "The two passwords are different."
    )
    assert_fits_phone(page)
    shot(page, "passwords-differ")

    page.get_by_label("Choose a password").fill("sciatica-walks-2026")
    page.get_by_label("Type it again").fill("sciatica-walks-2026")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Today"))).to_be_visible()
    expect(page.get_by_text("Hello, Nadia.")).to_be_visible()
    expect(page.get_by_role("heading", name="No session today")).to_be_visible()
    assert_fits_phone(page)
    shot(page, "first-today")
    patient.refresh_from_db()
    assert patient.user.username == "nadia@example.invalid"

    # Her first task, as Today says: the intake questionnaire, one step a page.
    nav_rows = {
        round(link.bounding_box()["y"])
        for link in page.get_by_role("navigation", name="Main").get_by_role("link").all()
    }
    assert len(nav_rows) == 2, "all seven links fit in two rows"
    page.get_by_role("link", name="Start the questionnaire").click()
    expect(page.get_by_role("heading", name="About you and your back")).to_be_visible()
    expect(page.get_by_text("Step 1 of 4")).to_be_visible()
    assert_fits_phone(page)
    shot(page, "intake-step-1")
    page.get_by_role("button", name="Next").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please check these answers")
    expect(summary).to_be_focused()
    assert_fits_phone(page)
    shot(page, "intake-step-1-errors")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    shot(page, "signed-out")
    page.get_by_label("Username").fill("nadia@example.invalid")
    page.get_by_label("Password").fill("sciatica-walks-2026")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Hello, Nadia.")).to_be_visible()
    shot(page, "signed-in-again")

    page.goto(link)  # the link works once
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()


# 1b. Today, check in, history.


def test_patient_checks_in_from_today_and_sees_it_in_history(live_server, phone, shot, console):
    patient = cleared_patient_on_plan(first_name="Omar")
    page = phone
    open_signed_in(page, live_server, patient)
    expect(page.get_by_text("Hello, Omar.")).to_be_visible()
    expect(page.get_by_text("20°, hold 1 minute")).to_be_visible()
    assert_fits_phone(page)
    shot(page, "today")

    # A keyboard user: the timer starts with Enter, focus moves to Pause, Space pauses it.
    page.get_by_role("button", name="Start").focus()
    page.keyboard.press("Enter")
    status = page.locator("[data-timer-status]")
    expect(status).to_contain_text("Started.")
    expect(page.get_by_role("button", name="Pause")).to_be_focused()
    page.keyboard.press("Space")
    expect(status).to_contain_text("Paused with")
    expect(page.get_by_role("button", name="Continue")).to_be_focused()
    tops = {
        round(page.get_by_role("button", name=name).bounding_box()["y"])
        for name in ("Continue", "Pause", "Reset")
    }
    assert len(tops) == 1, "the timer's buttons sit on one row"

    page.get_by_role("link", name="Check in", exact=True).last.click()
    expect(page.get_by_role("heading", name="Check in", level=1)).to_be_visible()
    fill_checkin(page)
    page.get_by_label("Anything else").fill("Felt looser afterwards.")
    assert_fits_phone(page)
    shot(page, "checkin-filled")

    # No signal for a moment: the page says the check-in was not sent and keeps the answers.
    page.route("**/checkin/", lambda route: route.abort("internetdisconnected"))
    console.tolerated.append("htmx:")  # htmx logs the failed send
    page.get_by_role("button", name="Send check-in").click()
    expect(page.get_by_role("alert")).to_contain_text("could not be sent")
    expect(page.get_by_label("Anything else")).to_have_value("Felt looser afterwards.")
    shot(page, "checkin-offline")
    page.unroute("**/checkin/")
    console.tolerated.remove("htmx:")
    assert CheckIn.objects.count() == 0
    send_checkin(page)

    expect(page.get_by_role("heading", name="History", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Check-in saved for")
    expect(page.get_by_text("1 done, 0 partly done")).to_be_visible()
    assert_fits_phone(page)
    shot(page, "history")
    checkin = CheckIn.objects.get(patient=patient)
    assert (checkin.pain_before, checkin.pain_after) == (5, 3)
    assert checkin.note == "Felt looser afterwards."

    page.locator(".checkin-item").get_by_role("link").first.click()
    expect(page.get_by_text("Felt looser afterwards.")).to_be_visible()
    assert_fits_phone(page)
    shot(page, "checkin-detail")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Progress").click()
    expect(page.locator("svg.chart").first).to_be_visible()
    page.get_by_text("Show the numbers").first.click()
    expect(page.get_by_role("cell", name="5", exact=True).first).to_be_visible()
    assert_fits_phone(page)
    shot(page, "progress")


# 1c. Stop symptoms.


def test_stop_symptom_pauses_inversion_and_a_red_flag_sends_for_urgent_care(
    live_server, phone, shot
):
    patient = cleared_patient_on_plan()
    page = phone
    open_signed_in(page, live_server, patient, "/checkin/")
    fill_checkin(page, pain_after="6")
    page.get_by_label("Chest pain or pressure").check()
    send_checkin(page)

    alert = page.get_by_role("alert")
    expect(alert.get_by_role("heading", name="Stop inverting now")).to_be_focused()
    expect(alert).to_contain_text(STOP_ADVICE)
    expect(page.get_by_text("Get urgent medical care today")).to_have_count(0)
    expect(page.get_by_text("inversion is paused in your programme")).to_be_visible()
    expect(alert.get_by_role("link", name="Call 999")).to_have_attribute("href", "tel:999")
    assert_fits_phone(page)
    shot(page, "stop-advice")

    plan = Plan.objects.get(patient=patient)
    assert plan.inversion_paused
    assert CheckIn.objects.get(patient=patient).symptoms == ["chest_pain"]
    assert ClinicianAlert.objects.filter(
        patient=patient, kind=ClinicianAlert.Kind.STOP_SYMPTOM
    ).exists()

    page.get_by_role("link", name="Back to today").click()
    expect(page.get_by_role("heading", name="Inversion is paused")).to_be_visible()
    expect(page.get_by_role("button", name="Start")).to_have_count(0)
    assert_fits_phone(page)
    shot(page, "today-paused")

    # Later that day: numbness in the saddle area, a red flag.
    page.get_by_role("link", name="Check in again").click()
    expect(page.get_by_label("Angle you held (degrees)")).to_have_count(0)  # paused
    fill_checkin(page)
    page.get_by_label("Numbness between your legs").check()
    send_checkin(page)
    alert = page.get_by_role("alert")
    expect(alert.get_by_role("heading", name="Stop inverting now")).to_be_focused()
    expect(alert.get_by_role("heading", name="Get urgent medical care today")).to_be_visible()
    expect(alert).to_contain_text(URGENT_REFERRAL_ADVICE)
    expect(alert).to_contain_text(STOP_ADVICE)
    assert_fits_phone(page)
    shot(page, "urgent-referral")
    assert ClinicianAlert.objects.filter(
        patient=patient, kind=ClinicianAlert.Kind.RED_FLAG
    ).exists()
    assert CheckIn.objects.filter(patient=patient).count() == 2


# 1d. Phone-sized screens: no sideways scrolling, controls in reach, keyboard works.


def test_every_portal_page_fits_a_360px_phone_and_works_by_keyboard(live_server, phone, shot):
    patient = cleared_patient_on_plan()
    page = phone

    page.goto(f"{live_server.url}/accounts/login/")
    assert_fits_phone(page)
    shot(page, "login")
    # Tab from the top: the skip link comes first and is shown when focused.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert skip.evaluate("(el) => getComputedStyle(el).outlineStyle") == "solid"  # focus shows
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.get_by_label("Username").fill(patient.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")  # submit from the password field, as people do
    expect(page.get_by_role("heading", name=re.compile(r"^Today"))).to_be_visible()

    for link, heading in [
        ("Today", re.compile(r"^Today")),
        ("Check in", "Check in"),
        ("History", "History"),
        ("Progress", "Your progress"),
        ("Health", "Has anything changed in your health?"),
        ("Reminders", "Reminders"),
    ]:
        nav = page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        expect(nav.get_by_role("link", name=link, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport()
        assert_fits_phone(page)
        shot(page, link.lower().replace(" ", "-"))

    # Health update: an event's date is asked once its box is ticked (Space, by keyboard).
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Health").click()
    date = page.get_by_label("Date of the eye surgery")
    expect(date).to_be_hidden()
    page.get_by_label("I have had eye surgery").focus()
    page.keyboard.press("Space")
    expect(date).to_be_visible()
    page.keyboard.press("Tab")
    expect(date).to_be_focused()
    shot(page, "health-event-date")

    page.goto(f"{live_server.url}/questionnaire/")
    expect(page.get_by_role("heading", name="How are you getting on?")).to_be_visible()
    assert_fits_phone(page)
    shot(page, "questionnaire")

    # A wrong angle typed on the phone: the message sits next to the field.
    page.goto(f"{live_server.url}/checkin/")
    fill_checkin(page)
    page.get_by_label("Angle you held (degrees)").fill("120")
    send_checkin(page)
    expect(page.get_by_role("alert")).to_contain_text("Please check this answer")
    expect(page.locator("#id_inversion_angle_deg_error")).to_contain_text(
        "The angle is between 0° (flat) and 90°"
    )
    expect(page.get_by_label("Angle you held (degrees)")).to_have_attribute("aria-invalid", "true")
    assert_fits_phone(page)
    shot(page, "checkin-error")
    # The error summary links to the field, by keyboard.
    page.get_by_role("alert").get_by_role("link").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Angle you held (degrees)")).to_be_focused()
    assert CheckIn.objects.count() == 0
