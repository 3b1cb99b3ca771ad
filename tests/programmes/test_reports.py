"""Staff reports: figures equal a hand-worked clinic, clinics never see each other, query
counts stay fixed as the clinic grows, bad filters are messages, exports stream."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEvent, Role
from patients.models import Patient
from programmes.domain.adherence import band_for
from programmes.models import (
    CheckIn,
    ClinicianAlert,
    Plan,
    PlanEvent,
    ProgrammeTemplate,
    QuestionnaireResponse,
    ReportExport,
)
from reports import exports
from reports import queries as reports
from tests.factories import ClinicFactory, check_in, clinician, member, screen

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
# A fixed fortnight, Monday 5 to Sunday 18 January 2026: two whole ISO weeks.
START, END = date(2026, 1, 5), date(2026, 1, 18)
PERIOD = {"start": "2026-01-05", "end": "2026-01-18"}


def k(n: int) -> date:
    """Day n of the fortnight (0 = Monday 5 January)."""
    return START + timedelta(days=n)


def make_patient(clinic, owner, first: str, last: str = "Test") -> Patient:
    return Patient.objects.create(
        clinic=clinic,
        clinician=owner,
        first_name=first,
        last_name=last,
        date_of_birth=date(1970, 1, 1),
        time_zone="Europe/London",
    )


def make_plan(patient, *, start: date, status: str = "active", template=None, owner=None) -> Plan:
    return Plan.objects.create(
        patient=patient,
        clinic=patient.clinic,
        clinician=owner or patient.clinician,
        template=template,
        name="Inversion and exercise",
        status=status,
        start_date=start,
    )


@pytest.fixture
def worked_clinic():
    """A small clinic whose adherence is worked out by hand below.

    Period: Mon 5 – Sun 18 Jan 2026 (14 days; week 1 = days 0–6, week 2 = days 7–13).

    Ann  (Dr One, template T): plan from 1 Dec, active. Done every day but days 3 and 10.
         prescribed 14, completed 12 -> 85.7% adherent. Week 1: 6/7, week 2: 6/7.
         Also checked in 29 Dec – 4 Jan (7 days, before the period): data days in the
         30 days to 18 Jan = 7 + 12 = 19 (>= 16).
    Ben  (Dr One): plan from day 4 (Fri 9 Jan). Prescribed days 4–13 = 10.
         Done days 4, 5, 7, 8, 9; partial days 11, 12 (one half each).
         completed 5 + 1 = 6 -> 60% partial. Week 1: 2/3, week 2: 4/7.
    Cat  (Dr Two): plan from day 0, paused by the clinician at noon on day 7 (never resumed).
         Prescribed days 0–6 = 7. Done days 0, 2, 4 -> 3/7 = 42.9% low. Week 1: 3/7.
    Dan  (Dr Two): plan from day 4. Prescribed 10. Done days 4–11 = 8, and a second
         "done" on day 5, which can't count twice -> 8/10 = 80%: adherent (the boundary).
         Week 1: 3/3, week 2: 5/7.
    Eve  (Dr Two): a draft plan only, with a check-in: prescribes nothing, not counted.

    Clinic: prescribed 14 + 10 + 7 + 10 = 41, completed 12 + 6 + 3 + 8 = 29 -> 70.7%.
    Weeks: week 1 prescribed 7 + 3 + 7 + 3 = 20, completed 6 + 2 + 3 + 3 = 14 (70%);
           week 2 prescribed 7 + 7 + 0 + 7 = 21, completed 6 + 4 + 0 + 5 = 15 (71.4%).
    Bands: adherent 2 (Ann, Dan), partial 1 (Ben), low 1 (Cat); 10% buckets:
           Cat 42.9% -> 40–49, Ben 60% -> 60–69, Ann 85.7% and Dan 80% -> 80–89.
    Dr One: Ann + Ben = 18 / 24 = 75%.  Dr Two: Cat + Dan = 11 / 17 = 64.7%.
    Template T: Ann only = 12/14; no template: Ben, Cat, Dan = 17/27 = 63.0%.
    """
    clinic = ClinicFactory(name="Riverside")
    one = clinician(clinic, first_name="Olive", last_name="One")
    two = clinician(clinic, first_name="Tariq", last_name="Two")
    template = ProgrammeTemplate.objects.filter(clinic__isnull=True).order_by("pk").first()

    ann = make_patient(clinic, one, "Ann", "Archer")
    plan = make_plan(ann, start=date(2025, 12, 1), template=template)
    for n in range(14):
        if n not in (3, 10):
            check_in(plan, k(n), pain_before=6 if n < 7 else 4, pain_after=5)
    for n in range(1, 8):
        check_in(plan, START - timedelta(days=n))

    ben = make_patient(clinic, one, "Ben", "Baker")
    plan = make_plan(ben, start=k(4))
    for n in (4, 5, 7, 8, 9):
        check_in(plan, k(n))
    for n in (11, 12):
        check_in(plan, k(n), "partial")

    cat = make_patient(clinic, two, "Cat", "Cole")
    plan = make_plan(cat, start=k(0), status="paused")
    event = PlanEvent.objects.create(plan=plan, kind="paused", by=two, reason="Holiday")
    PlanEvent.objects.filter(pk=event.pk).update(
        at=datetime.combine(k(7), time(12, 0), tzinfo=LONDON)
    )
    for n in (0, 2, 4):
        check_in(plan, k(n))

    dan = make_patient(clinic, two, "Dan", "Dale")
    plan = make_plan(dan, start=k(4))
    for n in range(4, 12):
        check_in(plan, k(n))
    check_in(plan, k(5))

    eve = make_patient(clinic, two, "Eve", "Ellis")
    check_in(make_plan(eve, start=k(0), status="draft"), k(1))

    return {
        "clinic": clinic,
        "one": one,
        "two": two,
        "template": template,
        "patients": {p.first_name: p for p in (ann, ben, cat, dan, eve)},
    }


@pytest.fixture
def other_clinic():
    """Another clinic with an adherent patient, a stop symptom and an open alert."""
    clinic = ClinicFactory(name="Elsewhere")
    owner = clinician(clinic, first_name="Zara", last_name="Zeal")
    zed = make_patient(clinic, owner, "Zed", "Zimmer")
    plan = make_plan(zed, start=START - timedelta(days=40))
    for n in range(14):
        check_in(plan, k(n), symptoms=["chest_pain"] if n == 13 else [])
    today = timezone.localdate()
    check_in(plan, today - timedelta(days=1), symptoms=["chest_pain"])
    ClinicianAlert.objects.create(
        clinic=clinic, patient=zed, plan=plan, kind="stop_symptom", message="x", dedupe_key="z1"
    )
    return {"clinic": clinic, "patient": zed, "clinician": owner}


def filters_for(clinic, **kwargs) -> reports.Filters:
    return reports.Filters(clinic_id=clinic.pk, start=START, end=END, **kwargs)


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# 1. The figures equal the hand-worked clinic.


def test_overview_figures_equal_the_hand_computed_clinic(worked_clinic, other_clinic):
    data = reports.overview(filters_for(worked_clinic["clinic"]))

    assert data.patients == 4
    assert (data.prescribed, data.completed) == (41, 29.0)
    assert round(data.adherence, 3) == round(29 / 41, 3)
    assert data.bands == {"adherent": 2, "partial": 1, "low": 1}
    assert data.distribution == [0, 0, 0, 0, 1, 0, 1, 0, 2, 0]
    assert data.data_days_met == 1
    assert data.active_plans == 3  # Ann, Ben, Dan; Cat's is paused, Eve's a draft
    assert [(w.week_start, w.adherence.prescribed, w.adherence.completed) for w in data.weeks] == [
        (date(2026, 1, 5), 20, 14.0),
        (date(2026, 1, 12), 21, 15.0),
    ]
    assert data.open_alerts == {}


def test_patient_rows_show_each_patients_hand_computed_adherence_and_band(worked_clinic):
    rows = reports.patient_rows(filters_for(worked_clinic["clinic"]))

    assert [(r.name, r.prescribed, r.completed, r.band) for r in rows] == [
        ("Archer, Ann", 14, 12.0, "adherent"),
        ("Baker, Ben", 10, 6.0, "partial"),
        ("Cole, Cat", 7, 3.0, "low"),
        ("Dale, Dan", 10, 8.0, "adherent"),
    ]
    assert [r.data_days for r in rows] == [19, 7, 3, 8]
    # The SQL bands agree with the one definition in the domain, boundary included.
    assert all(r.band == band_for(r.adherence) for r in rows)


def test_band_filter_lists_only_that_band(worked_clinic):
    rows = reports.patient_rows(filters_for(worked_clinic["clinic"], band="adherent"))
    assert [r.name for r in rows] == ["Archer, Ann", "Dale, Dan"]


def test_per_clinician_and_per_template_adherence_equal_the_hand_computed_sums(worked_clinic):
    clinic = worked_clinic["clinic"]
    by_clinician = {
        r.label: (r.patients, r.prescribed, r.completed)
        for r in reports.grouped(filters_for(clinic), "clinician")
    }
    by_template = {
        r.label: (r.patients, r.prescribed, r.completed)
        for r in reports.grouped(filters_for(clinic), "template")
    }

    assert by_clinician == {"Olive One": (2, 24, 18.0), "Tariq Two": (2, 17, 11.0)}
    assert by_template == {
        worked_clinic["template"].name: (1, 14, 12.0),
        "No template": (3, 27, 17.0),
    }


def test_grouped_pain_change_compares_first_and_last_week_of_checkins(worked_clinic):
    """Ann's pain before sessions: 6 in week 1, 4 in week 2 -> change -2 (n = 1)."""
    rows = reports.grouped(filters_for(worked_clinic["clinic"]), "clinician")
    one = next(r for r in rows if r.label == "Olive One")
    assert (one.pain_first_week, one.pain_last_week, one.pain_change, one.pain_patients) == (
        6.0,
        4.0,
        -2.0,
        1,
    )


