"""The benchmark's own code, on a small clinic: the builder writes valid data through
the same path `make bench` uses, the harness can sign in and measure, and every JSON
line has every field. Nothing here is timed."""

import json
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench import fanout, isolation, pages, synthetic
from bench import throughput as tp
from bench.measure import FANOUT_FIELDS, RATIO_FIELDS, failed_line, ratio_line
from bench.models import WriteProbe
from bench.synthetic.reuse import shift
from clinic.models import Clinic
from patients.domain.screening import outcome_allows_inversion
from patients.models import Intake, Patient, Screening
from programmes.adherence_reconcile import adherence_reconcile
from programmes.models import CheckIn, Plan, PlanEvent, QuestionnaireResponse

SMALL = synthetic.Spec("test-synthetic", "Test clinic", patients=20, days=10, clinicians=3)


@pytest.fixture
def small_clinic(db):
    return synthetic.ensure(SMALL, today=timezone.localdate())


@pytest.mark.django_db
def test_builder_writes_a_small_clinic_that_passes_every_constraint_and_validator(small_clinic):
    clinic = small_clinic.clinic
    assert not small_clinic.reused
    patients = Patient.objects.filter(clinic=clinic)
    assert patients.count() == 20
    # Deferred foreign keys (the patient <-> screening cycle, plan <-> step) hold now.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    checkins = CheckIn.objects.filter(clinic=clinic)
    assert checkins.exists()
    # A cleared screening has no findings: the app itself stores [] (not blank=True).
    for screening in Screening.objects.filter(patient__clinic=clinic):
        screening.full_clean(exclude=["findings"])
    for record in [
        *patients,
        *Intake.objects.filter(patient__clinic=clinic),
        *Plan.objects.filter(clinic=clinic),
        *PlanEvent.objects.filter(plan__clinic=clinic),
        *checkins,
        *QuestionnaireResponse.objects.filter(clinic=clinic),
    ]:
        record.full_clean()
    assert {patient.current_screening_id for patient in patients} <= set(
        Screening.objects.filter(patient__clinic=clinic).values_list("id", flat=True)
    )


@pytest.mark.django_db
def test_only_patients_whose_screening_allows_it_get_an_inversion_step(small_clinic):
    plans = Plan.objects.filter(clinic=small_clinic.clinic).select_related(
        "patient__current_screening", "current_step"
    )
    with_step = [plan for plan in plans if plan.current_step_id is not None]
    assert with_step, "the small clinic should hold inversion plans too"
    assert any(plan.current_step_id is None for plan in plans)
    today = timezone.localdate()
    for plan in with_step:
        screening = plan.patient.current_screening
        overridden = hasattr(screening, "override")
        assert outcome_allows_inversion(screening.outcome, has_override=overridden)
        assert screening.valid_until >= today
        assert plan.current_step.plan_id == plan.pk
        assert plan.current_step.angle_deg <= plan.ceiling_deg
    assert not CheckIn.objects.filter(clinic=small_clinic.clinic, local_date__gte=today).exists(), (
        "history ends yesterday, so today's check-ins are the benchmark's"
    )


@pytest.mark.django_db
def test_a_second_ensure_reuses_the_clinic_and_a_later_day_moves_it_forward(small_clinic):
    count = CheckIn.objects.filter(clinic=small_clinic.clinic).count()
    today = timezone.localdate()
    again = synthetic.ensure(SMALL, today=today)
    assert again.reused and again.clinic.pk == small_clinic.clinic.pk
    assert CheckIn.objects.filter(clinic=small_clinic.clinic).count() == count

    later = synthetic.ensure(SMALL, today=today + timedelta(days=3))
    assert later.reused
    last = CheckIn.objects.filter(clinic=small_clinic.clinic).latest("local_date").local_date
    assert last == today + timedelta(days=2)
    assert timezone.localdate(later.clinic.created_at) == today + timedelta(days=3)


