from django.db import migrations

# Every clinic's limits in force have a version row; from here on PostgreSQL keeps it so:
# a new clinic gets its first version row, and a change of limits must bump the version
# and insert the matching row in the same transaction (checked at commit), or it is
# refused. Version rows are never rewritten.
FORWARD = """
INSERT INTO clinic_tablelimitsversion
    (clinic_id, version, max_weight_kg, max_height_cm, reason, changed_by_id, changed_at)
SELECT c.id, c.table_limits_version, c.table_max_weight_kg, c.table_max_height_cm,
       'Limits in force when versioning began', NULL, now()
  FROM clinic_clinic c
 WHERE NOT EXISTS (SELECT 1 FROM clinic_tablelimitsversion v
                    WHERE v.clinic_id = c.id AND v.version = c.table_limits_version);

CREATE FUNCTION clinic_table_limits_first_version() RETURNS trigger AS $$
BEGIN
    INSERT INTO clinic_tablelimitsversion
        (clinic_id, version, max_weight_kg, max_height_cm, reason, changed_by_id, changed_at)
    VALUES (NEW.id, NEW.table_limits_version, NEW.table_max_weight_kg,
            NEW.table_max_height_cm, 'Limits when the clinic was created', NULL, now());
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clinic_table_limits_first_version
    AFTER INSERT ON clinic_clinic
    FOR EACH ROW EXECUTE FUNCTION clinic_table_limits_first_version();

CREATE FUNCTION clinic_table_limits_versioned() RETURNS trigger AS $$
BEGIN
    IF NEW.table_limits_version <= OLD.table_limits_version THEN
        RAISE EXCEPTION 'clinic %: table limits changed without a new version', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM clinic_tablelimitsversion v
         WHERE v.clinic_id = NEW.id AND v.version = NEW.table_limits_version
           AND v.max_weight_kg = NEW.table_max_weight_kg
           AND v.max_height_cm = NEW.table_max_height_cm
    ) THEN
        RAISE EXCEPTION 'clinic %: table limits version % has no matching version row',
            NEW.id, NEW.table_limits_version
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER clinic_table_limits_versioned
    AFTER UPDATE OF table_max_weight_kg, table_max_height_cm, table_limits_version
    ON clinic_clinic
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.table_max_weight_kg IS DISTINCT FROM NEW.table_max_weight_kg
          OR OLD.table_max_height_cm IS DISTINCT FROM NEW.table_max_height_cm
          OR OLD.table_limits_version IS DISTINCT FROM NEW.table_limits_version)
    EXECUTE FUNCTION clinic_table_limits_versioned();

CREATE FUNCTION clinic_tablelimitsversion_no_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table limits versions are never rewritten'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clinic_tablelimitsversion_no_update
    BEFORE UPDATE ON clinic_tablelimitsversion
    FOR EACH ROW EXECUTE FUNCTION clinic_tablelimitsversion_no_update();
"""

REVERSE = """
DROP TRIGGER IF EXISTS clinic_tablelimitsversion_no_update ON clinic_tablelimitsversion;
DROP FUNCTION IF EXISTS clinic_tablelimitsversion_no_update();
DROP TRIGGER IF EXISTS clinic_table_limits_versioned ON clinic_clinic;
DROP FUNCTION IF EXISTS clinic_table_limits_versioned();
DROP TRIGGER IF EXISTS clinic_table_limits_first_version ON clinic_clinic;
DROP FUNCTION IF EXISTS clinic_table_limits_first_version();
"""


class Migration(migrations.Migration):
    dependencies = [("clinic", "0003_table_limits_emergency_number")]
    operations = [migrations.RunSQL(FORWARD, REVERSE)]
