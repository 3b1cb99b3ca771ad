"""PostgreSQL holds the whole prescription to CLINICAL.md section 3, not only the current
step (issue 11, second review).

- Every step of a plan, whatever its status, keeps the caps: a first step within the start
  ranges (15-30 degrees, 1-2 minutes, once a day), each later step at most +10 degrees and
  +1 minute inverted a session over the one before, at most 10 minutes a session and two
  sessions a day, intermittent cycles of 20-30 s.
- An exercise of the inversion category is inversion: its hold (the exercise's default when
  the plan leaves it blank) is required, stays within a first step's range (it never
  progresses: the steps do), and its time on the table counts with the current step's
  towards two sessions a day and the first-two-weeks five minutes a day.

- A stop symptom reported at a check-in and not yet reviewed (patients 0006) forbids
  inversion on every plan of the patient, as a check-in red flag does.

Mirrors `programmes.domain.progression.step_violations` and
`programmes.domain.permission.InversionLimits.prescription_violations`.
"""

import importlib
import re

from django.db import migrations

GUARD_0011 = importlib.import_module("programmes.migrations.0011_safety_guard")


def _block_0011(start: str) -> str:
    """One statement of migration 0011, as it was (for the reverse)."""
    end = r"\$\$;\n" if "FUNCTION" in start else r";\n"
    return re.search(re.escape(start) + ".*?" + end, GUARD_0011.FORWARD, re.S).group(0)