@pytest.mark.django_db
def test_a_bench_patient_session_posts_a_new_check_in_and_the_load_is_removed(small_clinic):
    sessions = tp.patient_sessions(small_clinic.clinic, 2)
    assert len(sessions) == 2
    _method, path, body, headers = tp.checkin_requests(sessions)(0)
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.SESSION_COOKIE_NAME] = sessions[0].session_key
    client.cookies[settings.CSRF_COOKIE_NAME] = sessions[0].csrf
    response = client.post(
        path, data=body, content_type="application/json", HTTP_X_CSRFTOKEN=headers["X-CSRFToken"]
    )
    assert response.status_code == 201, response.content
    assert (
        json.loads(body)["idempotency_key"]
        != json.loads(tp.checkin_requests(sessions)(0)[2])["idempotency_key"]
    )
    assert tp.remove_load(small_clinic.clinic, sessions) == 1
    assert not CheckIn.objects.filter(note=tp.NOTE).exists()


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="config.bench_urls")
def test_the_minimal_write_is_a_patients_csrf_checked_post_of_one_row(small_clinic):
    sessions = tp.patient_sessions(small_clinic.clinic, 1)
    _method, path, body, headers = tp.minimal_write_requests(sessions)(5)
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.SESSION_COOKIE_NAME] = sessions[0].session_key
    client.cookies[settings.CSRF_COOKIE_NAME] = sessions[0].csrf
    assert client.post(path, data=body, content_type="application/json").status_code == 403
    response = client.post(
        path, data=body, content_type="application/json", HTTP_X_CSRFTOKEN=headers["X-CSRFToken"]
    )
    assert response.status_code == 201, response.content
    assert WriteProbe.objects.count() == 1
    staff = pages.staff_client(small_clinic.staff_username)
    staff_write = staff.post(path, data=body, content_type="application/json")
    assert staff_write.status_code == 403  # the check-in's role policy: patients only
    tp.remove_load(small_clinic.clinic, sessions)
    assert not WriteProbe.objects.exists()


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="config.bench_urls")
def test_the_staff_page_yardstick_has_the_staff_gate_and_no_query_of_its_own(small_clinic):
    url = pages.page_url(pages.STAFF_PAGE, None)
    client = pages.staff_client(small_clinic.staff_username)
    # (Each request empties the query log: count before the next one.)
    with CaptureQueriesContext(connection) as gate:
        page = client.get(url)
    gate_statements = len(gate)
    with CaptureQueriesContext(connection) as report:
        response = client.get(pages.page_url("reports:overview", None))
    report_statements = len(report)
    assert (page.status_code, response.status_code) == (200, 200)
    assert small_clinic.clinic.name in page.content.decode()
    # The gate's statements (session, user, device, membership) are all the page runs.
    assert gate_statements == 4 < report_statements
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


@pytest.mark.django_db
def test_the_built_clinic_s_kept_adherence_reconciles_with_no_difference(small_clinic):
    """The build writes check-ins and plan events with triggers off, then keeps adherence."""
    assert PlanEvent.objects.filter(plan__clinic=small_clinic.clinic, kind="paused").exists()
    assert adherence_reconcile(repair=False).differences == 0
    shift(small_clinic.clinic, timedelta(days=3))  # a reused clinic moved to a later day
    assert adherence_reconcile(repair=False).differences == 0


@pytest.mark.django_db
def test_other_clinics_join_for_the_measurement_and_leave_nothing_behind(small_clinic):
    clinic = small_clinic.clinic
    before = {table: _count(table) for table in isolation.COPIES}
    with isolation.other_clinics(clinic, count=3) as added:
        assert added == 3 * small_clinic.patients
        for table, rows in before.items():
            own = _count(table, clinic.pk)
            assert _count(table) == rows + 3 * own, table
    assert {table: _count(table) for table in isolation.COPIES} == before
    assert not Clinic.objects.filter(slug__startswith=f"{clinic.slug}-copy-").exists()


def _count(table: str, clinic_id: int | None = None) -> int:
    with connection.cursor() as cursor:
        if clinic_id is None:
            cursor.execute(f"SELECT count(*) FROM {table}")
        else:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE clinic_id = %s", [clinic_id])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_staff_client_gets_past_the_second_factor_and_a_report_page_is_measured(
    small_clinic,
):
    client = pages.staff_client(small_clinic.staff_username)
    url = pages.page_url("reports:overview", None)
    assert url is not None
    timing = pages.time_page(client, url, budget=0.01)
    assert timing.runs == 3
    assert timing.statements > 0
    assert timing.page_ms > 0 and timing.sql_ms > 0


def test_a_ratio_line_has_every_field_and_says_whether_the_target_is_met():
    page = {"baseline_kind": "staff_page", "unit": "ms", "target": "ratio <= 1.5", "at_most": 1.5}
    met = ratio_line("x", value=3.0, baseline=2.0, **page)
    missed = ratio_line("x", value=4.0, baseline=2.0, **page)
    floor = ratio_line(
        "y",
        value=10.0,
        baseline=100.0,
        baseline_kind="minimal_write",
        unit="req/s",
        target="ratio >= 0.5",
        at_least=0.5,
        p50=1,
    )
    for line in (met, missed, floor):
        assert set(RATIO_FIELDS) <= set(line)
        assert json.loads(json.dumps(line)) == line
    assert (met["ratio"], met["meets"], met["baseline_kind"]) == (1.5, True, "staff_page")
    assert missed["meets"] is False
    assert (floor["ratio"], floor["meets"], floor["p50"]) == (0.1, False, 1)


