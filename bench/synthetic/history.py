"""Plans and what followed them: check-ins, follow-up questionnaires and alerts."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bench.synthetic.bulk import columns, copy_rows, reserve, set_triggers
from bench.synthetic.draws import HABITS, odi, pick
from patients.domain.screening import outcome_allows_programme


def write_plans(cursor, rng, spec, clinic, patients, templates, *, today, now, bulk, tick) -> list:
    """Each patient's plan, its steps, exercises and events; the plans as the writers of
    their history read them: (patient, plan_id, kind, step ids, exercise ids, last day, status).
    """
    # Plans: steps first, so the plan's current step exists when its guard runs.
    planned = [p for p in patients if outcome_allows_programme(p.screening[1])]
    kinds = [
        "inversion"
        if p.allows_inversion and rng.random() < spec.inversion_share
        else "exercise_only"
        for p in planned
    ]
    first_plan = reserve(cursor, "programmes_plan", len(planned))
    plan_rows, step_rows, exercise_rows, event_rows = [], [], [], []
    first_step = reserve(
        cursor,
        "programmes_planinversionstep",
        sum(len(templates[kind][1]) for kind in kinds),
    )
    first_exercise = reserve(
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
            event_rows.append((at, "ended", None, None, "Discharged.", "{}", clinician, plan_id))
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
    copy_rows(
        cursor,
        "programmes_planinversionstep",
        columns(
            "id order angle_deg hold_seconds sessions_per_day days_per_week cycles "
            "cycle_seconds plan_id"
        ),
        step_rows,
    )
    if bulk:
        set_triggers(cursor, on=True)  # the inversion guard checks every plan
    copy_rows(
        cursor,
        "programmes_plan",
        columns(
            "id name start_date end_date status ceiling_deg full_inversion_allowed "
            "auto_advance inversion_paused pause_reason proposal_action proposal_reason "
            "proposal_at step_started_on created_at updated_at clinic_id clinician_id "
            "patient_id current_step_id proposal_target_id template_id inversion_pause_cause"
        ),
        plan_rows,
        tick=lambda k: tick(k, "plans"),
    )
    if bulk:
        set_triggers(cursor, on=False)
    copy_rows(
        cursor,
        "programmes_planexercise",
        columns("id order sets repetitions hold_seconds times_per_day exercise_id plan_id"),
        exercise_rows,
    )
    copy_rows(
        cursor,
        "programmes_planevent",
        ["at", "kind", "from_step", "to_step", "reason", "data", "by_id", "plan_id"],
        event_rows,
    )
    del plan_rows, step_rows, exercise_rows, event_rows
    return plans


def write_checkins(cursor, rng, clinic, plans, today, now, tick) -> int:
    """Check-ins day by day for each plan, by the patient's habit; a few drop out."""
    count = sum(max(0, (last - p.plan_start).days + 1) for p, *_x, last, _s in plans)
    first = reserve(cursor, "programmes_checkin", count)  # an upper bound; gaps are harmless
    done_rows: list[tuple[int, int]] = []
    next_id = first

    def rows():
        nonlocal next_id
        for patient, plan_id, _kind, step_ids, exercise_ids, last_day, _status in plans:
            chance = pick(rng, HABITS)
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

    written = copy_rows(
        cursor,
        "programmes_checkin",
        columns(
            "id idempotency_key local_date submitted_at completion inversion_angle_deg "
            "inversion_seconds pain_before pain_after symptoms note clinic_id patient_id "
            "plan_id step_id"
        ),
        rows(),
        tick=lambda k: tick(k, "check-ins"),
    )
    copy_rows(
        cursor,
        "programmes_checkin_exercises_done",
        ["checkin_id", "planexercise_id"],
        done_rows,
        tick=lambda k: tick(k // 2, "exercises done"),
    )
    return written


def write_questionnaires(cursor, rng, clinic, plans, now) -> None:
    rows = []
    for patient, plan_id, _kind, _s, _e, last_day, _status in plans:
        if rng.random() < 0.3:
            continue
        for number in range(1, 1 + (last_day - patient.plan_start).days // 14):
            sections, percent = odi(rng, improvement=min(number // 2, 3))
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
    copy_rows(
        cursor,
        "programmes_questionnaireresponse",
        columns(
            "kind taken_on pain odi_sections odi_percent created_at clinic_id patient_id plan_id"
        ),
        rows,
    )


def write_alerts(cursor, rng, clinic, plans, today, now) -> None:
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
    copy_rows(
        cursor,
        "programmes_clinicianalert",
        columns(
            "kind message dedupe_key created_at emailed_at acknowledged_at "
            "acknowledged_by_id clinic_id patient_id plan_id"
        ),
        rows,
    )