def test_odi_change_is_latest_follow_up_against_first_intake(worked_clinic):
    ann = worked_clinic["patients"]["Ann"]
    screen(ann, taken_on=date(2025, 11, 30))  # ODI 12 of 45 answered = 26.7%
    QuestionnaireResponse.objects.create(
        patient=ann,
        plan=ann.plans.get(),
        clinic=ann.clinic,
        taken_on=k(10),
        pain=3,
        odi_sections=[1] * 10,
        odi_percent="20.0",
    )
    rows = reports.grouped(filters_for(worked_clinic["clinic"]), "clinician")
    one = next(r for r in rows if r.label == "Olive One")
    assert (one.odi_baseline, one.odi_latest, one.odi_change, one.odi_patients) == (
        26.7,
        20.0,
        -6.7,
        1,
    )


def test_clinician_filter_narrows_the_overview_to_their_plans(worked_clinic):
    data = reports.overview(
        filters_for(worked_clinic["clinic"], clinician_id=worked_clinic["two"].pk)
    )
    assert (data.patients, data.prescribed, data.completed) == (2, 17, 11.0)


def test_overview_page_shows_the_worked_figures(worked_clinic, staff_client):
    client = staff_client(worked_clinic["clinic"])
    response = client.get(reverse("reports:overview"), PERIOD)
    assert response.status_code == 200
    page = response.content.decode()
    assert "71%" in page  # 29 of 41
    assert "29 of 41 sessions" in page
    assert "<svg" in page


