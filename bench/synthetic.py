"""A synthetic clinic for the benchmark, written with COPY in one transaction.

Every row satisfies the schema's constraints and triggers: each patient's
intakes are screened by the real engine (`patients.domain.screening`), only a
patient whose current screening allows inversion (cleared, or review required
with an override) gets an inversion plan with a current step, and plans are
written after the screenings so the safety guard (programmes migration 0011)
checks them at commit as it checks any other write.

The clinic is found again by its slug (which names its size). Its creation
time is the day its data ends on: built on an earlier day, its dates are moved
forward to today in place instead of building it again.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from clinic.models import ROLE_GROUP_NAMES, Clinic, Role
from clinic.roles import membership_grant
from patients.domain.answers import Condition, IntakeAnswers
from patients.domain.outcomes import score_odi
from patients.domain.screening import (
    DEFAULT_RULE_SET,
    TableLimits,
    intake_valid_until,
    outcome_allows_inversion,
    outcome_allows_programme,
    screen_intake,
)
from programmes.models import ProgrammeTemplate, TemplateKind

PASSWORD = "inverto-bench"  # every synthetic account's password (bench database only)
QUESTIONNAIRE_VERSION = "2026.1"

# Zones whose evenings are European evenings, whatever the season.
EUROPE = (
    "Europe/London",
    "Europe/London",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Amsterdam",
)
# Zones without summer time, nine or ten hours ahead of UTC: at 02:00 UTC it is
# late morning there and night in every EUROPE zone.
ASIA_PACIFIC = ("Asia/Tokyo", "Asia/Seoul", "Australia/Brisbane")

FIRST_NAMES = [
    "Alex",
    "Amara",
    "Ben",
    "Chloe",
    "Dan",
    "Eve",
    "Farah",
    "Gita",
    "Hugo",
    "Ines",
    "Jon",
    "Kemi",
    "Liam",
    "Maya",
    "Noah",
    "Olu",
    "Pia",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Xena",
    "Yusuf",
    "Zoe",
    "Ade",
    "Bea",
    "Cal",
    "Dev",
    "Ela",
]
LAST_NAMES = [
    "Adams",
    "Baker",
    "Chen",
    "Dias",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
    "Moreau",
    "Novak",
    "Okafor",
    "Patel",
    "Quist",
    "Rossi",
    "Smith",
    "Tanaka",
    "Umeh",
    "Varga",
    "Walsh",
    "Xu",
    "Young",
    "Zielinski",
    "Brown",
    "Costa",
]


@dataclass(frozen=True)
class Spec:
    """What to build. The slug names the size, so a different size is a different clinic."""

    key: str
    name: str
    patients: int
    days: int
    checkins: bool = True
    accounts: bool = True
    inversion_share: float = 0.6
    variety: bool = True  # paused and ended plans, overrides, opt-outs, questionnaires, alerts
    zones: tuple[str, ...] = EUROPE
    reminder_minutes: tuple[int, int] = (8 * 60, 17 * 60)  # local reminder times, inclusive
    clinicians: int = 20
    seed: int = 6

    @property
    def slug(self) -> str:
        return f"{self.key}-{self.patients}x{self.days}"


CLINIC_SPEC = Spec("synthetic", "Synthetic clinic", patients=10_000, days=90)
# The reminder fan-out's population: 100,000 patients of a clinic in UTC+9/+10,
# all due at 02:00 UTC, when none of CLINIC_SPEC's patients is (quiet hours).
REMINDER_SPEC = Spec(
    "synthetic-reminders",
    "Synthetic reminders clinic",
    patients=100_000,
    days=7,
    checkins=False,
    accounts=False,
    inversion_share=0.0,
    variety=False,
    zones=ASIA_PACIFIC,
    reminder_minutes=(8 * 60, 10 * 60 + 30),
    clinicians=10,
)


@dataclass
class SyntheticClinic:
    clinic: Clinic
    anchor: date  # check-ins run up to the day before
    patients: int
    checkins: int
    reused: bool
    staff_username: str
    clinician_usernames: list[str] = field(default_factory=list)


# Reading what exists.


def _counts(clinic: Clinic) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM patients_patient WHERE clinic_id = %s),"
            " (SELECT count(*) FROM programmes_checkin WHERE clinic_id = %s)",
            [clinic.pk, clinic.pk],
        )
        return cursor.fetchone()


def find(spec: Spec) -> Clinic | None:
    return Clinic.objects.filter(slug=spec.slug).first()


def ensure(
    spec: Spec,
    *,
    today: date | None = None,
    progress: Callable[[int, str], None] | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> SyntheticClinic:
    """The clinic of this spec: reused if it is there and complete, else built."""
    today = today or timezone.localdate()
    clinic = find(spec)
    if clinic is not None:
        patients, checkins = _counts(clinic)
        if patients != spec.patients:
            raise RuntimeError(
                f"clinic {spec.slug} holds {patients} patients, not {spec.patients}:"
                " drop the bench database and run again"
            )
        anchor = timezone.localdate(clinic.created_at)
        if anchor != today:
            say(f"moving {spec.slug} forward {(today - anchor).days} day(s) to {today}")
            shift(clinic, today - anchor)
        return SyntheticClinic(
            clinic,
            today,
            patients,
            checkins,
            True,
            f"{spec.slug}-staff",
            [f"{spec.slug}-clinician-{n}" for n in range(spec.clinicians)],
        )
    return build(spec, today=today, progress=progress)


# Moving a reused clinic to today.

SHIFT_SQL = [
    # The guard judges the whole moved clinic at the end of `shift`, in any order.
    """UPDATE patients_intake i SET taken_on = taken_on + %(days)s,
              bp_measured_at = bp_measured_at + %(interval)s
         FROM patients_patient p WHERE p.id = i.patient_id AND p.clinic_id = %(clinic)s""",
    """UPDATE patients_screening s SET screened_on = screened_on + %(days)s,
              valid_until = valid_until + %(days)s
         FROM patients_patient p WHERE p.id = s.patient_id AND p.clinic_id = %(clinic)s""",
    """UPDATE patients_screeningoverride o SET expires_on = expires_on + %(days)s
         FROM patients_screening s JOIN patients_patient p ON p.id = s.patient_id
        WHERE s.id = o.screening_id AND p.clinic_id = %(clinic)s""",
    """UPDATE programmes_plan SET start_date = start_date + %(days)s,
              end_date = end_date + %(days)s, step_started_on = step_started_on + %(days)s
        WHERE clinic_id = %(clinic)s""",
    """UPDATE programmes_planevent e SET at = at + %(interval)s
         FROM programmes_plan p WHERE p.id = e.plan_id AND p.clinic_id = %(clinic)s""",
    """UPDATE programmes_checkin SET local_date = local_date + %(days)s,
              submitted_at = submitted_at + %(interval)s WHERE clinic_id = %(clinic)s""",
    """UPDATE programmes_questionnaireresponse SET taken_on = taken_on + %(days)s
        WHERE clinic_id = %(clinic)s""",
    """UPDATE programmes_clinicianalert SET created_at = created_at + %(interval)s
        WHERE clinic_id = %(clinic)s""",
    "UPDATE clinic_clinic SET created_at = created_at + %(interval)s WHERE id = %(clinic)s",
]


# Screenings are never edited and a running plan's start date stays (programmes 0010):
# moving a whole clinic's dates by one delta keeps every relation between them, so these
# two refusals are lifted for this one transaction, and the deferred guard (screening,
# override, plan, caps in each patient's own date) judges the moved clinic before commit.
FIXED_DATE_TRIGGERS = (
    ("patients_screening", "inverto_screening_never_edited"),
    ("programmes_plan", "inverto_running_plan_start_fixed"),
)


@transaction.atomic
def shift(clinic: Clinic, delta: timedelta) -> None:
    """Move every date of the clinic by `delta`, so its history ends yesterday again."""
    with connection.cursor() as cursor:
        # ALTER TABLE waits for no pending trigger event: settle earlier writes first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, trigger in FIXED_DATE_TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        for statement in SHIFT_SQL:
            cursor.execute(statement, {"days": delta.days, "interval": delta, "clinic": clinic.pk})
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the guard judges the moved clinic
        for table, trigger in FIXED_DATE_TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    clinic.refresh_from_db()


# Building.


# Bulk load: foreign keys checked by set, not row by row. PostgreSQL checks a
# deferred foreign key with one trigger event per row at commit, which for the
# clinic's ~2.5 million rows is most of the build. As a superuser, the build
# writes those tables with `session_replication_role = replica` (no triggers
# fire; check constraints and unique indexes still do) and then proves every
# foreign key of the tables it wrote with one anti-join each. Plans are always
# written with triggers on: the inversion guard must see every one of them.
BULK_TABLES = (
    "auth_user",
    "clinic_membership",
    "auth_user_groups",
    "patients_patient",
    "patients_intake",
    "patients_screening",
    "patients_screeningoverride",
    "programmes_planinversionstep",
    "programmes_planexercise",
    "programmes_planevent",
    "programmes_checkin",
    "programmes_checkin_exercises_done",
    "programmes_questionnaireresponse",
    "programmes_clinicianalert",
)


def _can_bulk_load(cursor) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    return bool(cursor.fetchone()[0])


def _triggers(cursor, *, on: bool) -> None:
    cursor.execute(f"SET LOCAL session_replication_role = {'DEFAULT' if on else 'replica'}")


FOREIGN_KEYS_SQL = """
SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(n, i)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(n, i)
               JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
  FROM pg_constraint c
 WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
 ORDER BY 1
