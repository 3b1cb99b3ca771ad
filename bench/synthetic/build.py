"""Building a synthetic clinic for the benchmark, written with COPY in one transaction.

Every row satisfies the schema's constraints and triggers: each patient's
intakes are screened by the real engine (`patients.domain.screening`), only a
patient whose current screening allows inversion (cleared, or review required
with an override) gets an inversion plan with a current step, and plans are
written after the screenings so the safety guard (programmes migration 0011)
checks them at commit as it checks any other write. The clinic's creation time
is the day its data ends on (`reuse` moves it forward).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from bench.synthetic.bulk import (
    BULK_TABLES,
    can_bulk_load,
    columns,
    copy_rows,
    reserve,
    set_triggers,
    verify_foreign_keys,
)
from bench.synthetic.draws import ARCHETYPES, FIRST_NAMES, LAST_NAMES, odi, pick
from bench.synthetic.history import write_alerts, write_checkins, write_plans, write_questionnaires
from bench.synthetic.spec import PASSWORD, QUESTIONNAIRE_VERSION, Spec, SyntheticClinic
from clinic.models import ROLE_GROUP_NAMES, Clinic, Role
from clinic.roles import membership_grant
from patients.domain.answers import IntakeAnswers
from patients.domain.screening import (
    DEFAULT_RULE_SET,
    TableLimits,
    intake_valid_until,
    outcome_allows_inversion,
    screen_intake,
)
from programmes.adherence_reconcile import adherence_rebuild_clinic
from programmes.models import ProgrammeTemplate, TemplateKind

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
        first_patient = reserve(cursor, "patients_patient", spec.patients)
        first_user = reserve(cursor, "auth_user", spec.patients) if spec.accounts else 0
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
            extra = pick(rng, ARCHETYPES) if spec.variety else {}
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
                sections, percent = odi(rng, improvement=number - 1)
                patient.intakes.append((number, taken_on, answers, sections, percent, result))
        first_intake = reserve(cursor, "patients_intake", sum(len(p.intakes) for p in patients))
        first_screening = reserve(
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
        bulk = can_bulk_load(cursor)
        if bulk:
            set_triggers(cursor, on=False)
        copy_rows(
            cursor,
            "auth_user",
            columns(
                "id password is_superuser username first_name last_name email is_staff "
                "is_active date_joined"
            ),
            user_rows,
            tick=lambda k: tick(k, "users"),
        )
        copy_rows(
            cursor,
            "clinic_membership",
            ["role", "created_at", "clinic_id", "user_id"],
            membership_rows,
        )
        copy_rows(cursor, "auth_user_groups", ["user_id", "group_id"], group_rows)
        copy_rows(
            cursor,
            "patients_patient",
            columns(
                "id first_name last_name date_of_birth sex email phone time_zone height_cm "
                "weight_kg reminder_time remind_by_email remind_by_sms remind_in_portal "
                "reminders_opted_out created_at updated_at clinic_id clinician_id user_id "
                "current_screening_id emergency_number red_flag_note"
            ),
            patient_rows,
            tick=lambda k: tick(k, "patients"),
        )
        copy_rows(
            cursor,
            "patients_intake",
            columns(
                "id number questionnaire_version taken_on answers systolic_bp diastolic_bp "
                "bp_measured_by bp_measured_at weight_kg height_cm baseline_pain odi_sections "
                "odi_percent reason channel created_at recorded_by_id patient_id"
            ),
            intake_rows,
            tick=lambda k: tick(k, "intakes"),
        )
        copy_rows(
            cursor,
            "patients_screening",
            columns(
                "id outcome findings rule_set_version screened_on valid_until created_at "
                "intake_id patient_id awaiting_confirmation"
            ),
            screening_rows,
            tick=lambda k: tick(k, "screenings"),
        )
        copy_rows(
            cursor,
            "patients_screeningoverride",
            columns(
                "screening_outcome scope reason created_at expires_on clinician_id screening_id "
                "revoke_reason"
            ),
            override_rows,
        )
        del user_rows, membership_rows, group_rows, patient_rows, intake_rows, screening_rows

        plans = write_plans(
            cursor,
            rng,
            spec,
            clinic,
            patients,
            templates,
            today=today,
            now=now,
            bulk=bulk,
            tick=tick,
        )

        checkins = 0
        if spec.checkins:
            checkins = write_checkins(cursor, rng, clinic, plans, today, now, tick)
        if spec.variety:
            write_questionnaires(cursor, rng, clinic, plans, now)
            write_alerts(cursor, rng, clinic, plans, today, now)
        if bulk:
            set_triggers(cursor, on=True)
            tick(1, "checking foreign keys")
            verify_foreign_keys(cursor, BULK_TABLES)
            # The kept adherence's triggers were off with the others: compute it once.
            tick(1, "keeping adherence")
            adherence_rebuild_clinic(clinic.pk)
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
            "programmes_plandays",
            "programmes_daycredit",
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


def _age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