def test_per_patient_page_shows_adherence_by_week_and_timeline(worked_clinic, staff_client):
    client = staff_client(worked_clinic["clinic"])
    ben = worked_clinic["patients"]["Ben"]
    response = client.get(reverse("reports:patient", args=[ben.pk]), PERIOD)
    assert response.status_code == 200
    report = response.context["report"]
    assert [(w.adherence.prescribed, w.adherence.completed) for w in report.weeks] == [
        (3, 2.0),
        (7, 4.0),
    ]
    assert round(report.adherence.ratio, 2) == 0.6
    assert len(report.checkins) == 7
    assert "60%" in response.content.decode()


def test_reading_one_patients_report_is_audited(worked_clinic, staff_client):
    client = staff_client(worked_clinic["clinic"])
    ann = worked_clinic["patients"]["Ann"]
    client.get(reverse("reports:patient", args=[ann.pk]), PERIOD)
    event = AuditEvent.objects.get(patient_id=ann.pk, action="read")
    assert (event.actor, event.channel) == (client.user, "admin")


@pytest.mark.parametrize(
    ("name", "query"), [("reports:patients", PERIOD), ("reports:at_risk", {"sort": "name"})]
)
def test_list_pages_audit_one_read_naming_each_patient_shown(
    worked_clinic, staff_client, name, query
):
    client = staff_client(worked_clinic["clinic"])
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = client.get(reverse(name), query)
    assert response.status_code == 200
    shown = {r.patient_id for r in response.context["rows"]}
    assert shown
    (event,) = AuditEvent.objects.filter(id__gt=before)
    assert sorted(event.patient_ids) == sorted(shown)
    assert (event.action, event.channel, event.actor_id, event.clinic_id, event.object_type) == (
        "read",
        "admin",
        client.user.pk,
        worked_clinic["clinic"].pk,
        "patients.patient",
    )


# 2. At risk, as of now.


@pytest.fixture
def at_risk_clinic():
    """Four running plans as of now, three of them at risk for one reason each."""
    clinic = ClinicFactory(name="Hillside")
    owner = clinician(clinic, first_name="Hana", last_name="Hill")
    today = timezone.localdate()
    now = timezone.now()
    people = {}

    def person(first, last, screened_days_ago=10):
        patient = make_patient(clinic, owner, first, last)
        screen(patient, taken_on=today - timedelta(days=screened_days_ago))
        plan = make_plan(patient, start=today - timedelta(days=20))
        people[first] = patient
        return patient, plan

    _, fine = person("Fay", "Fine")  # adherent, checked in today, screening valid 80 days
    for n in range(7):
        check_in(fine, today - timedelta(days=n))
    _, quiet = person("Quinn", "Quiet")  # silent: last check-in 3 days ago
    for n in range(3, 8):
        CheckIn.objects.filter(pk=check_in(quiet, today - timedelta(days=n)).pk).update(
            submitted_at=now - timedelta(days=n)
        )
    _, stop = person("Sol", "Stop")  # a stop symptom yesterday; otherwise adherent
    for n in range(7):
        check_in(stop, today - timedelta(days=n), symptoms=["chest_pain"] if n == 1 else [])
    # Screened 84 days ago: valid 5 more days (screenings are never edited to say so).
    expiring, soon = person("Exa", "Expiry", screened_days_ago=84)
    assert expiring.current_screening.valid_until == today + timedelta(days=5)
    for n in range(7):
        check_in(soon, today - timedelta(days=n))
    return {"clinic": clinic, "people": people, "owner": owner}


