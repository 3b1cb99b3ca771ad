"""PostgreSQL holds the line behind the services (issue 11, CLINICAL.md sections 1 and 3).

Whatever path writes (service, admin, API, fixture load, raw SQL), no transaction commits
a state in which an inversion-active plan (active, inversion not paused, and a current
step or an exercise of the inversion category) belongs to a patient whose record forbids
inversion on the patient's own local date, or in which a step breaks the caps. The rule
mirrors `programmes.domain.permission.treatment_permission` as the loader
(`programmes.permission.screening_facts`) feeds it: `inverto_inversion_forbidden` says why
in words, or NULL. A change through any table that can change the answer (plan, step, plan
exercise, exercise, patient, screening, override, referral) queues a constraint trigger,
deferred to COMMIT so a service may change several rows in any order (a health update
stores the screening, then pauses the plan) and only the settled state is judged.
Screenings are never edited and a running plan's start date stays: those are refused at
once. This replaces the plan-only, UTC-dated trigger of migration 0002.

Time passing is not a write: a screening that lapses at midnight is the expiry sweep's to
answer. A stop symptom is answered by the plan's inversion pause (the check-in service
writes it); the database does not refuse a check-in, so a stop symptom is never lost.
"""

import importlib

import django.db.models.expressions
import django.db.models.functions.comparison
import django.db.models.lookups
from django.db import migrations, models

GUARD_0002 = importlib.import_module("programmes.migrations.0002_inversion_guard")

