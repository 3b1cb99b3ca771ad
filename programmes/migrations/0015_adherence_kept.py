"""Adherence kept as it happens (issue 14), by PostgreSQL, in the writing transaction.

`programmes_plandays` holds each plan's prescribed local days as a datemultirange (from
start to end, less the spans a clinician had it paused, in the patient's zone);
`programmes_daycredit` holds, per plan and local day, how many check-ins there were, the
credit they earned before the cap of one, and what the day adds to adherence (`completed`:
the credit capped at one on a prescribed day, else nothing). Triggers keep both whatever path writes:
check-ins add and take away their own credit (so concurrent ones can't overwrite each
other); a plan's row, its pause/resume/end events and its patient's time zone rebuild its
days from the source rows. `programmes_adherence_days` is the one SQL statement of which
days a plan prescribes; `adherence_reconcile` compares the tables with a recomputation.
"""

import django.db.models.deletion
import programmes.adherence_models
from django.db import migrations, models


FORWARD = r"""
ALTER TABLE programmes_plandays
    ADD CONSTRAINT plandays_plan_fk FOREIGN KEY (plan_id)
    REFERENCES programmes_plan (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE programmes_daycredit
    ADD CONSTRAINT daycredit_plan_fk FOREIGN KEY (plan_id)
    REFERENCES programmes_plan (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT daycredit_counts_positive CHECK (checkins > 0 AND credit >= 0),
    ADD CONSTRAINT daycredit_completed_range CHECK (completed >= 0 AND completed <= 1);

-- The days a plan prescribes (CLINICAL.md section 6). A pause runs from the local day of
-- its 'paused' event to the local day of the next pause, resume, end or completion event
-- (that day prescribes again), or on while none follows.
CREATE FUNCTION programmes_adherence_days(p_plan bigint) RETURNS datemultirange
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p.status = 'draft' OR p.end_date < p.start_date THEN '{}'::datemultirange
        ELSE datemultirange(daterange(p.start_date, p.end_date, '[]'))
             - COALESCE((
                 SELECT range_agg(daterange(s.from_day, s.until_day, '[)'))
                   FROM (SELECT e.kind,
                                (e.at AT TIME ZONE pt.time_zone)::date AS from_day,
                                (lead(e.at) OVER (ORDER BY e.at, e.id)
                                     AT TIME ZONE pt.time_zone)::date AS until_day
                           FROM programmes_planevent e
                          WHERE e.plan_id = p.id
                            AND e.kind IN ('paused', 'resumed', 'ended', 'completed')) s
                  WHERE s.kind = 'paused'), '{}'::datemultirange)
        END
      FROM programmes_plan p JOIN patients_patient pt ON pt.id = p.patient_id
     WHERE p.id = p_plan
$$;

-- A day's completed figure: its credit capped at one session, on a day the plan
-- prescribes (else nothing). Kept on the row so a report sums it and nothing else.
CREATE FUNCTION programmes_daycredit_settle(p_plans bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE programmes_daycredit c
       SET completed = CASE WHEN c.day <@ d.days THEN LEAST(1.0, c.credit) ELSE 0 END
      FROM programmes_plandays d
     WHERE d.plan_id = c.plan_id AND c.plan_id = ANY (p_plans)
       AND c.completed
           <> CASE WHEN c.day <@ d.days THEN LEAST(1.0, c.credit) ELSE 0 END;
$$;

CREATE FUNCTION programmes_adherence_rebuild(p_plans bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO programmes_plandays AS d (plan_id, patient_id, clinic_id, days)
    SELECT p.id, p.patient_id, p.clinic_id, programmes_adherence_days(p.id)
      FROM programmes_plan p WHERE p.id = ANY (p_plans)
        ON CONFLICT (plan_id) DO UPDATE
       SET patient_id = EXCLUDED.patient_id, clinic_id = EXCLUDED.clinic_id,
           days = EXCLUDED.days
     WHERE (d.patient_id, d.clinic_id, d.days)
           IS DISTINCT FROM (EXCLUDED.patient_id, EXCLUDED.clinic_id, EXCLUDED.days);
    SELECT programmes_daycredit_settle(p_plans);
$$;

-- One check-in's credit (a partial session counts one half).
CREATE FUNCTION programmes_checkin_credit(p_completion text) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_completion WHEN 'done' THEN 1.0 WHEN 'partial' THEN 0.5 ELSE 0.0 END
$$;

CREATE FUNCTION programmes_daycredit_add() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE FUNCTION programmes_daycredit_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The days left with no check-in go first, so the decrement below can't empty one.
    DELETE FROM programmes_daycredit d
     USING (SELECT plan_id, local_date, count(*) AS n FROM removed
             GROUP BY plan_id, local_date) o
     WHERE d.plan_id = o.plan_id AND d.day = o.local_date AND d.checkins <= o.n;
    UPDATE programmes_daycredit d
       SET checkins = d.checkins - o.n, credit = d.credit - o.credit,
           completed = CASE WHEN EXISTS (SELECT 1 FROM programmes_plandays pd
                                          WHERE pd.plan_id = d.plan_id AND d.day <@ pd.days)
                            THEN LEAST(1.0, d.credit - o.credit) ELSE 0 END
      FROM (SELECT plan_id, local_date, count(*) AS n,
                   sum(programmes_checkin_credit(completion)) AS credit
              FROM removed GROUP BY plan_id, local_date) o
     WHERE d.plan_id = o.plan_id AND d.day = o.local_date AND d.checkins > o.n;
    RETURN NULL;
END $$;

CREATE TRIGGER checkin_daycredit_insert AFTER INSERT ON programmes_checkin
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_daycredit_add();
CREATE TRIGGER checkin_daycredit_delete AFTER DELETE ON programmes_checkin
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_daycredit_remove();
-- An update takes the old rows' credit away, then adds the new rows'.
CREATE TRIGGER checkin_daycredit_update_remove AFTER UPDATE ON programmes_checkin
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_daycredit_remove();
CREATE TRIGGER checkin_daycredit_update_add AFTER UPDATE ON programmes_checkin
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_daycredit_add();

CREATE FUNCTION programmes_plandays_from_plans() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM programmes_adherence_rebuild(ARRAY(SELECT id FROM changed_plans));
    RETURN NULL;
END $$;
CREATE TRIGGER plan_plandays_insert AFTER INSERT ON programmes_plan
    REFERENCING NEW TABLE AS changed_plans FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_plandays_from_plans();
-- Only what moves the days: most plan updates (a step, a proposal) don't.
CREATE FUNCTION programmes_plandays_from_plan_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM programmes_adherence_rebuild(ARRAY(
        SELECT n.id FROM changed_plans n JOIN plans_before o ON o.id = n.id
         WHERE (n.status, n.start_date, n.end_date, n.patient_id, n.clinic_id)
               IS DISTINCT FROM (o.status, o.start_date, o.end_date, o.patient_id, o.clinic_id)));
    RETURN NULL;
END $$;
CREATE TRIGGER plan_plandays_update AFTER UPDATE ON programmes_plan
    REFERENCING OLD TABLE AS plans_before NEW TABLE AS changed_plans FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_plandays_from_plan_updates();

CREATE FUNCTION programmes_plandays_from_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM programmes_adherence_rebuild(ARRAY(
        SELECT DISTINCT plan_id FROM changed_events
         WHERE kind IN ('paused', 'resumed', 'ended', 'completed')));
    RETURN NULL;
END $$;
CREATE TRIGGER planevent_plandays_insert AFTER INSERT ON programmes_planevent
    REFERENCING NEW TABLE AS changed_events FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_plandays_from_events();
CREATE TRIGGER planevent_plandays_delete AFTER DELETE ON programmes_planevent
    REFERENCING OLD TABLE AS changed_events FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_plandays_from_events();
CREATE TRIGGER planevent_plandays_update AFTER UPDATE ON programmes_planevent
    REFERENCING NEW TABLE AS changed_events FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_plandays_from_events();

-- A patient's days are local days: a new time zone moves the pauses' days.
CREATE FUNCTION programmes_plandays_from_zone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM programmes_adherence_rebuild(ARRAY(
        SELECT p.id FROM programmes_plan p WHERE p.patient_id = NEW.id));
    RETURN NULL;
END $$;
CREATE TRIGGER patient_plandays_zone AFTER UPDATE OF time_zone ON patients_patient
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION programmes_plandays_from_zone();

-- What is already there.
SELECT programmes_adherence_rebuild(ARRAY(SELECT id FROM programmes_plan));
INSERT INTO programmes_daycredit (plan_id, day, patient_id, clinic_id, checkins, credit)
SELECT plan_id, local_date, patient_id, clinic_id, count(*),
       sum(programmes_checkin_credit(completion))
  FROM programmes_checkin GROUP BY plan_id, local_date, patient_id, clinic_id;
SELECT programmes_daycredit_settle(ARRAY(SELECT id FROM programmes_plan));
"""