"""


def verify_foreign_keys(cursor, tables: Iterable[str]) -> None:
    """Every foreign key of `tables` holds, checked with one anti-join per constraint."""
    cursor.execute(FOREIGN_KEYS_SQL, [list(tables)])
    for name, table, target, columns, target_columns in cursor.fetchall():
        present = " AND ".join(f'x."{column}" IS NOT NULL' for column in columns)
        pairs = zip(columns, target_columns, strict=True)
        match = " AND ".join(f'y."{other}" = x."{column}"' for column, other in pairs)
        cursor.execute(
            f"SELECT count(*) FROM {table} x WHERE {present}"  # noqa: S608 - catalog names
            f" AND NOT EXISTS (SELECT 1 FROM {target} y WHERE {match})"
        )
        dangling = cursor.fetchone()[0]
        if dangling:
            raise RuntimeError(f"{dangling} rows of {table} break foreign key {name}")


def _reserve(cursor, table: str, count: int) -> int:
    """Take `count` ids from the table's sequence at once; returns the first."""
    if count == 0:
        return 0
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
        " nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
        [table, table, count],
    )
    return cursor.fetchone()[0] - count + 1


def _columns(names: str) -> list[str]:
    return names.split()


def _copy(cursor, table: str, columns: Iterable[str], rows: Iterable[tuple], tick=None) -> int:
    cols = ", ".join(f'"{column}"' for column in columns)
    written = 0
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
            if tick is not None and written % 5000 == 0:
                tick(5000)
    if tick is not None:
        tick(written % 5000)
    return written