def test_a_measurement_that_could_not_be_taken_still_has_every_field_and_an_error():
    line = failed_line(
        "report_at_risk",
        unit="ms",
        target="ratio <= 5",
        error="no such page",
        baseline_kind="staff_page",
    )
    assert set(RATIO_FIELDS) <= set(line) and line["baseline_kind"] == "staff_page"
    assert line["meets"] is False and line["error"] == "no such page"


@pytest.mark.parametrize(
    ("seconds", "sends", "duplicates", "meets"),
    [
        (120.0, 100_000, 0, True),
        (181.0, 100_000, 0, False),
        (120.0, 100_001, 1, False),
        (120.0, 99_999, 0, False),
    ],
    ids=["all-sent-in-time", "too-slow", "a-duplicate", "one-missing"],
)
def test_the_fanout_line_has_every_field_and_meets_only_with_all_sent_once_in_time(
    seconds, sends, duplicates, meets
):
    result = fanout.FanoutResult(
        seconds=seconds,
        swept=100_000,
        sent=min(sends, 100_000),
        failed=0,
        pending=0,
        sends=sends,
        duplicates=duplicates,
        redis_peak_mb=3.1,
        redis_baseline_mb=2.0,
        timed_out=False,
    )
    line = fanout.fanout_line(result, expected=100_000)
    assert set(FANOUT_FIELDS) <= set(line)
    assert line["meets"] is meets
    assert (line["baseline_kind"], line["baseline"]) == ("limit", fanout.TARGET_SECONDS)
    assert line["ratio"] == round(seconds / fanout.TARGET_SECONDS, 3)
    assert json.loads(json.dumps(line)) == line


def test_duplicates_are_counted_from_the_workers_console_lines(tmp_path):
    key = f"inverto-1-2026-11-25-reminder-console-{uuid.uuid4().hex[:4]}"
    (tmp_path / "a.log").write_text(f"WARNING [reminder {key}] Time for today's session\n")
    (tmp_path / "b.log").write_text(
        f"[reminder {key}] again\n[reminder inverto-2-2026-11-25-reminder-console] Hi\n"
    )
    assert fanout.count_sends([tmp_path / "a.log", tmp_path / "b.log"]) == (3, 1)


@pytest.mark.django_db
def test_the_foreign_key_check_by_set_finds_a_dangling_reference(small_clinic):
    with connection.cursor() as cursor:
        synthetic.verify_foreign_keys(cursor, synthetic.BULK_TABLES)
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE programmes_checkin SET plan_id = -1"
            " WHERE id = (SELECT min(id) FROM programmes_checkin WHERE clinic_id = %s)",
            [small_clinic.clinic.pk],
        )
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        with pytest.raises(RuntimeError, match="programmes_checkin"):
            synthetic.verify_foreign_keys(cursor, ["programmes_checkin"])


@pytest.mark.django_db
def test_the_command_refuses_a_database_that_is_not_the_benchs(monkeypatch):
    monkeypatch.delenv("BENCH_ALLOW_ANY_STORE", raising=False)
    monkeypatch.setitem(settings.DATABASES["default"], "NAME", "inverto")
    with pytest.raises(CommandError, match="refusing to run against database 'inverto'"):
        call_command("synthetic_clinic", "--patients", "20", "--days", "10")
    assert not Patient.objects.filter(clinic__slug="synthetic-20x10").exists()


@pytest.mark.django_db
def test_the_command_builds_the_clinic_once_then_reuses_it(capsys, monkeypatch):
    monkeypatch.setenv("BENCH_ALLOW_ANY_STORE", "1")  # the test database is not named *bench*
    call_command("synthetic_clinic", "--patients", "20", "--days", "10")
    first = capsys.readouterr()
    call_command("synthetic_clinic", "--patients", "20", "--days", "10")
    second = capsys.readouterr()
    assert "20 patients" in first.out and "built" in first.out
    assert "reused" in second.out
    assert "100.0%" in first.err, "the progress bar reaches the end on stderr"
    assert Patient.objects.filter(clinic__slug="synthetic-20x10").count() == 20
