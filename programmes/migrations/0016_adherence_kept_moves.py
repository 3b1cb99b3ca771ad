"""The kept adherence follows rows that move (issue 14, found in review).

- An edited plan event (its kind or its plan changed) rebuilds the days of the plan it
  left as well as the one it names now: the update trigger reads the old rows too.
- A day credit takes the patient and clinic of the check-ins last added to it, so a
  plan's check-ins moved to another patient (with the plan) are counted under them.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION programmes_plandays_from_event_updates() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM programmes_adherence_rebuild(ARRAY(
        SELECT plan_id FROM events_before WHERE kind IN ('paused', 'resumed', 'ended', 'completed')
         UNION
        SELECT plan_id FROM changed_events WHERE kind IN ('paused', 'resumed', 'ended', 'completed')));
    RETURN NULL;
END $$;
DROP TRIGGER planevent_plandays_update ON programmes_planevent;
CREATE TRIGGER planevent_plandays_update AFTER UPDATE ON programmes_planevent
    REFERENCING OLD TABLE AS events_before NEW TABLE AS changed_events FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_plandays_from_event_updates();

CREATE OR REPLACE FUNCTION programmes_daycredit_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO programmes_daycredit AS d
           (plan_id, day, patient_id, clinic_id, checkins, credit, completed)
    SELECT n.plan_id, n.local_date, n.patient_id, n.clinic_id, count(*),
           sum(programmes_checkin_credit(n.completion)),
           CASE WHEN bool_and(COALESCE(n.local_date <@ pd.days, false))
                THEN LEAST(1.0, sum(programmes_checkin_credit(n.completion))) ELSE 0 END
      FROM added n LEFT JOIN programmes_plandays pd ON pd.plan_id = n.plan_id
     GROUP BY n.plan_id, n.local_date, n.patient_id, n.clinic_id
        ON CONFLICT (plan_id, day) DO UPDATE
       SET checkins = d.checkins + EXCLUDED.checkins, credit = d.credit + EXCLUDED.credit,
           patient_id = EXCLUDED.patient_id, clinic_id = EXCLUDED.clinic_id,
           completed = CASE WHEN EXISTS (SELECT 1 FROM programmes_plandays pd
                                          WHERE pd.plan_id = d.plan_id AND d.day <@ pd.days)
                            THEN LEAST(1.0, d.credit + EXCLUDED.credit) ELSE 0 END;
    RETURN NULL;
END $$;
"""

BACKWARD = r"""
CREATE OR REPLACE FUNCTION programmes_daycredit_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO programmes_daycredit AS d
           (plan_id, day, patient_id, clinic_id, checkins, credit, completed)
    SELECT n.plan_id, n.local_date, n.patient_id, n.clinic_id, count(*),
           sum(programmes_checkin_credit(n.completion)),
           CASE WHEN bool_and(COALESCE(n.local_date <@ pd.days, false))
                THEN LEAST(1.0, sum(programmes_checkin_credit(n.completion))) ELSE 0 END
      FROM added n LEFT JOIN programmes_plandays pd ON pd.plan_id = n.plan_id
     GROUP BY n.plan_id, n.local_date, n.patient_id, n.clinic_id
        ON CONFLICT (plan_id, day) DO UPDATE
       SET checkins = d.checkins + EXCLUDED.checkins, credit = d.credit + EXCLUDED.credit,
           completed = CASE WHEN EXISTS (SELECT 1 FROM programmes_plandays pd
                                          WHERE pd.plan_id = d.plan_id AND d.day <@ pd.days)
                            THEN LEAST(1.0, d.credit + EXCLUDED.credit) ELSE 0 END;
    RETURN NULL;
END $$;
DROP TRIGGER planevent_plandays_update ON programmes_planevent;
CREATE TRIGGER planevent_plandays_update AFTER UPDATE ON programmes_planevent
    REFERENCING NEW TABLE AS changed_events FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_plandays_from_events();
DROP FUNCTION programmes_plandays_from_event_updates();
"""


class Migration(migrations.Migration):
    dependencies = [("programmes", "0015_adherence_kept")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