FORWARD = r"""
DROP TRIGGER IF EXISTS programmes_plan_inversion_guard ON programmes_plan;
DROP FUNCTION IF EXISTS programmes_plan_inversion_guard();

-- Why this patient may not invert today, in their own time zone; NULL: they may.
-- Mirrors programmes.domain.permission.treatment_permission (and patients.domain.gate).
CREATE FUNCTION inverto_inversion_forbidden(p_patient bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r record;
    today date;
BEGIN
    SELECT p.time_zone, p.red_flag_reported_at, p.current_screening_id,
           sc.outcome, sc.valid_until, sc.awaiting_confirmation,
           o.id AS override_id, o.expires_on AS override_until, o.revoked_at
      INTO r
      FROM patients_patient p
      LEFT JOIN patients_screening sc ON sc.id = p.current_screening_id
      LEFT JOIN patients_screeningoverride o ON o.screening_id = sc.id
     WHERE p.id = p_patient;
    IF NOT FOUND THEN
        RETURN 'the patient does not exist';
    END IF;
    today := (now() AT TIME ZONE r.time_zone)::date;
    IF r.red_flag_reported_at IS NOT NULL THEN
        RETURN 'a red-flag symptom reported at a check-in awaits its urgent referral';
    END IF;
    IF r.current_screening_id IS NULL THEN
        RETURN 'the patient has not been screened';
    END IF;
    IF r.awaiting_confirmation THEN
        RETURN 'the current screening awaits a clinician''s confirmation';
    END IF;
    IF r.valid_until IS NULL OR r.valid_until < today THEN
        RETURN format('the screening expired on %s (the patient''s date is %s)',
                      r.valid_until, today);
    END IF;
    IF r.outcome = 'cleared' THEN
        RETURN NULL;
    ELSIF r.outcome = 'review_required' THEN
        IF r.override_id IS NULL THEN
            RETURN 'screening is review_required and no override is recorded';
        ELSIF r.revoked_at IS NOT NULL THEN
            RETURN 'screening is review_required and its override was revoked';
        ELSIF r.override_until < today THEN
            RETURN format('screening is review_required and its override expired on %s',
                          r.override_until);
        END IF;
        RETURN NULL;
    ELSIF r.outcome IN ('contraindicated', 'urgent_referral') THEN
        RETURN format('screening is %s', r.outcome);
    END IF;
    RETURN format('unknown screening outcome %L', r.outcome);
END;
$$;

-- Every rule one plan must keep (CLINICAL.md section 3, and the screening above).
CREATE FUNCTION inverto_plan_check(p_plan bigint) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    plan record;
    step record;
    has_step boolean := false;
    high record;
    reason text;
    today date;
    ceiling integer;
    per_session integer;
BEGIN
    SELECT * INTO plan FROM programmes_plan WHERE id = p_plan;
    IF NOT FOUND THEN
        RETURN;  -- deleted later in the same transaction
    END IF;
    IF NOT plan.full_inversion_allowed THEN
        SELECT s.id, s."order", s.angle_deg INTO high
          FROM programmes_planinversionstep s
         WHERE s.plan_id = plan.id AND s.angle_deg > 60
         ORDER BY s."order" LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'plan %: step % at % degrees is above 60 and the plan does not '
                'allow full inversion', plan.id, high."order" + 1, high.angle_deg
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF plan.current_step_id IS NOT NULL THEN
        SELECT s.* INTO step FROM programmes_planinversionstep s WHERE s.id = plan.current_step_id;
        has_step := FOUND;  -- a missing step is the foreign key's to refuse
    END IF;
    IF has_step THEN
        IF step.plan_id <> plan.id THEN
            RAISE EXCEPTION 'plan %: the current step belongs to another plan', plan.id
                USING ERRCODE = 'check_violation';
        END IF;
        ceiling := LEAST(plan.ceiling_deg,
                         CASE WHEN plan.full_inversion_allowed THEN 90 ELSE 60 END);
        IF step.angle_deg > ceiling THEN
            RAISE EXCEPTION 'plan %: step angle % is above the plan ceiling %',
                plan.id, step.angle_deg, ceiling USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF plan.status <> 'active' OR plan.inversion_paused THEN
        RETURN;
    END IF;
    IF NOT has_step AND NOT EXISTS (
        SELECT 1 FROM programmes_planexercise pe
          JOIN programmes_exercise e ON e.id = pe.exercise_id
         WHERE pe.plan_id = plan.id AND e.category = 'inversion'
    ) THEN
        RETURN;  -- no inversion on this plan
    END IF;
    reason := inverto_inversion_forbidden(plan.patient_id);
    IF reason IS NOT NULL THEN
        RAISE EXCEPTION 'inversion refused for patient % (plan %): %',
            plan.patient_id, plan.id, reason USING ERRCODE = 'check_violation';
    END IF;
    IF has_step THEN
        SELECT (now() AT TIME ZONE p.time_zone)::date INTO today
          FROM patients_patient p WHERE p.id = plan.patient_id;
        per_session := CASE WHEN step.cycles IS NOT NULL
                            THEN step.cycles::integer * step.cycle_seconds
                            ELSE step.hold_seconds END;
        IF per_session > 600 OR step.sessions_per_day > 2 THEN
            RAISE EXCEPTION 'plan %: a session of % s inverted, % a day, is above the caps '
                '(600 s, 2 a day)', plan.id, per_session, step.sessions_per_day
                USING ERRCODE = 'check_violation';
        END IF;
        IF today - plan.start_date < 14 AND per_session * step.sessions_per_day > 300 THEN
            RAISE EXCEPTION 'plan %: % s inverted a day is above the 300 s a day of a plan''s '
                'first 14 days (day % of the plan)',
                plan.id, per_session * step.sessions_per_day, today - plan.start_date
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
END;
$$;

-- One patient's record, and the plan that may invert on it.
CREATE FUNCTION inverto_patient_check(p_patient bigint) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r record;
    plan_id bigint;
BEGIN
    SELECT p.id, p.current_screening_id, sc.patient_id AS owner, sc.awaiting_confirmation
      INTO r
      FROM patients_patient p
      LEFT JOIN patients_screening sc ON sc.id = p.current_screening_id
     WHERE p.id = p_patient;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF r.owner IS NOT NULL AND r.owner <> r.id THEN
        RAISE EXCEPTION 'patient %: screening % is another patient''s', r.id,
            r.current_screening_id USING ERRCODE = 'check_violation';
    END IF;
    IF r.awaiting_confirmation THEN
        RAISE EXCEPTION 'patient %: screening % awaits a clinician''s confirmation and can''t be '
            'current', r.id, r.current_screening_id USING ERRCODE = 'check_violation';
    END IF;
    FOR plan_id IN
        SELECT id FROM programmes_plan WHERE patient_id = p_patient AND status = 'active'
    LOOP
        PERFORM inverto_plan_check(plan_id);
    END LOOP;
END;
$$;

-- Trigger functions: each finds the plans or patients its row can change.

CREATE FUNCTION inverto_plan_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM inverto_plan_check(NEW.id);
    RETURN NULL;
END;
$$;

CREATE FUNCTION inverto_step_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    plan_id bigint;
BEGIN
    FOR plan_id IN
        SELECT id FROM programmes_plan WHERE id = NEW.plan_id OR current_step_id = NEW.id
    LOOP
        PERFORM inverto_plan_check(plan_id);
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE FUNCTION inverto_plan_exercise_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM inverto_plan_check(NEW.plan_id);
    RETURN NULL;
END;
$$;

CREATE FUNCTION inverto_exercise_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    plan_id bigint;
BEGIN
    FOR plan_id IN
        SELECT DISTINCT pe.plan_id
          FROM programmes_planexercise pe
          JOIN programmes_plan p ON p.id = pe.plan_id
         WHERE pe.exercise_id = NEW.id AND p.status = 'active'
    LOOP
        PERFORM inverto_plan_check(plan_id);
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE FUNCTION inverto_patient_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM inverto_patient_check(NEW.id);
    RETURN NULL;
END;
$$;

-- A screening, override or referral: the patients whose current screening it is.
CREATE FUNCTION inverto_screening_record_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    screenings bigint[];
    patients bigint[];
    patient_id bigint;
BEGIN
    IF TG_TABLE_NAME = 'patients_screening' THEN
        screenings := ARRAY[NEW.id];
        patients := ARRAY[NEW.patient_id, OLD.patient_id];
    ELSIF TG_TABLE_NAME = 'patients_screeningoverride' THEN
        screenings := CASE TG_OP
            WHEN 'INSERT' THEN ARRAY[NEW.screening_id]
            WHEN 'DELETE' THEN ARRAY[OLD.screening_id]
            ELSE ARRAY[NEW.screening_id, OLD.screening_id] END;
    ELSE  -- patients_referral
        patients := CASE TG_OP
            WHEN 'INSERT' THEN ARRAY[NEW.patient_id]
            WHEN 'DELETE' THEN ARRAY[OLD.patient_id]
            ELSE ARRAY[NEW.patient_id, OLD.patient_id] END;
        screenings := CASE TG_OP
            WHEN 'INSERT' THEN ARRAY[NEW.screening_id]
            WHEN 'DELETE' THEN ARRAY[OLD.screening_id]
            ELSE ARRAY[NEW.screening_id, OLD.screening_id] END;
    END IF;
    FOR patient_id IN
        SELECT p.id FROM patients_patient p
         WHERE p.current_screening_id = ANY(screenings) OR p.id = ANY(patients)
    LOOP
        PERFORM inverto_patient_check(patient_id);
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER inverto_plan_guard_insert
    AFTER INSERT ON programmes_plan
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION inverto_plan_guard();
CREATE CONSTRAINT TRIGGER inverto_plan_guard_update
    AFTER UPDATE ON programmes_plan
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.inversion_paused IS DISTINCT FROM NEW.inversion_paused
          OR OLD.current_step_id IS DISTINCT FROM NEW.current_step_id
          OR OLD.patient_id IS DISTINCT FROM NEW.patient_id
          OR OLD.ceiling_deg IS DISTINCT FROM NEW.ceiling_deg
          OR OLD.full_inversion_allowed IS DISTINCT FROM NEW.full_inversion_allowed
          OR OLD.start_date IS DISTINCT FROM NEW.start_date)
    EXECUTE FUNCTION inverto_plan_guard();

CREATE CONSTRAINT TRIGGER inverto_step_guard_insert
    AFTER INSERT ON programmes_planinversionstep
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION inverto_step_guard();
CREATE CONSTRAINT TRIGGER inverto_step_guard_update
    AFTER UPDATE ON programmes_planinversionstep
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.plan_id IS DISTINCT FROM NEW.plan_id
          OR OLD.angle_deg IS DISTINCT FROM NEW.angle_deg
          OR OLD.hold_seconds IS DISTINCT FROM NEW.hold_seconds
          OR OLD.sessions_per_day IS DISTINCT FROM NEW.sessions_per_day
          OR OLD.cycles IS DISTINCT FROM NEW.cycles
          OR OLD.cycle_seconds IS DISTINCT FROM NEW.cycle_seconds)
    EXECUTE FUNCTION inverto_step_guard();

CREATE CONSTRAINT TRIGGER inverto_plan_exercise_guard_insert
    AFTER INSERT ON programmes_planexercise
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION inverto_plan_exercise_guard();
CREATE CONSTRAINT TRIGGER inverto_plan_exercise_guard_update
    AFTER UPDATE ON programmes_planexercise
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.plan_id IS DISTINCT FROM NEW.plan_id
          OR OLD.exercise_id IS DISTINCT FROM NEW.exercise_id)
    EXECUTE FUNCTION inverto_plan_exercise_guard();

CREATE CONSTRAINT TRIGGER inverto_exercise_guard
    AFTER UPDATE ON programmes_exercise
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.category IS DISTINCT FROM NEW.category)
    EXECUTE FUNCTION inverto_exercise_guard();

CREATE CONSTRAINT TRIGGER inverto_patient_guard_insert
    AFTER INSERT ON patients_patient
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.current_screening_id IS NOT NULL OR NEW.red_flag_reported_at IS NOT NULL)
    EXECUTE FUNCTION inverto_patient_guard();
CREATE CONSTRAINT TRIGGER inverto_patient_guard_update
    AFTER UPDATE ON patients_patient
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.current_screening_id IS DISTINCT FROM NEW.current_screening_id
          OR OLD.red_flag_reported_at IS DISTINCT FROM NEW.red_flag_reported_at
          OR OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION inverto_patient_guard();

CREATE CONSTRAINT TRIGGER inverto_screening_guard
    AFTER UPDATE ON patients_screening
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome
          OR OLD.valid_until IS DISTINCT FROM NEW.valid_until
          OR OLD.awaiting_confirmation IS DISTINCT FROM NEW.awaiting_confirmation
          OR OLD.patient_id IS DISTINCT FROM NEW.patient_id)
    EXECUTE FUNCTION inverto_screening_record_guard();

CREATE CONSTRAINT TRIGGER inverto_override_guard
    AFTER INSERT OR UPDATE OR DELETE ON patients_screeningoverride
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION inverto_screening_record_guard();

CREATE CONSTRAINT TRIGGER inverto_referral_guard
    AFTER INSERT OR UPDATE OR DELETE ON patients_referral
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION inverto_screening_record_guard();

-- Refused at once, whatever else the transaction does.

-- A screening is the engine's verdict on one intake: never edited. Only a pending one's
-- confirmation (awaiting_confirmation true to false, confirmed_by, confirmed_at) is written.
CREATE FUNCTION inverto_screening_never_edited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.outcome IS DISTINCT FROM NEW.outcome
       OR OLD.findings IS DISTINCT FROM NEW.findings
       OR OLD.rule_set_version IS DISTINCT FROM NEW.rule_set_version
       OR OLD.screened_on IS DISTINCT FROM NEW.screened_on
       OR OLD.valid_until IS DISTINCT FROM NEW.valid_until
       OR OLD.intake_id IS DISTINCT FROM NEW.intake_id
       OR OLD.patient_id IS DISTINCT FROM NEW.patient_id THEN
        RAISE EXCEPTION 'screening %: a screening is never edited; record a new intake', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.awaiting_confirmation AND NOT OLD.awaiting_confirmation THEN
        RAISE EXCEPTION 'screening %: a confirmed screening can''t await confirmation again',
            OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER inverto_screening_never_edited
    BEFORE UPDATE ON patients_screening
    FOR EACH ROW EXECUTE FUNCTION inverto_screening_never_edited();

-- The first-two-weeks limit counts from the start date: a running plan keeps it.
CREATE FUNCTION inverto_running_plan_start_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'plan %: a running plan''s start date can''t change (% to %)',
        OLD.id, OLD.start_date, NEW.start_date USING ERRCODE = 'check_violation';
END;
$$;
CREATE TRIGGER inverto_running_plan_start_fixed
    BEFORE UPDATE ON programmes_plan
    FOR EACH ROW
    WHEN (OLD.status IN ('active', 'paused') AND OLD.start_date IS DISTINCT FROM NEW.start_date)
    EXECUTE FUNCTION inverto_running_plan_start_fixed();
"""