BACKWARD = r"""
DROP TRIGGER patient_plandays_zone ON patients_patient;
DROP TRIGGER planevent_plandays_update ON programmes_planevent;
DROP TRIGGER planevent_plandays_delete ON programmes_planevent;
DROP TRIGGER planevent_plandays_insert ON programmes_planevent;
DROP TRIGGER plan_plandays_update ON programmes_plan;
DROP TRIGGER plan_plandays_insert ON programmes_plan;
DROP TRIGGER checkin_daycredit_update_add ON programmes_checkin;
DROP TRIGGER checkin_daycredit_update_remove ON programmes_checkin;
DROP TRIGGER checkin_daycredit_delete ON programmes_checkin;
DROP TRIGGER checkin_daycredit_insert ON programmes_checkin;
DROP FUNCTION programmes_plandays_from_zone();
DROP FUNCTION programmes_plandays_from_events();
DROP FUNCTION programmes_plandays_from_plan_updates();
DROP FUNCTION programmes_plandays_from_plans();
DROP FUNCTION programmes_daycredit_remove();
DROP FUNCTION programmes_daycredit_add();
DROP FUNCTION programmes_checkin_credit(text);
DROP FUNCTION programmes_adherence_rebuild(bigint[]);
DROP FUNCTION programmes_daycredit_settle(bigint[]);
DROP FUNCTION programmes_adherence_days(bigint);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0006_audit_patient_ids'),
        ('patients', '0006_stop_symptom_pending'),
        ('programmes', '0014_tenancy_guard'),
    ]

    operations = [
        migrations.CreateModel(
            name='DayCredit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('checkins', models.PositiveIntegerField()),
                ('credit', models.DecimalField(decimal_places=1, max_digits=6)),
                ('completed', models.DecimalField(db_default=0, decimal_places=1, max_digits=2)),
                ('clinic', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='clinic.clinic')),
                ('patient', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='patients.patient')),
                ('plan', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='programmes.plan')),
            ],
            options={
                'indexes': [models.Index(fields=['clinic', 'day'], include=('patient', 'plan', 'completed'), name='daycredit_clinic_day_idx'), models.Index(fields=['patient', 'day'], include=('plan', 'completed'), name='daycredit_patient_day_idx')],
                'constraints': [models.UniqueConstraint(fields=('plan', 'day'), name='daycredit_plan_day_unique')],
            },
        ),
        migrations.CreateModel(
            name='PlanDays',
            fields=[
                ('plan', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='+', serialize=False, to='programmes.plan')),
                ('days', programmes.adherence_models.DateMultiRangeField()),
                ('clinic', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='clinic.clinic')),
                ('patient', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='patients.patient')),
            ],
            options={
                'indexes': [models.Index(fields=['clinic', 'patient'], name='plandays_clinic_patient_idx'), models.Index(fields=['patient'], name='plandays_patient_idx')],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
