"""PostgreSQL keeps every row in its clinic (issue 12), whatever path wrote it.

Composite foreign keys carry the clinic from a row to its patient and from a patient's
row to its plan, so no plan, check-in, alert, questionnaire or reminder can name one
clinic and another clinic's patient (or one patient and another patient's plan), and a
patient's portal account is a member of the patient's clinic. Their targets are unique
pairs added here: (membership.user_id, clinic_id), (patient.id, clinic_id) and
(plan.id, patient_id) (redundant with the primary keys, so not declared on the models).

Check triggers hold what a key can't:
- a patient's responsible clinician, and a plan's clinician, is a clinician (or clinic
  administrator) of that clinic when named;
- a clinician's membership is not moved, demoted or removed while they are responsible
  for patients, or run a plan not yet finished, in that clinic;
- a plan's template, a plan's exercises and a template's exercises are the shipped
  library's or the same clinic's, and a library row used elsewhere keeps its clinic.

The clinician triggers run at the statement, so a service can answer a refusal; the keys
are deferred to COMMIT like Django's own, so a service may write rows in any order.
"""

from django.db import migrations

FORWARD = r"""
ALTER TABLE clinic_membership
    ADD CONSTRAINT membership_user_clinic_unique UNIQUE (user_id, clinic_id);
ALTER TABLE patients_patient
    ADD CONSTRAINT patient_id_clinic_unique UNIQUE (id, clinic_id);
ALTER TABLE programmes_plan
    ADD CONSTRAINT plan_id_patient_unique UNIQUE (id, patient_id);

ALTER TABLE patients_patient
    ADD CONSTRAINT patient_account_of_clinic FOREIGN KEY (user_id, clinic_id)
    REFERENCES clinic_membership (user_id, clinic_id);

ALTER TABLE programmes_plan
    ADD CONSTRAINT plan_patient_of_clinic FOREIGN KEY (patient_id, clinic_id)
    REFERENCES patients_patient (id, clinic_id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE programmes_checkin
    ADD CONSTRAINT checkin_patient_of_clinic FOREIGN KEY (patient_id, clinic_id)
    REFERENCES patients_patient (id, clinic_id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT checkin_plan_of_patient FOREIGN KEY (plan_id, patient_id)
    REFERENCES programmes_plan (id, patient_id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE programmes_clinicianalert
    ADD CONSTRAINT alert_patient_of_clinic FOREIGN KEY (patient_id, clinic_id)
    REFERENCES patients_patient (id, clinic_id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT alert_plan_of_patient FOREIGN KEY (plan_id, patient_id)
    REFERENCES programmes_plan (id, patient_id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE programmes_questionnaireresponse
    ADD CONSTRAINT questionnaire_patient_of_clinic FOREIGN KEY (patient_id, clinic_id)
    REFERENCES patients_patient (id, clinic_id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT questionnaire_plan_of_patient FOREIGN KEY (plan_id, patient_id)
    REFERENCES programmes_plan (id, patient_id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE programmes_reminderdelivery
    ADD CONSTRAINT reminder_patient_of_clinic FOREIGN KEY (patient_id, clinic_id)
    REFERENCES patients_patient (id, clinic_id) DEFERRABLE INITIALLY DEFERRED;

-- Is this user a clinician (or clinic administrator) of this clinic?
CREATE FUNCTION inverto_is_clinician_of(p_user bigint, p_clinic bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM clinic_membership m
         WHERE m.user_id = p_user AND m.clinic_id = p_clinic
           AND m.role IN ('clinician', 'clinic_admin')
    );
$$;

CREATE FUNCTION inverto_clinician_of_clinic() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT inverto_is_clinician_of(NEW.clinician_id, NEW.clinic_id) THEN
        RAISE EXCEPTION '%: user % is not a clinician of clinic %',
            TG_TABLE_NAME, NEW.clinician_id, NEW.clinic_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER inverto_patient_clinician_insert
    BEFORE INSERT ON patients_patient
    FOR EACH ROW EXECUTE FUNCTION inverto_clinician_of_clinic();
CREATE TRIGGER inverto_patient_clinician_update
    BEFORE UPDATE ON patients_patient
    FOR EACH ROW
    WHEN (OLD.clinician_id IS DISTINCT FROM NEW.clinician_id
          OR OLD.clinic_id IS DISTINCT FROM NEW.clinic_id)
    EXECUTE FUNCTION inverto_clinician_of_clinic();
CREATE TRIGGER inverto_plan_clinician_insert
    BEFORE INSERT ON programmes_plan
    FOR EACH ROW EXECUTE FUNCTION inverto_clinician_of_clinic();
CREATE TRIGGER inverto_plan_clinician_update
    BEFORE UPDATE ON programmes_plan
    FOR EACH ROW
    WHEN (OLD.clinician_id IS DISTINCT FROM NEW.clinician_id
          OR OLD.clinic_id IS DISTINCT FROM NEW.clinic_id)
    EXECUTE FUNCTION inverto_clinician_of_clinic();

-- A clinician stays one of their clinic while patients or unfinished plans name them.
CREATE FUNCTION inverto_membership_keeps_patients() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    patients integer;
    plans integer;
BEGIN
    IF OLD.role NOT IN ('clinician', 'clinic_admin') THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.clinic_id = OLD.clinic_id
       AND NEW.role IN ('clinician', 'clinic_admin') THEN
        RETURN NEW;
    END IF;
    SELECT count(*) INTO patients FROM patients_patient
     WHERE clinician_id = OLD.user_id AND clinic_id = OLD.clinic_id;
    SELECT count(*) INTO plans FROM programmes_plan
     WHERE clinician_id = OLD.user_id AND clinic_id = OLD.clinic_id
       AND status IN ('draft', 'active', 'paused');
    IF patients > 0 OR plans > 0 THEN
        RAISE EXCEPTION 'membership %: user % is the clinician of % patient(s) and % unfinished '
            'plan(s) of clinic %: reassign them first', OLD.id, OLD.user_id, patients, plans,
            OLD.clinic_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN COALESCE(NEW, OLD);
END;
$$;
CREATE TRIGGER inverto_membership_keeps_patients
    BEFORE UPDATE OR DELETE ON clinic_membership
    FOR EACH ROW EXECUTE FUNCTION inverto_membership_keeps_patients();

-- The library a row uses: the shipped one (no clinic) or its own clinic's.
CREATE FUNCTION inverto_library_of_clinic() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner bigint;
    used bigint;
BEGIN
    IF TG_TABLE_NAME = 'programmes_plan' THEN
        IF NEW.template_id IS NULL THEN
            RETURN NEW;
        END IF;
        owner := NEW.clinic_id;
        SELECT clinic_id INTO used FROM programmes_programmetemplate WHERE id = NEW.template_id;
    ELSIF TG_TABLE_NAME = 'programmes_planexercise' THEN
        SELECT clinic_id INTO owner FROM programmes_plan WHERE id = NEW.plan_id;
        SELECT clinic_id INTO used FROM programmes_exercise WHERE id = NEW.exercise_id;
    ELSE  -- programmes_templateexercise
        SELECT clinic_id INTO owner FROM programmes_programmetemplate WHERE id = NEW.template_id;
        SELECT clinic_id INTO used FROM programmes_exercise WHERE id = NEW.exercise_id;
    END IF;
    IF used IS NOT NULL AND used IS DISTINCT FROM owner THEN
        RAISE EXCEPTION '%: the library row of clinic % can''t be used by clinic %',
            TG_TABLE_NAME, used, COALESCE(owner::text, 'none (the shipped library)')
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER inverto_plan_template_of_clinic
    BEFORE INSERT OR UPDATE OF template_id, clinic_id ON programmes_plan
    FOR EACH ROW EXECUTE FUNCTION inverto_library_of_clinic();
CREATE TRIGGER inverto_plan_exercise_of_clinic
    BEFORE INSERT OR UPDATE OF exercise_id, plan_id ON programmes_planexercise
    FOR EACH ROW EXECUTE FUNCTION inverto_library_of_clinic();
CREATE TRIGGER inverto_template_exercise_of_clinic
    BEFORE INSERT OR UPDATE OF exercise_id, template_id ON programmes_templateexercise
    FOR EACH ROW EXECUTE FUNCTION inverto_library_of_clinic();

-- A library row in use keeps its clinic: moving it would lend it to another clinic.
CREATE FUNCTION inverto_library_clinic_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'programmes_exercise' AND (
        EXISTS (SELECT 1 FROM programmes_planexercise WHERE exercise_id = OLD.id)
        OR EXISTS (SELECT 1 FROM programmes_templateexercise WHERE exercise_id = OLD.id))
    OR TG_TABLE_NAME = 'programmes_programmetemplate' AND (
        EXISTS (SELECT 1 FROM programmes_plan WHERE template_id = OLD.id)
        OR EXISTS (SELECT 1 FROM programmes_templateexercise WHERE template_id = OLD.id))
    THEN
        RAISE EXCEPTION '%: row % is in use and keeps its clinic', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER inverto_exercise_clinic_fixed
    BEFORE UPDATE ON programmes_exercise
    FOR EACH ROW WHEN (OLD.clinic_id IS DISTINCT FROM NEW.clinic_id)
    EXECUTE FUNCTION inverto_library_clinic_fixed();
CREATE TRIGGER inverto_template_clinic_fixed
    BEFORE UPDATE ON programmes_programmetemplate
    FOR EACH ROW WHEN (OLD.clinic_id IS DISTINCT FROM NEW.clinic_id)
    EXECUTE FUNCTION inverto_library_clinic_fixed();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS inverto_template_clinic_fixed ON programmes_programmetemplate;
DROP TRIGGER IF EXISTS inverto_exercise_clinic_fixed ON programmes_exercise;
DROP FUNCTION IF EXISTS inverto_library_clinic_fixed();
DROP TRIGGER IF EXISTS inverto_template_exercise_of_clinic ON programmes_templateexercise;
DROP TRIGGER IF EXISTS inverto_plan_exercise_of_clinic ON programmes_planexercise;
DROP TRIGGER IF EXISTS inverto_plan_template_of_clinic ON programmes_plan;
DROP FUNCTION IF EXISTS inverto_library_of_clinic();
DROP TRIGGER IF EXISTS inverto_membership_keeps_patients ON clinic_membership;
DROP FUNCTION IF EXISTS inverto_membership_keeps_patients();
DROP TRIGGER IF EXISTS inverto_plan_clinician_update ON programmes_plan;
DROP TRIGGER IF EXISTS inverto_plan_clinician_insert ON programmes_plan;
DROP TRIGGER IF EXISTS inverto_patient_clinician_update ON patients_patient;
DROP TRIGGER IF EXISTS inverto_patient_clinician_insert ON patients_patient;
DROP FUNCTION IF EXISTS inverto_clinician_of_clinic();
DROP FUNCTION IF EXISTS inverto_is_clinician_of(bigint, bigint);
ALTER TABLE programmes_reminderdelivery DROP CONSTRAINT IF EXISTS reminder_patient_of_clinic;
ALTER TABLE programmes_questionnaireresponse
    DROP CONSTRAINT IF EXISTS questionnaire_plan_of_patient,
    DROP CONSTRAINT IF EXISTS questionnaire_patient_of_clinic;
ALTER TABLE programmes_clinicianalert
    DROP CONSTRAINT IF EXISTS alert_plan_of_patient,
    DROP CONSTRAINT IF EXISTS alert_patient_of_clinic;
ALTER TABLE programmes_checkin
    DROP CONSTRAINT IF EXISTS checkin_plan_of_patient,
    DROP CONSTRAINT IF EXISTS checkin_patient_of_clinic;
ALTER TABLE programmes_plan DROP CONSTRAINT IF EXISTS plan_patient_of_clinic;
ALTER TABLE patients_patient DROP CONSTRAINT IF EXISTS patient_account_of_clinic;
ALTER TABLE programmes_plan DROP CONSTRAINT IF EXISTS plan_id_patient_unique;
ALTER TABLE patients_patient DROP CONSTRAINT IF EXISTS patient_id_clinic_unique;
ALTER TABLE clinic_membership DROP CONSTRAINT IF EXISTS membership_user_clinic_unique;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("programmes", "0013_inversion_dose_guard"),
        ("patients", "0006_stop_symptom_pending"),
        ("clinic", "0006_audit_patient_ids"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