def test_at_risk_lists_silent_stop_symptom_and_expiring_screening_not_the_adherent(
    at_risk_clinic, other_clinic
):
    rows = reports.at_risk(
        reports.Filters(at_risk_clinic["clinic"].pk, START, END), now=timezone.now(), sort="name"
    )
    assert [(r.name, r.reasons) for r in rows] == [
        ("Expiry, Exa", ["Screening expired or expiring"]),
        ("Quiet, Quinn", ["No check-in for 49 h"]),
        ("Stop, Sol", ["Stop symptom in the last 7 days"]),
    ]


def test_low_seven_day_adherence_is_at_risk(at_risk_clinic):
    today = timezone.localdate()
    patient = make_patient(at_risk_clinic["clinic"], at_risk_clinic["owner"], "Lou", "Low")
    screen(patient, taken_on=today - timedelta(days=10))
    plan = make_plan(patient, start=today - timedelta(days=20))
    check_in(plan, today)  # 1 of 7 sessions
    rows = reports.at_risk(
        reports.Filters(at_risk_clinic["clinic"].pk, START, END),
        now=timezone.now(),
        reason="low_adherence",
    )
    assert [(r.name, r.prescribed_7, r.completed_7) for r in rows] == [("Low, Lou", 7, 1.0)]


NEW_YORK = ZoneInfo("America/New_York")
# 02:00 UTC on Thursday 15 January 2026: already the 15th at the (London) clinic, still
# the evening of Wednesday the 14th for a patient in New York.
EARLY_UTC = datetime(2026, 1, 15, 2, 0, tzinfo=ZoneInfo("UTC"))


def test_at_risk_counts_seven_days_and_stop_symptoms_in_the_patients_own_zone(at_risk_clinic):
    ny_today = EARLY_UTC.astimezone(NEW_YORK).date()
    assert (ny_today, timezone.localtime(EARLY_UTC, LONDON).date()) == (
        date(2026, 1, 14),
        date(2026, 1, 15),
    )
    patient = make_patient(at_risk_clinic["clinic"], at_risk_clinic["owner"], "Nia", "York")
    Patient.objects.filter(pk=patient.pk).update(time_zone="America/New_York")
    plan = make_plan(patient, start=ny_today - timedelta(days=20))
    # Every one of their own last seven days done (8 to 14 January); nothing on the 15th,
    # which has not begun for them. A stop symptom on the 8th: within their seven days.
    for n in range(7):
        day = ny_today - timedelta(days=n)
        check_in(plan, day, symptoms=["chest_pain"] if n == 6 else [])
    CheckIn.objects.filter(plan=plan).update(submitted_at=EARLY_UTC - timedelta(hours=3))
    rows = reports.at_risk(
        reports.Filters(at_risk_clinic["clinic"].pk, START, END), now=EARLY_UTC, sort="name"
    )
    row = next(r for r in rows if r.patient_id == patient.pk)
    assert (row.prescribed_7, row.completed_7, row.low_adherence) == (7, 7.0, False)
    assert row.stop_symptom is True


def test_a_plan_never_checked_in_is_silent_from_midnight_where_the_patient_lives(
    at_risk_clinic,
):
    patient = make_patient(at_risk_clinic["clinic"], at_risk_clinic["owner"], "Ned", "Newyork")
    Patient.objects.filter(pk=patient.pk).update(time_zone="America/New_York")
    # Started Tuesday 13 January in New York: 05:00 UTC, 45 h before EARLY_UTC (not yet
    # 49 h silent); midnight UTC of the 13th would already be 50 h.
    make_plan(patient, start=date(2026, 1, 13))
    filters = reports.Filters(at_risk_clinic["clinic"].pk, START, END)
    row = next(r for r in reports.at_risk(filters, now=EARLY_UTC) if r.patient_id == patient.pk)
    assert row.silent is False
    later = EARLY_UTC + timedelta(hours=4)  # 49 h after 05:00 UTC on the 13th
    row = next(r for r in reports.at_risk(filters, now=later) if r.patient_id == patient.pk)
    assert row.silent is True