REVERSE = (
    r"""
DROP TRIGGER IF EXISTS inverto_running_plan_start_fixed ON programmes_plan;
DROP FUNCTION IF EXISTS inverto_running_plan_start_fixed();
DROP TRIGGER IF EXISTS inverto_screening_never_edited ON patients_screening;
DROP FUNCTION IF EXISTS inverto_screening_never_edited();
DROP TRIGGER IF EXISTS inverto_referral_guard ON patients_referral;
DROP TRIGGER IF EXISTS inverto_override_guard ON patients_screeningoverride;
DROP TRIGGER IF EXISTS inverto_screening_guard ON patients_screening;
DROP TRIGGER IF EXISTS inverto_patient_guard_update ON patients_patient;
DROP TRIGGER IF EXISTS inverto_patient_guard_insert ON patients_patient;
DROP TRIGGER IF EXISTS inverto_exercise_guard ON programmes_exercise;
DROP TRIGGER IF EXISTS inverto_plan_exercise_guard_update ON programmes_planexercise;
DROP TRIGGER IF EXISTS inverto_plan_exercise_guard_insert ON programmes_planexercise;
DROP TRIGGER IF EXISTS inverto_step_guard_update ON programmes_planinversionstep;
DROP TRIGGER IF EXISTS inverto_step_guard_insert ON programmes_planinversionstep;
DROP TRIGGER IF EXISTS inverto_plan_guard_update ON programmes_plan;
DROP TRIGGER IF EXISTS inverto_plan_guard_insert ON programmes_plan;
DROP FUNCTION IF EXISTS inverto_screening_record_guard();
DROP FUNCTION IF EXISTS inverto_patient_guard();
DROP FUNCTION IF EXISTS inverto_exercise_guard();
DROP FUNCTION IF EXISTS inverto_plan_exercise_guard();
DROP FUNCTION IF EXISTS inverto_step_guard();
DROP FUNCTION IF EXISTS inverto_plan_guard();
DROP FUNCTION IF EXISTS inverto_patient_check(bigint);
DROP FUNCTION IF EXISTS inverto_plan_check(bigint);
DROP FUNCTION IF EXISTS inverto_inversion_forbidden(bigint);
"""
    + GUARD_0002.GUARD
)


