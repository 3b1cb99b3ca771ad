from django.db import migrations

# The last line of defence: whatever path writes a plan (service, admin, API,
# fixture load, raw SQL), PostgreSQL refuses an active plan with a current
# inversion step unless the patient's current screening allows inversion, and
# refuses a current step that is not the plan's own or lies above its ceiling.
GUARD = """
CREATE FUNCTION programmes_plan_inversion_guard() RETURNS trigger AS $$
DECLARE
    screening record;
    step record;
BEGIN
    IF NEW.current_step_id IS NOT NULL THEN
        SELECT s.plan_id, s.angle_deg INTO step
          FROM programmes_planinversionstep s WHERE s.id = NEW.current_step_id;
        IF step.plan_id IS DISTINCT FROM NEW.id THEN
            RAISE EXCEPTION 'plan %: the current step belongs to another plan', NEW.id
                USING ERRCODE = 'check_violation';
        END IF;
        IF step.angle_deg > NEW.ceiling_deg THEN
            RAISE EXCEPTION 'plan %: step angle % is above the plan ceiling %',
                NEW.id, step.angle_deg, NEW.ceiling_deg USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF NEW.status = 'active' AND NEW.current_step_id IS NOT NULL AND NOT NEW.inversion_paused THEN
        SELECT sc.outcome,
               sc.valid_until,
               (o.id IS NOT NULL AND o.expires_on >= CURRENT_DATE) AS overridden
          INTO screening
          FROM patients_patient p
          LEFT JOIN patients_screening sc ON sc.id = p.current_screening_id
          LEFT JOIN patients_screeningoverride o ON o.screening_id = sc.id
         WHERE p.id = NEW.patient_id;
        IF screening.outcome IS NULL
           OR screening.valid_until < CURRENT_DATE
           OR NOT (screening.outcome = 'cleared'
                   OR (screening.outcome = 'review_required' AND screening.overridden)) THEN
            RAISE EXCEPTION 'inversion refused for patient %: screening is %',
                NEW.patient_id, COALESCE(screening.outcome, 'missing')
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER programmes_plan_inversion_guard
    BEFORE INSERT OR UPDATE ON programmes_plan
    FOR EACH ROW EXECUTE FUNCTION programmes_plan_inversion_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS programmes_plan_inversion_guard ON programmes_plan;
DROP FUNCTION IF EXISTS programmes_plan_inversion_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("programmes", "0001_initial"), ("patients", "0002_override_composite_fk")]
    operations = [migrations.RunSQL(GUARD, REVERSE)]