@pytest.mark.parametrize(
    "sort", ["name", "-name", "adherence", "-adherence", "last_checkin", "screening", "-screening"]
)
def test_at_risk_keyset_pages_walk_every_row_once_in_order(at_risk_clinic, sort):
    filters = reports.Filters(at_risk_clinic["clinic"].pk, START, END)
    now = timezone.now()
    everything = [r.patient_id for r in reports.at_risk(filters, now=now, sort=sort)]
    walked, after = [], None
    while True:
        page = reports.at_risk(filters, now=now, sort=sort, after=after, limit=1)
        if not page:
            break
        walked.append(page[0].patient_id)
        after = page[0].cursor
    assert walked == everything
    assert len(everything) == 3


def test_patient_rows_keyset_pages_walk_every_patient_once(worked_clinic):
    filters = filters_for(worked_clinic["clinic"])
    walked, after = [], None
    while page := reports.patient_rows(filters, after=after, limit=3):
        walked += [r.name for r in page]
        after = page[-1].cursor
    assert walked == ["Archer, Ann", "Baker, Ben", "Cole, Cat", "Dale, Dan"]


def test_at_risk_page_sorts_by_column_and_links_each_patient(at_risk_clinic, staff_client):
    client = staff_client(at_risk_clinic["clinic"])
    response = client.get(reverse("reports:at_risk"), {"sort": "-name"})
    assert response.status_code == 200
    names = [r.name for r in response.context["rows"]]
    assert names == ["Stop, Sol", "Quiet, Quinn", "Expiry, Exa"]
    sol = at_risk_clinic["people"]["Sol"]
    assert reverse("reports:patient", args=[sol.pk]) in response.content.decode()


# 3. One clinic never sees another.


def test_another_clinics_patient_answers_404_in_page_and_export(
    worked_clinic, other_clinic, staff_client
):
    client = staff_client(worked_clinic["clinic"])
    zed = other_clinic["patient"]
    assert client.get(reverse("reports:patient", args=[zed.pk])).status_code == 404
    assert client.get(reverse("reports:patient_csv", args=[zed.pk])).status_code == 404


@pytest.mark.parametrize("kind", ["patients", "at_risk", "clinicians", "templates"])
def test_exports_hold_nothing_of_another_clinic(worked_clinic, other_clinic, staff_client, kind):
    client = staff_client(worked_clinic["clinic"])
    response = client.get(reverse("reports:export_csv", args=[kind]), PERIOD)
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert "Zimmer" not in body and "Zeal" not in body


@pytest.mark.parametrize(
    "name",
    [
        "reports:overview",
        "reports:patients",
        "reports:at_risk",
        "reports:clinicians",
        "reports:templates",
    ],
)
def test_report_pages_show_nothing_of_another_clinic(
    worked_clinic, other_clinic, staff_client, name
):
    client = staff_client(worked_clinic["clinic"])
    response = client.get(reverse(name), PERIOD)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Zimmer" not in page and "Zeal" not in page and "Elsewhere" not in page


def test_other_clinics_alerts_and_patients_are_not_counted(worked_clinic, other_clinic):
    data = reports.overview(filters_for(worked_clinic["clinic"]))
    assert data.patients == 4 and data.open_alerts == {}


def test_a_clinician_of_another_clinic_is_a_bad_filter_not_a_leak(
    worked_clinic, other_clinic, staff_client
):
    client = staff_client(worked_clinic["clinic"])
    response = client.get(reverse("reports:overview"), {"clinician": other_clinic["clinician"].pk})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_someone_elses_background_export_answers_404(worked_clinic, staff_client):
    colleague = member(Role.STAFF, worked_clinic["clinic"])
    export = ReportExport.objects.create(
        clinic=worked_clinic["clinic"], requested_by=colleague, kind="patients", status="done"
    )
    client = staff_client(worked_clinic["clinic"])
    assert client.get(reverse("reports:export_status", args=[export.pk])).status_code == 404
    assert client.get(reverse("reports:export_download", args=[export.pk])).status_code == 404