ANSWER_FIELDS = tuple(field.name for field in dataclasses.fields(IntakeAnswers))


def _answers_json(answers: IntakeAnswers) -> str:
    # As patients.services stores them; a shallow copy (asdict deep-copies: 10x slower).
    data = {name: getattr(answers, name) for name in ANSWER_FIELDS}
    for key, value in data.items():
        if isinstance(value, date):
            data[key] = value.isoformat()
        elif isinstance(value, frozenset | set):
            data[key] = sorted(value)
    return json.dumps(data)


# Intake archetypes: extra answers and how often. The engine decides the outcome.
ARCHETYPES = (
    (0.70, {}),
    (0.12, {"systolic_bp": 146, "diastolic_bp": 88}),  # review required
    (0.06, {"conditions": frozenset({Condition.OSTEOPENIA})}),  # review required
    (0.08, {"conditions": frozenset({Condition.GLAUCOMA})}),  # contraindicated
    (0.04, {"systolic_bp": 165, "diastolic_bp": 96}),  # contraindicated
)
ODI_PATTERNS = tuple(
    tuple(min(5, max(0, base + (n % 3) - 1)) for n in range(10)) for base in (1, 2, 2, 3, 4)
)


@functools.cache
def _odi_scored(pattern: int, improvement: int) -> tuple[tuple[int, ...], Decimal]:
    sections = tuple(max(0, s - improvement) for s in ODI_PATTERNS[pattern])
    return sections, Decimal(str(score_odi(list(sections)).percent))


def _odi(rng: random.Random, improvement: int = 0) -> tuple[tuple[int, ...], Decimal]:
    return _odi_scored(rng.randrange(len(ODI_PATTERNS)), improvement)


def _findings_json(result) -> str:
    """The engine's findings as `patients.services` stores them."""
    return json.dumps(
        [
            {
                "code": f.code,
                "tier": str(f.tier),
                "evidence": f.evidence,
                "clinician_message": f.clinician_message,
                "patient_message": f.patient_message,
            }
            for f in result.findings
        ]
    )


@dataclass
class _Patient:
    id: int
    clinician_id: int
    zone: str
    reminder_minutes: int
    born: date
    baseline_pain: int
    intakes: list = field(default_factory=list)  # (id, number, taken_on, answers, sections, %)
    screening: tuple | None = None  # current (id, outcome, valid_until)
    allows_inversion: bool = False
    plan_id: int | None = None
    plan_start: date | None = None