class Migration(migrations.Migration):
    dependencies = [
        ("programmes", "0010_h4_alert_kind_contraindicated"),
        ("patients", "0004_safety_kernel"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="planexercise",
            constraint=models.CheckConstraint(
                condition=models.Q(("sets__lte", 10)), name="plan_exercise_sets_max_10"
            ),
        ),
        migrations.AddConstraint(
            model_name="planexercise",
            constraint=models.CheckConstraint(
                condition=models.Q(("repetitions__lte", 100)),
                name="plan_exercise_repetitions_max_100",
            ),
        ),
        migrations.AddConstraint(
            model_name="planexercise",
            constraint=models.CheckConstraint(
                condition=models.Q(("hold_seconds__lte", 600)), name="plan_exercise_hold_max_10_min"
            ),
        ),
        migrations.AddConstraint(
            model_name="planexercise",
            constraint=models.CheckConstraint(
                condition=models.Q(("times_per_day__gte", 1), ("times_per_day__lte", 6)),
                name="plan_exercise_times_per_day_1_6",
            ),
        ),
        migrations.AddConstraint(
            model_name="planinversionstep",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("cycle_seconds__isnull", True), ("cycles__isnull", True)),
                    models.Q(
                        ("cycle_seconds__gte", 20),
                        ("cycle_seconds__isnull", False),
                        ("cycle_seconds__lte", 30),
                        ("cycles__gte", 1),
                        ("cycles__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="plan_step_intermittent_cycles_20_30",
            ),
        ),
        migrations.AddConstraint(
            model_name="planinversionstep",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("cycles__isnull", True),
                    django.db.models.lookups.LessThanOrEqual(
                        django.db.models.expressions.CombinedExpression(
                            django.db.models.functions.comparison.Cast(
                                "cycles", models.IntegerField()
                            ),
                            "*",
                            models.F("cycle_seconds"),
                        ),
                        600,
                    ),
                    _connector="OR",
                ),
                name="plan_step_session_max_10_min",
            ),
        ),
        migrations.AddConstraint(
            model_name="templateexercise",
            constraint=models.CheckConstraint(
                condition=models.Q(("sets__lte", 10)), name="template_exercise_sets_max_10"
            ),
        ),
        migrations.AddConstraint(
            model_name="templateexercise",
            constraint=models.CheckConstraint(
                condition=models.Q(("repetitions__lte", 100)),
                name="template_exercise_repetitions_max_100",
            ),
        ),
        migrations.AddConstraint(
            model_name="templateexercise",
            constraint=models.CheckConstraint(
                condition=models.Q(("hold_seconds__lte", 600)),
                name="template_exercise_hold_max_10_min",
            ),
        ),
        migrations.AddConstraint(
            model_name="templateexercise",
            constraint=models.CheckConstraint(
                condition=models.Q(("times_per_day__gte", 1), ("times_per_day__lte", 6)),
                name="template_exercise_times_per_day_1_6",
            ),
        ),
        migrations.AddConstraint(
            model_name="templateinversionstep",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("cycle_seconds__isnull", True), ("cycles__isnull", True)),
                    models.Q(
                        ("cycle_seconds__gte", 20),
                        ("cycle_seconds__isnull", False),
                        ("cycle_seconds__lte", 30),
                        ("cycles__gte", 1),
                        ("cycles__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="template_step_intermittent_cycles_20_30",
            ),
        ),
        migrations.AddConstraint(
            model_name="templateinversionstep",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("cycles__isnull", True),
                    django.db.models.lookups.LessThanOrEqual(
                        django.db.models.expressions.CombinedExpression(
                            django.db.models.functions.comparison.Cast(
                                "cycles", models.IntegerField()
                            ),
                            "*",
                            models.F("cycle_seconds"),
                        ),
                        600,
                    ),
                    _connector="OR",
                ),
                name="template_step_session_max_10_min",
            ),
        ),
        migrations.AddConstraint(
            model_name="templateinversionstep",
            constraint=models.CheckConstraint(
                condition=models.Q(("angle_deg__lte", 60)), name="template_step_angle_max_60"
            ),
        ),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