# 4. Who may enter.


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(reverse("reports:overview"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize("role", [Role.PATIENT])
def test_patients_may_not_enter_the_staff_area(worked_clinic, staff_client, role):
    client = staff_client(worked_clinic["clinic"], role=role)
    assert client.get(reverse("reports:overview")).status_code == 403


@pytest.mark.parametrize("role", [Role.STAFF, Role.CLINICIAN, Role.CLINIC_ADMIN])
def test_staff_clinicians_and_clinic_administrators_may_enter(worked_clinic, staff_client, role):
    client = staff_client(worked_clinic["clinic"], role=role)
    response = client.get(reverse("reports:overview"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


# 5. Bad filters are messages, never 500.


@pytest.mark.parametrize(
    "params, message",
    [
        ({"start": "yesterday"}, "Enter a valid date"),
        ({"start": "2026-01-10", "end": "2026-01-01"}, "on or before its end"),
        ({"end": "2999-01-01"}, "can&#x27;t end after today"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "at most 366 days"),
        ({"band": "excellent"}, "Select a valid choice"),
        ({"template": "abc"}, "Select a valid choice"),
        ({"after": "not-a-cursor"}, "not valid"),
        ({"end": "0001-01-05"}, "before 1900"),
        ({"start": "0001-01-01", "end": "0001-01-10"}, "before 1900"),
    ],
    ids=[
        "not a date",
        "start after end",
        "future end",
        "too long",
        "unknown band",
        "template not a number",
        "tampered page link",
        "end so early its default start is before the calendar",
        "period so early its data-days window is before the calendar",
    ],
)
def test_bad_filter_values_are_a_clear_message_and_a_400(
    worked_clinic, staff_client, params, message
):
    client = staff_client(worked_clinic["clinic"])
    pages = ["reports:overview", "reports:patients", "reports:clinicians"]
    if not {"band", "start", "end"} & set(params):  # at risk is as of now, with no band
        pages.append("reports:at_risk")
    for name in pages:
        response = client.get(reverse(name), params)
        assert response.status_code == 400, name
        assert message in response.content.decode(), name


def test_bad_sort_on_at_risk_is_a_message(worked_clinic, staff_client):
    client = staff_client(worked_clinic["clinic"])
    response = client.get(reverse("reports:at_risk"), {"sort": "drop table"})
    assert response.status_code == 400


def test_bad_period_on_the_patient_page_is_a_message(worked_clinic, staff_client):
    client = staff_client(worked_clinic["clinic"])
    ann = worked_clinic["patients"]["Ann"]
    response = client.get(reverse("reports:patient", args=[ann.pk]), {"end": "13/13/2026"})
    assert response.status_code == 400
    assert "Enter a valid date" in response.content.decode()


@pytest.mark.parametrize("name", ["reports:patient", "reports:patient_csv"])
def test_patient_page_and_its_csv_refuse_a_bad_period_alike_and_audit_nothing(
    worked_clinic, staff_client, name
):
    client = staff_client(worked_clinic["clinic"])
    ann = worked_clinic["patients"]["Ann"]
    response = client.get(reverse(name, args=[ann.pk]), {"end": "13/13/2026"})
    assert response.status_code == 400
    assert "Enter a valid date" in response.content.decode()
    assert not AuditEvent.objects.filter(patient_id=ann.pk).exists()


def test_filters_survive_in_a_shared_url(worked_clinic, staff_client):
    client = staff_client(worked_clinic["clinic"])
    two = worked_clinic["two"]
    response = client.get(
        reverse("reports:patients"), {**PERIOD, "clinician": two.pk, "band": "low"}
    )
    assert [r.name for r in response.context["rows"]] == ["Cole, Cat"]


# 6. Query counts are fixed whatever the clinic's size.


def populate(clinic, count: int) -> None:
    """`count` patients with a running plan, a screening-less record and a week of check-ins."""
    owner = clinician(clinic)
    today = timezone.localdate()
    patients = Patient.objects.bulk_create(
        Patient(
            clinic=clinic,
            clinician=owner,
            first_name=f"P{i}",
            last_name=f"Load{i:03d}",
            date_of_birth=date(1970, 1, 1),
            time_zone="Europe/London",
        )
        for i in range(count)
    )
    plans = Plan.objects.bulk_create(
        Plan(
            patient=p,
            clinic=clinic,
            clinician=owner,
            name="Plan",
            status="active",
            start_date=today - timedelta(days=30),
        )
        for p in patients
    )
    CheckIn.objects.bulk_create(
        CheckIn(
            plan=plan,
            patient_id=plan.patient_id,
            clinic=clinic,
            idempotency_key=uuid.uuid4(),
            local_date=today - timedelta(days=n),
            completion="done" if (plan.pk + n) % 3 else "partial",
            pain_before=5,
            pain_after=4,
            inversion_angle_deg=30,
            inversion_seconds=90,
        )
        for plan in plans
        for n in range(0, 14, 2)
    )
    ClinicianAlert.objects.bulk_create(
        ClinicianAlert(
            clinic=clinic, patient=p, kind="no_checkin", message="x", dedupe_key=f"load-{p.pk}"
        )
        for p in patients[::3]
    )
    # Safety alerts and check-in red flags: the at-risk page lists them first, its
    # query count as fixed as the rest.
    ClinicianAlert.objects.bulk_create(
        ClinicianAlert(
            clinic=clinic, patient=p, kind=kind, message="x", dedupe_key=f"load-{kind}-{p.pk}"
        )
        for p in patients[1::4]
        for kind in ("stop_symptom", "screening_pause")
    )
    Patient.objects.filter(pk__in=[p.pk for p in patients[2::5]]).update(
        red_flag_reported_at=timezone.now()
    )


# Every staff page: session, user, the second factor's device, membership (the gate).
GATE_QUERIES = 4
# One report query.
REPORT_QUERIES = 1
PAGE_QUERIES = {
    # the filter form's clinicians and templates, then the report
    "reports:overview": GATE_QUERIES + 2 + REPORT_QUERIES,
    # the list pages also audit a read of each patient shown: one INSERT for the page
    "reports:patients": GATE_QUERIES + 2 + REPORT_QUERIES + 1,
    # ... and the at-risk page who needs a clinician now, above them: one more query
    "reports:at_risk": GATE_QUERIES + 2 + REPORT_QUERIES + 1 + 1,
    "reports:clinicians": GATE_QUERIES + 2 + REPORT_QUERIES,
    "reports:templates": GATE_QUERIES + 2 + REPORT_QUERIES,
    "reports:exports": GATE_QUERIES + 1,  # the user's recent exports
}


@pytest.mark.parametrize("size", [5, 50])
@pytest.mark.parametrize("name", list(PAGE_QUERIES))
def test_report_page_query_count_is_pinned_and_independent_of_patients(
    staff_client, django_assert_num_queries, name, size
):
    clinic = ClinicFactory()
    populate(clinic, size)
    client = staff_client(clinic)
    with django_assert_num_queries(PAGE_QUERIES[name]):
        response = client.get(reverse(name))
    assert response.status_code == 200


@pytest.mark.parametrize("size", [5, 50])
def test_per_patient_page_query_count_is_pinned_and_independent_of_history(
    staff_client, django_assert_num_queries, size
):
    clinic = ClinicFactory()
    populate(clinic, size)
    patient = Patient.objects.filter(clinic=clinic).order_by("pk").last()
    # A longer history for the larger clinic: more check-ins must not mean more queries.
    plan = patient.plans.get()
    for n in range(1, size, 2):
        check_in(plan, timezone.localdate() - timedelta(days=n), symptoms=["dizziness"])
    client = staff_client(clinic)
    # the patient, 6 for the report, the audit row
    with django_assert_num_queries(GATE_QUERIES + 8):
        response = client.get(reverse("reports:patient", args=[patient.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("size", [5, 50])
@pytest.mark.parametrize("kind", ["patients", "at_risk", "clinicians", "templates"])
def test_csv_export_query_count_is_pinned_and_independent_of_patients(
    staff_client, django_assert_num_queries, kind, size
):
    clinic = ClinicFactory()
    populate(clinic, size)
    client = staff_client(clinic)
    # form choices (2), the audit row, the export's report query (at risk: and the query
    # of who needs a clinician now, listed first)
    safety = 1 if kind == "at_risk" else 0
    with django_assert_num_queries(GATE_QUERIES + 3 + REPORT_QUERIES + safety):
        response = client.get(reverse("reports:export_csv", args=[kind]))
        rows = csv_rows(response)
    if kind == "patients":
        assert len(rows) == size + 1


# 7. Exports.


def test_csv_export_streams_every_patient_through_a_server_side_cursor(staff_client, monkeypatch):
    clinic = ClinicFactory()
    populate(clinic, 12)
    monkeypatch.setattr(exports, "EXPORT_CHUNK_ROWS", 5)
    client = staff_client(clinic)
    response = client.get(reverse("reports:export_csv", args=["patients"]))
    assert response.streaming
    lines = iter(response.streaming_content)
    header = next(lines).decode()
    assert header.startswith("patient_id,name,clinician")
    next(lines)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        assert cursor.fetchone()[0] == 1  # rows come from an open server-side cursor
    assert len(list(lines)) == 11
    event = AuditEvent.objects.get(action="export")
    assert (event.channel, event.actor) == ("export", client.user)


def test_csv_export_values_equal_the_hand_computed_figures(worked_clinic, staff_client):
    client = staff_client(worked_clinic["clinic"])
    rows = csv_rows(client.get(reverse("reports:export_csv", args=["patients"]), PERIOD))
    assert rows[0] == list(reports.PATIENT_COLUMNS)
    assert [(r[1], r[3], r[4], r[5], r[6]) for r in rows[1:]] == [
        ("Archer, Ann", "14", "12.0", "85.7", "adherent"),
        ("Baker, Ben", "10", "6.0", "60.0", "partial"),
        ("Cole, Cat", "7", "3.0", "42.9", "low"),
        ("Dale, Dan", "10", "8.0", "80.0", "adherent"),
    ]


def test_csv_cells_cannot_run_as_spreadsheet_formulas():
    line = next(iter(exports.csv_lines([("=HYPERLINK(1)", "+1", "ok")])))
    assert line.startswith("'=HYPERLINK(1),'+1,ok")


def test_per_patient_checkin_csv_is_audited_with_the_patient(worked_clinic, staff_client):
    client = staff_client(worked_clinic["clinic"])
    cat = worked_clinic["patients"]["Cat"]
    rows = csv_rows(client.get(reverse("reports:patient_csv", args=[cat.pk]), PERIOD))
    assert len(rows) == 1 + 3
    assert AuditEvent.objects.filter(patient_id=cat.pk, action="export", channel="export").exists()


def test_background_export_is_enqueued_after_commit_and_runs_once(
    worked_clinic, staff_client, django_capture_on_commit_callbacks
):
    client = staff_client(worked_clinic["clinic"])
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("reports:exports"), {"kind": "patients", **PERIOD})
    assert response.status_code == 302
    assert len(callbacks) == 1  # report_export_run.delay, only once the row is committed
    export = ReportExport.objects.get()
    assert export.status == "pending" and export.filters["start"] == "2026-01-05"

    # What the worker does (the task only calls this), then a redelivery.
    assert exports.report_export_run(export_id=export.pk) == "done"
    assert exports.report_export_run(export_id=export.pk) == "done"
    export.refresh_from_db()
    assert (export.status, export.rows_written, export.attempts) == ("done", 4, 1)

    status = client.get(reverse("reports:export_status", args=[export.pk]))
    assert "Download CSV" in status.content.decode()
    assert "hx-trigger" not in status.content.decode()  # finished: polling stops
    rows = csv_rows(client.get(reverse("reports:export_download", args=[export.pk])))
    assert [r[1] for r in rows[1:]] == ["Archer, Ann", "Baker, Ben", "Cole, Cat", "Dale, Dan"]


def test_interrupted_background_export_starts_again_from_the_first_row(
    worked_clinic, staff_client, monkeypatch
):
    monkeypatch.setattr(exports, "EXPORT_CHUNK_ROWS", 2)
    client = staff_client(worked_clinic["clinic"])
    export = exports.report_export_request(
        user=client.user,
        clinic=worked_clinic["clinic"],
        kind="patients",
        filters=filters_for(worked_clinic["clinic"]),
    )
    # A worker died after writing a chunk: the export is left running with part of a file.
    ReportExport.objects.filter(pk=export.pk).update(status="running", attempts=1)
    export.chunks.create(seq=0, text="stale\n")
    exports.report_export_run(export_id=export.pk)
    export.refresh_from_db()
    text = "".join(export.chunks.values_list("text", flat=True))
    assert "stale" not in text
    assert text.count("\n") == 5 and export.chunks.count() == 3


def test_running_export_row_polls_with_htmx(worked_clinic, staff_client):
    client = staff_client(worked_clinic["clinic"])
    export = ReportExport.objects.create(
        clinic=worked_clinic["clinic"], requested_by=client.user, kind="at_risk", status="running"
    )
    page = client.get(reverse("reports:exports")).content.decode()
    assert f'hx-get="{reverse("reports:export_status", args=[export.pk])}"' in page
    assert 'hx-trigger="every 2s"' in page


def test_report_templates_carry_no_inline_script_or_event_handlers():
    import re
    from pathlib import Path

    folder = Path(reports.__file__).parent / "templates" / "reports"
    for template in folder.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "style=" not in text, template.name


def test_band_filter_narrows_the_overview_to_that_bands_patients(worked_clinic):
    """Adherent: Ann 12/14 and Dan 8/10 -> 20 of 24; week 1 6/7 + 3/3, week 2 6/7 + 5/7."""
    data = reports.overview(filters_for(worked_clinic["clinic"], band="adherent"))
    assert (data.patients, data.prescribed, data.completed) == (2, 24, 20.0)
    assert [(w.adherence.prescribed, w.adherence.completed) for w in data.weeks] == [
        (10, 9.0),
        (14, 11.0),
    ]


@pytest.mark.parametrize(
    "done, partial, band",
    [(8, 0, "adherent"), (7, 1, "partial"), (5, 0, "partial"), (4, 1, "low"), (0, 0, "low")],
    ids=["8 of 10 is adherent", "7.5 is partial", "5 of 10 is partial", "4.5 is low", "none"],
)
def test_band_boundaries_in_sql_match_the_domain(done, partial, band):
    """Ten days prescribed (5–14 Jan): 80% and 50% belong to the higher band."""
    clinic = ClinicFactory()
    patient = make_patient(clinic, clinician(clinic), "Bo", "Boundary")
    plan = make_plan(patient, start=k(0))
    for n in range(done):
        check_in(plan, k(n))
    for n in range(done, done + partial):
        check_in(plan, k(n), "partial")
    filters = reports.Filters(clinic.pk, START, k(9))
    [row] = reports.patient_rows(filters)
    assert (row.prescribed, row.completed + 0.0) == (10, done + partial / 2)
    assert row.band == band == band_for(row.adherence)


def test_patient_without_a_plan_has_an_empty_but_working_report(staff_client):
    clinic = ClinicFactory()
    patient = make_patient(clinic, clinician(clinic), "Nia", "Noplan")
    response = staff_client(clinic).get(reverse("reports:patient", args=[patient.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "No check-ins in this period." in page
    assert "Nothing prescribed in this period." in page