def build(
    spec: Spec, *, today: date, progress: Callable[[int, str], None] | None = None
) -> SyntheticClinic:
    """Write the clinic of `spec` with history up to yesterday, in one transaction."""
    tick = progress or (lambda _n, _stage: None)
    rng = random.Random(spec.seed)
    now = timezone.now()
    start_day = today - timedelta(days=spec.days)
    limits = TableLimits()
    password = make_password(PASSWORD)
    inversion = ProgrammeTemplate.objects.filter(
        clinic__isnull=True, kind=TemplateKind.INVERSION, is_active=True
    ).first()
    exercise_only = ProgrammeTemplate.objects.filter(
        clinic__isnull=True, kind=TemplateKind.EXERCISE_ONLY, is_active=True
    ).first()
    if inversion is None or exercise_only is None:
        raise RuntimeError("the shipped programme templates are missing: run migrate")
    templates = {
        "inversion": (
            inversion,
            list(inversion.inversion_steps.order_by("order")),
            list(inversion.exercises.order_by("order")),
        ),
        "exercise_only": (exercise_only, [], list(exercise_only.exercises.order_by("order"))),
    }
    patient_group = Group.objects.get(name=ROLE_GROUP_NAMES[Role.PATIENT])

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        # The day the data ends on is the clinic's creation day (see `ensure`).
        clinic = Clinic.objects.create(
            slug=spec.slug, name=f"{spec.name} ({spec.patients:,} patients, {spec.days} days)"
        )
        Clinic.objects.filter(pk=clinic.pk).update(
            created_at=timezone.make_aware(datetime.combine(today, time(12, 0)))
        )
        user_model = get_user_model()
        staff = []
        for username, first, last, role in [
            (f"{spec.slug}-admin", "Ada", "Admin", Role.CLINIC_ADMIN),
            (f"{spec.slug}-staff", "Sol", "Staff", Role.STAFF),
        ] + [
            (f"{spec.slug}-clinician-{n}", rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), None)
            for n in range(spec.clinicians)
        ]:
            user = user_model.objects.create(
                username=username, first_name=first, last_name=last, password=password
            )
            membership_grant(user=user, clinic=clinic, role=role or Role.CLINICIAN)
            staff.append(user)
        clinicians = staff[2:]
        tick(1, "staff")

        # Patients, their portal accounts and memberships.
        first_patient = _reserve(cursor, "patients_patient", spec.patients)
        first_user = _reserve(cursor, "auth_user", spec.patients) if spec.accounts else 0
        patients: list[_Patient] = []
        for n in range(spec.patients):
            low, high = spec.reminder_minutes
            patients.append(
                _Patient(
                    id=first_patient + n,
                    clinician_id=clinicians[n % len(clinicians)].pk,
                    zone=rng.choice(spec.zones),
                    reminder_minutes=rng.randrange(low, high + 1, 15),
                    born=date(1940 + rng.randrange(62), rng.randrange(1, 13), rng.randrange(1, 29)),
                    baseline_pain=rng.randint(4, 8),
                )
            )

        # Intakes: one before the plan; a second (health update) when the first has lapsed.
        intake_rows, screening_rows, override_rows = [], [], []
        screened: dict[tuple[IntakeAnswers, date], object] = {}  # the engine is pure
        answers_json = functools.cache(_answers_json)
        for patient in patients:
            patient.plan_start = (
                start_day
                if not spec.variety or rng.random() < 0.85
                else start_day + timedelta(days=rng.randrange(1, max(2, spec.days - 30)))
            )
            first_day = patient.plan_start - timedelta(days=1 + rng.randrange(5))
            days = [first_day]
            if intake_valid_until(first_day) < today + timedelta(days=1):
                days.append(today - timedelta(days=rng.randrange(3, min(80, spec.days))))
            # Without variety, few distinct answers: the screening cache below then hits.
            weight = float(rng.randrange(55, 112) if spec.variety else 78)
            height = float(rng.randrange(152, 196) if spec.variety else 174)
            extra = _pick(rng, ARCHETYPES) if spec.variety else {}
            for number, taken_on in enumerate(days, start=1):
                values = {
                    "age_years": _age(patient.born, taken_on),
                    "systolic_bp": 118 + rng.randrange(16) if spec.variety else 124,
                    "diastolic_bp": 72 + rng.randrange(12) if spec.variety else 78,
                    "weight_kg": weight,
                    "height_cm": height,
                    **extra,
                }
                answers = IntakeAnswers(**values)
                result = screened.get((answers, taken_on))
                if result is None:
                    result = screened[answers, taken_on] = screen_intake(
                        answers, rules=DEFAULT_RULE_SET, limits=limits, today=taken_on
                    )
                sections, percent = _odi(rng, improvement=number - 1)
                patient.intakes.append((number, taken_on, answers, sections, percent, result))
        first_intake = _reserve(cursor, "patients_intake", sum(len(p.intakes) for p in patients))
        first_screening = _reserve(
            cursor, "patients_screening", sum(len(p.intakes) for p in patients)
        )
        next_id = 0
        for patient in patients:
            for number, taken_on, answers, sections, percent, result in patient.intakes:
                intake_id, screening_id = first_intake + next_id, first_screening + next_id
                next_id += 1
                measured = datetime.combine(taken_on, time(10, 0), ZoneInfo(patient.zone))
                intake_rows.append(
                    (
                        intake_id,
                        number,
                        QUESTIONNAIRE_VERSION,
                        taken_on,
                        answers_json(answers),
                        answers.systolic_bp,
                        answers.diastolic_bp,
                        "Synthetic nurse",
                        measured,
                        Decimal(str(answers.weight_kg)),
                        Decimal(str(answers.height_cm)),
                        patient.baseline_pain,
                        json.dumps(list(sections)),
                        percent,
                        "intake" if number == 1 else "health_update",
                        "admin",
                        now,
                        patient.clinician_id,
                        patient.id,
                    )
                )
                valid_until = intake_valid_until(taken_on)
                screening_rows.append(
                    (
                        screening_id,
                        str(result.outcome),
                        _findings_json(result),
                        result.rule_set_version,
                        taken_on,
                        valid_until,
                        now,
                        intake_id,
                        patient.id,
                        False,
                    )
                )
                patient.screening = (screening_id, str(result.outcome), valid_until)
            screening_id, outcome, valid_until = patient.screening
            overridden = spec.variety and outcome == "review_required" and rng.random() < 0.4
            if overridden:
                override_rows.append(
                    (
                        "review_required",
                        "inversion",
                        "Reviewed with the patient: blood pressure controlled, gentle angles only.",
                        now,
                        valid_until,
                        patient.clinician_id,
                        screening_id,
                        "",
                    )
                )
            patient.allows_inversion = (
                outcome_allows_inversion(outcome, has_override=overridden) and valid_until >= today
            )

        patient_rows = []
        user_rows, membership_rows, group_rows = [], [], []
        for n, patient in enumerate(patients):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            user_id = first_user + n if spec.accounts else None
            username = f"{spec.slug}-p{n}"
            sms = spec.variety and rng.random() < 0.2
            patient_rows.append(
                (
                    patient.id,
                    first,
                    f"{last}-{n}",
                    patient.born,
                    rng.choice(("female", "male", "not_stated")),
                    f"{username}@synthetic.invalid",
                    f"+44770090{n % 10000:04d}" if sms else "",
                    patient.zone,
                    patient.intakes[-1][2].height_cm,
                    patient.intakes[-1][2].weight_kg,
                    time(patient.reminder_minutes // 60, patient.reminder_minutes % 60),
                    True,
                    sms,
                    True,
                    spec.variety and rng.random() < 0.03,
                    now,
                    now,
                    clinic.pk,
                    patient.clinician_id,
                    user_id,
                    patient.screening[0],
                    "",
                    "",
                )
            )
            if spec.accounts:
                user_rows.append(
                    (user_id, password, False, username, first, last, "", False, True, now)
                )
                membership_rows.append((Role.PATIENT.value, now, clinic.pk, user_id))
                group_rows.append((user_id, patient_group.pk))
        tick(1, "users")
        bulk = _can_bulk_load(cursor)
        if bulk:
            _triggers(cursor, on=False)
        _copy(
            cursor,
            "auth_user",
            _columns(
                "id password is_superuser username first_name last_name email is_staff "
                "is_active date_joined"
            ),
            user_rows,
            tick=lambda k: tick(k, "users"),
        )
        _copy(
            cursor,
            "clinic_membership",
            ["role", "created_at", "clinic_id", "user_id"],
            membership_rows,
        )
        _copy(cursor, "auth_user_groups", ["user_id", "group_id"], group_rows)
        _copy(
            cursor,
            "patients_patient",
            _columns(
                "id first_name last_name date_of_birth sex email phone time_zone height_cm "
                "weight_kg reminder_time remind_by_email remind_by_sms remind_in_portal "
                "reminders_opted_out created_at updated_at clinic_id clinician_id user_id "
                "current_screening_id emergency_number red_flag_note"
            ),
            patient_rows,
            tick=lambda k: tick(k, "patients"),
        )
        _copy(
            cursor,
            "patients_intake",
            _columns(
                "id number questionnaire_version taken_on answers systolic_bp diastolic_bp "
                "bp_measured_by bp_measured_at weight_kg height_cm baseline_pain odi_sections "
                "odi_percent reason channel created_at recorded_by_id patient_id"
            ),
            intake_rows,
            tick=lambda k: tick(k, "intakes"),
        )
        _copy(
            cursor,
            "patients_screening",
            _columns(
                "id outcome findings rule_set_version screened_on valid_until created_at "
                "intake_id patient_id awaiting_confirmation"
            ),
            screening_rows,
            tick=lambda k: tick(k, "screenings"),
        )
        _copy(
            cursor,
            "patients_screeningoverride",
            _columns(
                "screening_outcome scope reason created_at expires_on clinician_id screening_id "
                "revoke_reason"
            ),
            override_rows,
        )
        del user_rows, membership_rows, group_rows, patient_rows, intake_rows, screening_rows

        # Plans: steps first, so the plan's current step exists when its guard runs.
        planned = [p for p in patients if outcome_allows_programme(p.screening[1])]
        kinds = [
            "inversion"
            if p.allows_inversion and rng.random() < spec.inversion_share
            else "exercise_only"
            for p in planned
        ]
        first_plan = _reserve(cursor, "programmes_plan", len(planned))
        plan_rows, step_rows, exercise_rows, event_rows = [], [], [], []
        first_step = _reserve(
            cursor,
            "programmes_planinversionstep",
            sum(len(templates[kind][1]) for kind in kinds),
        )
        first_exercise = _reserve(
            cursor, "programmes_planexercise", sum(len(templates[kind][2]) for kind in kinds)
        )
        steps_used = exercises_used = 0
        plans = []  # (patient, plan_id, kind, step ids, exercise ids, last day, status)
        for n, (patient, kind) in enumerate(zip(planned, kinds, strict=True)):
            plan_id = first_plan + n
            patient.plan_id = plan_id
            template, steps, exercises = templates[kind]
            step_ids = []
            for step in steps:
                step_ids.append(first_step + steps_used)
                step_rows.append(
                    (
                        step_ids[-1],
                        step.order,
                        step.angle_deg,
                        step.hold_seconds,
                        step.sessions_per_day,
                        step.days_per_week,
                        None,
                        None,
                        plan_id,
                    )
                )
                steps_used += 1
            exercise_ids = []
            for exercise in exercises:
                exercise_ids.append(first_exercise + exercises_used)
                exercise_rows.append(
                    (
                        exercise_ids[-1],
                        exercise.order,
                        exercise.sets,
                        exercise.repetitions,
                        exercise.hold_seconds,
                        exercise.times_per_day,
                        exercise.exercise_id,
                        plan_id,
                    )
                )
                exercises_used += 1
            start = patient.plan_start
            status, end_date, last_day = "active", None, today - timedelta(days=1)
            roll = rng.random() if spec.variety else 1.0
            if roll < 0.03:
                status, last_day = "paused", today - timedelta(days=rng.randrange(2, 20))
            elif roll < 0.05:
                end_date = max(start, today - timedelta(days=rng.randrange(2, 30)))
                status, last_day = "ended", end_date
            last_day = max(last_day, start - timedelta(days=1))
            elapsed = (min(today, last_day + timedelta(days=1)) - start).days
            current_index = min(len(step_ids) - 1, max(elapsed, 0) // 14) if step_ids else None
            inversion_paused = bool(step_ids) and spec.variety and rng.random() < 0.02
            start_at = datetime.combine(start, time(9, 0), UTC)
            clinician = patient.clinician_id
            event_rows.append((start_at, "created", None, None, "", "{}", clinician, plan_id))
            event_rows.append(
                (
                    start_at + timedelta(minutes=5),
                    "activated",
                    None,
                    None,
                    "",
                    "{}",
                    clinician,
                    plan_id,
                )
            )
            for index in range(1, (current_index or 0) + 1):
                at = datetime.combine(start + timedelta(days=14 * index), time(9, 0), UTC)
                event_rows.append(
                    (
                        at,
                        "advanced",
                        index - 1,
                        index,
                        "Three tolerated sessions.",
                        "{}",
                        None,
                        plan_id,
                    )
                )
            if status == "paused":
                at = datetime.combine(last_day + timedelta(days=1), time(9, 0), UTC)
                event_rows.append((at, "paused", None, None, "Away.", "{}", clinician, plan_id))
            elif status == "ended":
                at = datetime.combine(end_date, time(17, 0), UTC)
                event_rows.append(
                    (at, "ended", None, None, "Discharged.", "{}", clinician, plan_id)
                )
            plan_rows.append(
                (
                    plan_id,
                    template.name,
                    start,
                    end_date,
                    status,
                    60,
                    False,
                    False,
                    inversion_paused,
                    "Dizziness reported; clinician to review." if inversion_paused else "",
                    "",
                    "",
                    None,
                    start + timedelta(days=14 * current_index) if step_ids else None,
                    start_at,
                    now,
                    clinic.pk,
                    clinician,
                    patient.id,
                    step_ids[current_index] if step_ids else None,
                    None,
                    template.pk,
                    "progression" if inversion_paused else "",
                )
            )
            plans.append((patient, plan_id, kind, step_ids, exercise_ids, last_day, status))
        _copy(
            cursor,
            "programmes_planinversionstep",
            _columns(
                "id order angle_deg hold_seconds sessions_per_day days_per_week cycles "
                "cycle_seconds plan_id"
            ),
            step_rows,
        )
        if bulk:
            _triggers(cursor, on=True)  # the inversion guard checks every plan
        _copy(
            cursor,
            "programmes_plan",
            _columns(
                "id name start_date end_date status ceiling_deg full_inversion_allowed "
                "auto_advance inversion_paused pause_reason proposal_action proposal_reason "
                "proposal_at step_started_on created_at updated_at clinic_id clinician_id "
                "patient_id current_step_id proposal_target_id template_id inversion_pause_cause"
            ),
            plan_rows,
            tick=lambda k: tick(k, "plans"),
        )
        if bulk:
            _triggers(cursor, on=False)
        _copy(
            cursor,
            "programmes_planexercise",
            _columns("id order sets repetitions hold_seconds times_per_day exercise_id plan_id"),
            exercise_rows,
        )
        _copy(
            cursor,
            "programmes_planevent",
            ["at", "kind", "from_step", "to_step", "reason", "data", "by_id", "plan_id"],
            event_rows,
        )
        del plan_rows, step_rows, exercise_rows, event_rows

        checkins = 0
        if spec.checkins:
            checkins = _write_checkins(cursor, rng, clinic, plans, today, now, tick)
        if spec.variety:
            _write_questionnaires(cursor, rng, clinic, plans, now)
            _write_alerts(cursor, rng, clinic, plans, today, now)
        if bulk:
            _triggers(cursor, on=True)
            tick(1, "checking foreign keys")
            verify_foreign_keys(cursor, BULK_TABLES)
        tick(1, "committing")
    with connection.cursor() as cursor:
        for table in (
            "patients_patient",
            "patients_intake",
            "patients_screening",
            "programmes_plan",
            "programmes_planevent",
            "programmes_planexercise",
            "programmes_checkin",
            "programmes_checkin_exercises_done",
        ):
            cursor.execute(f"ANALYZE {table}")
    clinic.refresh_from_db()
    return SyntheticClinic(
        clinic,
        today,
        spec.patients,
        checkins,
        False,
        f"{spec.slug}-staff",
        [f"{spec.slug}-clinician-{n}" for n in range(spec.clinicians)],
    )


def expected_rows(spec: Spec) -> int:
    """Roughly how many rows `build` reports through `progress`, for a progress bar."""
    per_patient = (6 if spec.accounts else 5) + (spec.days * 0.73 * 2.2 if spec.checkins else 0)
    return int(spec.patients * per_patient) + 4


def _pick(rng: random.Random, weighted):
    roll, total = rng.random(), 0.0
    for weight, value in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][1]


def _age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


# Adherence habits: (share of patients, chance of a check-in on a prescribed day).
HABITS = ((0.55, 0.92), (0.25, 0.66), (0.12, 0.40), (0.08, 0.18))


def _write_checkins(cursor, rng, clinic, plans, today, now, tick) -> int:
    """Check-ins day by day for each plan, by the patient's habit; a few drop out."""
    count = sum(max(0, (last - p.plan_start).days + 1) for p, *_x, last, _s in plans)
    first = _reserve(cursor, "programmes_checkin", count)  # an upper bound; gaps are harmless
    done_rows: list[tuple[int, int]] = []
    next_id = first

    def rows():
        nonlocal next_id
        for patient, plan_id, _kind, step_ids, exercise_ids, last_day, _status in plans:
            chance = _pick(rng, HABITS)
            drop_after = (
                patient.plan_start + timedelta(days=rng.randrange(20, 80))
                if rng.random() < 0.06
                else None
            )
            zone = ZoneInfo(patient.zone)
            pain = patient.baseline_pain
            day = patient.plan_start
            while day <= last_day:
                if (drop_after is None or day <= drop_after) and rng.random() < chance:
                    elapsed = (day - patient.plan_start).days
                    roll = rng.random()
                    completion = "done" if roll < 0.82 else "partial" if roll < 0.95 else "not_done"
                    before = max(1, min(10, pain - elapsed // 25 + rng.randint(-1, 1)))
                    after = max(0, before - rng.randint(0, 2))
                    step_id = angle = seconds = None
                    if step_ids and completion != "not_done":
                        index = min(len(step_ids) - 1, elapsed // 14)
                        step_id = step_ids[index]
                        angle = 20 + 10 * index
                        seconds = 60 * (index + 1) // (2 if completion == "partial" else 1)
                    symptoms = []
                    if not step_ids:
                        odd = rng.random()
                        if odd < 0.004:
                            symptoms = ["dizziness"]
                        elif odd < 0.0045:
                            symptoms = ["severe_headache"]
                    minute = patient.reminder_minutes + rng.randrange(0, 180)
                    local = datetime.combine(day, time(min(minute // 60, 23), minute % 60), zone)
                    checkin_id = next_id
                    next_id += 1
                    if completion == "done":
                        done_rows.extend((checkin_id, e) for e in exercise_ids[:3])
                    elif completion == "partial":
                        done_rows.extend((checkin_id, e) for e in exercise_ids[:1])
                    yield (
                        checkin_id,
                        uuid.UUID(int=rng.getrandbits(128), version=4),
                        day,
                        min(local.astimezone(UTC), now),
                        completion,
                        angle,
                        seconds,
                        before,
                        after,
                        symptoms,
                        "Felt looser afterwards." if rng.random() < 0.03 else "",
                        clinic.pk,
                        patient.id,
                        plan_id,
                        step_id,
                    )
                day += timedelta(days=1)

    written = _copy(
        cursor,
        "programmes_checkin",
        _columns(
            "id idempotency_key local_date submitted_at completion inversion_angle_deg "
            "inversion_seconds pain_before pain_after symptoms note clinic_id patient_id "
            "plan_id step_id"
        ),
        rows(),
        tick=lambda k: tick(k, "check-ins"),
    )
    _copy(
        cursor,
        "programmes_checkin_exercises_done",
        ["checkin_id", "planexercise_id"],
        done_rows,
        tick=lambda k: tick(k // 2, "exercises done"),
    )
    return written


def _write_questionnaires(cursor, rng, clinic, plans, now) -> None:
    rows = []
    for patient, plan_id, _kind, _s, _e, last_day, _status in plans:
        if rng.random() < 0.3:
            continue
        for number in range(1, 1 + (last_day - patient.plan_start).days // 14):
            sections, percent = _odi(rng, improvement=min(number // 2, 3))
            rows.append(
                (
                    "follow_up",
                    patient.plan_start + timedelta(days=14 * number),
                    max(0, patient.baseline_pain - number),
                    json.dumps(list(sections)),
                    percent,
                    now,
                    clinic.pk,
                    patient.id,
                    plan_id,
                )
            )
    _copy(
        cursor,
        "programmes_questionnaireresponse",
        _columns(
            "kind taken_on pain odi_sections odi_percent created_at clinic_id patient_id plan_id"
        ),
        rows,
    )


def _write_alerts(cursor, rng, clinic, plans, today, now) -> None:
    rows = []
    for patient, plan_id, _kind, _s, _e, _last, status in plans:
        if status != "active" or rng.random() > 0.04:
            continue
        kind = rng.choice(("low_adherence", "no_checkin", "high_pain"))
        created = now - timedelta(days=rng.randrange(0, 10), hours=rng.randrange(24))
        acknowledged = created + timedelta(hours=5) if rng.random() < 0.5 else None
        rows.append(
            (
                kind,
                f"Synthetic {kind.replace('_', ' ')} alert.",
                f"synthetic:{clinic.pk}:{patient.id}:{kind}",
                created,
                None,
                acknowledged,
                patient.clinician_id if acknowledged else None,
                clinic.pk,
                patient.id,
                plan_id,
            )
        )
    _copy(
        cursor,
        "programmes_clinicianalert",
        _columns(
            "kind message dedupe_key created_at emailed_at acknowledged_at "
            "acknowledged_by_id clinic_id patient_id plan_id"
        ),
        rows,
    )