FORWARD = r"""
CREATE OR REPLACE FUNCTION inverto_inversion_forbidden(p_patient bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r record;
    today date;
BEGIN
    SELECT p.time_zone, p.red_flag_reported_at, p.stop_symptom_reported_at,
           p.current_screening_id,
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
    IF r.stop_symptom_reported_at IS NOT NULL THEN
        RETURN 'a stop symptom reported at a check-in awaits a clinician''s review';
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

DROP TRIGGER IF EXISTS inverto_patient_guard_update ON patients_patient;
CREATE CONSTRAINT TRIGGER inverto_patient_guard_update
    AFTER UPDATE ON patients_patient
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.current_screening_id IS DISTINCT FROM NEW.current_screening_id
          OR OLD.red_flag_reported_at IS DISTINCT FROM NEW.red_flag_reported_at
          OR OLD.stop_symptom_reported_at IS DISTINCT FROM NEW.stop_symptom_reported_at
          OR OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION inverto_patient_guard();

CREATE OR REPLACE FUNCTION inverto_plan_check(p_plan bigint) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    plan record;
    step record;
    s record;
    prev record;
    dose record;
    has_step boolean := false;
    reason text;
    today date;
    ceiling integer;
    per_session integer;
    prev_session integer;
    sessions integer;
    daily integer;
    day_limit integer;
    doses integer;
    inverting boolean;
BEGIN
    SELECT * INTO plan FROM programmes_plan WHERE id = p_plan;
    IF NOT FOUND THEN
        RETURN;  -- deleted later in the same transaction
    END IF;
    ceiling := LEAST(plan.ceiling_deg, CASE WHEN plan.full_inversion_allowed THEN 90 ELSE 60 END);
    -- Every step, in order: the caps, the start ranges, the size of a step.
    prev := NULL;
    FOR s IN
        SELECT st.*, CASE WHEN st.cycles IS NOT NULL
                          THEN st.cycles::integer * st.cycle_seconds
                          ELSE st.hold_seconds END AS per_session
          FROM programmes_planinversionstep st
         WHERE st.plan_id = plan.id ORDER BY st."order"
    LOOP
        IF s.angle_deg > 60 AND NOT plan.full_inversion_allowed THEN
            RAISE EXCEPTION 'plan %: step % at % degrees is above 60 and the plan does not '
                'allow full inversion', plan.id, s."order" + 1, s.angle_deg
                USING ERRCODE = 'check_violation';
        END IF;
        IF s.angle_deg > ceiling THEN
            RAISE EXCEPTION 'plan %: step % at % degrees is above the plan ceiling %',
                plan.id, s."order" + 1, s.angle_deg, ceiling USING ERRCODE = 'check_violation';
        END IF;
        IF s.per_session > 600 OR s.sessions_per_day > 2 THEN
            RAISE EXCEPTION 'plan %: step %: a session of % s inverted, % a day, is above the '
                'caps (600 s, 2 a day)', plan.id, s."order" + 1, s.per_session,
                s.sessions_per_day USING ERRCODE = 'check_violation';
        END IF;
        IF prev IS NULL THEN
            IF s.angle_deg NOT BETWEEN 15 AND 30
               OR s.per_session NOT BETWEEN 60 AND 120
               OR s.sessions_per_day > 1 THEN
                RAISE EXCEPTION 'plan %: the first step (% degrees, % s, % a day) is outside '
                    'the start ranges (15-30 degrees, 1-2 minutes, once a day)', plan.id,
                    s.angle_deg, s.per_session, s.sessions_per_day
                    USING ERRCODE = 'check_violation';
            END IF;
        ELSE
            IF s.angle_deg - prev.angle_deg > 10 OR s.per_session - prev.per_session > 60 THEN
                RAISE EXCEPTION 'plan %: step % rises by % degrees and % s inverted a session; '
                    'one step is at most +10 degrees and +60 s', plan.id, s."order" + 1,
                    s.angle_deg - prev.angle_deg, s.per_session - prev.per_session
                    USING ERRCODE = 'check_violation';
            END IF;
        END IF;
        prev := s;
    END LOOP;
    IF plan.current_step_id IS NOT NULL THEN
        SELECT st.* INTO step FROM programmes_planinversionstep st
         WHERE st.id = plan.current_step_id;
        has_step := FOUND;  -- a missing step is the foreign key's to refuse
    END IF;
    IF has_step THEN  -- nested: an unassigned record can't be read, even behind AND
        IF step.plan_id <> plan.id THEN
            RAISE EXCEPTION 'plan %: the current step belongs to another plan', plan.id
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    SELECT count(*), COALESCE(sum(pe.times_per_day), 0),
           COALESCE(sum(COALESCE(pe.hold_seconds, e.default_hold_seconds, 0)
                        * GREATEST(pe.sets, 1) * GREATEST(COALESCE(pe.repetitions, 1), 1)
                        * pe.times_per_day), 0)
      INTO doses, sessions, daily
      FROM programmes_planexercise pe
      JOIN programmes_exercise e ON e.id = pe.exercise_id
     WHERE pe.plan_id = plan.id AND e.category = 'inversion';
    inverting := plan.status = 'active' AND NOT plan.inversion_paused
                 AND (has_step OR doses > 0);
    -- First whether this patient may invert at all, then how much.
    IF inverting THEN
        reason := inverto_inversion_forbidden(plan.patient_id);
        IF reason IS NOT NULL THEN
            RAISE EXCEPTION 'inversion refused for patient % (plan %): %',
                plan.patient_id, plan.id, reason USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    -- Inversion exercises, whatever the plan's status: a fixed dose within a first step's
    -- range.
    FOR dose IN
        SELECT e.name, COALESCE(pe.hold_seconds, e.default_hold_seconds) AS hold,
               GREATEST(pe.sets, 1) * GREATEST(COALESCE(pe.repetitions, 1), 1) AS sets,
               pe.times_per_day
          FROM programmes_planexercise pe
          JOIN programmes_exercise e ON e.id = pe.exercise_id
         WHERE pe.plan_id = plan.id AND e.category = 'inversion'
    LOOP
        IF dose.hold IS NULL THEN
            RAISE EXCEPTION 'plan %: inversion exercise % has no hold time', plan.id, dose.name
                USING ERRCODE = 'check_violation';
        END IF;
        IF dose.hold * dose.sets > 120 OR dose.times_per_day > 1 THEN
            RAISE EXCEPTION 'plan %: inversion exercise % (% s a session, % a day) is above '
                'a first step''s range (120 s, once a day)', plan.id, dose.name,
                dose.hold * dose.sets, dose.times_per_day USING ERRCODE = 'check_violation';
        END IF;
    END LOOP;
    IF NOT inverting THEN
        RETURN;
    END IF;
    IF has_step THEN
        per_session := CASE WHEN step.cycles IS NOT NULL
                            THEN step.cycles::integer * step.cycle_seconds
                            ELSE step.hold_seconds END;
        sessions := sessions + step.sessions_per_day;
        daily := daily + per_session * step.sessions_per_day;
    END IF;
    SELECT (now() AT TIME ZONE p.time_zone)::date INTO today
      FROM patients_patient p WHERE p.id = plan.patient_id;
    day_limit := CASE WHEN today - plan.start_date < 14 THEN 300 ELSE 1200 END;
    IF sessions > 2 THEN
        RAISE EXCEPTION 'plan %: % inversion sessions a day (steps and inversion exercises); '
            'the most is 2', plan.id, sessions USING ERRCODE = 'check_violation';
    END IF;
    IF daily > day_limit THEN
        RAISE EXCEPTION 'plan %: % s inverted a day is above today''s limit of % s (day % of '
            'the plan)', plan.id, daily, day_limit, today - plan.start_date
            USING ERRCODE = 'check_violation';
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION inverto_exercise_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    plan_id bigint;
BEGIN
    FOR plan_id IN
        SELECT DISTINCT pe.plan_id
          FROM programmes_planexercise pe
          JOIN programmes_plan p ON p.id = pe.plan_id
         WHERE pe.exercise_id = NEW.id AND p.status IN ('draft', 'active', 'paused')
    LOOP
        PERFORM inverto_plan_check(plan_id);
    END LOOP;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS inverto_plan_exercise_guard_update ON programmes_planexercise;
CREATE CONSTRAINT TRIGGER inverto_plan_exercise_guard_update
    AFTER UPDATE ON programmes_planexercise
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.plan_id IS DISTINCT FROM NEW.plan_id
          OR OLD.exercise_id IS DISTINCT FROM NEW.exercise_id
          OR OLD.hold_seconds IS DISTINCT FROM NEW.hold_seconds
          OR OLD.sets IS DISTINCT FROM NEW.sets
          OR OLD.repetitions IS DISTINCT FROM NEW.repetitions
          OR OLD.times_per_day IS DISTINCT FROM NEW.times_per_day)
    EXECUTE FUNCTION inverto_plan_exercise_guard();

DROP TRIGGER IF EXISTS inverto_exercise_guard ON programmes_exercise;
CREATE CONSTRAINT TRIGGER inverto_exercise_guard
    AFTER UPDATE ON programmes_exercise
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.category IS DISTINCT FROM NEW.category
          OR OLD.default_hold_seconds IS DISTINCT FROM NEW.default_hold_seconds)
    EXECUTE FUNCTION inverto_exercise_guard();
"""

REVERSE = (
    _block_0011("CREATE FUNCTION inverto_inversion_forbidden").replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
    )
    + "DROP TRIGGER IF EXISTS inverto_patient_guard_update ON patients_patient;\n"
    + _block_0011("CREATE CONSTRAINT TRIGGER inverto_patient_guard_update")
    +     _block_0011("CREATE FUNCTION inverto_plan_check").replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
    )
    + _block_0011("CREATE FUNCTION inverto_exercise_guard").replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
    )
    + "DROP TRIGGER IF EXISTS inverto_plan_exercise_guard_update ON programmes_planexercise;\n"
    + _block_0011("CREATE CONSTRAINT TRIGGER inverto_plan_exercise_guard_update")
    + "DROP TRIGGER IF EXISTS inverto_exercise_guard ON programmes_exercise;\n"
    + _block_0011("CREATE CONSTRAINT TRIGGER inverto_exercise_guard\n")
)


class Migration(migrations.Migration):
    dependencies = [
        ("programmes", "0012_alert_emailed_to"),
        ("patients", "0006_stop_symptom_pending"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
