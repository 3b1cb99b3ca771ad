"""PostgreSQL keeps every row in its clinic (programmes 0013), whatever path wrote it.

Each case is raw SQL that would put a row in one clinic and point it at another's: it is
refused (a key at COMMIT, forced here with SET CONSTRAINTS ALL IMMEDIATE; a trigger at
once), and the legal counterpart commits, so the guard is not simply refusing everything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from django.db import IntegrityError, connection, transaction

from clinic.models import Clinic, Role
from programmes import services
from programmes.models import Exercise, ProgrammeTemplate
from tests.factories import ClinicFactory, PatientFactory, clinician, member, screen

pytestmark = pytest.mark.django_db


@dataclass
class Two:
    """Two clinics, each with a clinician, a patient and a plan."""

    clinic: int
    other_clinic: int
    clinician: int
    other_clinician: int
    staff: int
    patient: int
    other_patient: int
    plan: int
    other_plan: int
    exercise_other: int
    template_other: int


@pytest.fixture
def two() -> Two:
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    made = []
    for _ in range(2):
        clinic = ClinicFactory()
        patient = PatientFactory(clinic=clinic, clinician=clinician(clinic))
        screen(patient)
        plan = services.plan_create_from_template(
            patient=patient, template=template, by=patient.clinician
        )
        made.append((clinic, patient, plan))
    (clinic, patient, plan), (other, other_patient, other_plan) = made
    exercise = Exercise.objects.create(
        clinic=other, name="Other's", slug="others", category="stretch", patient_instructions="x"
    )
    own_template = ProgrammeTemplate.objects.create(clinic=other, name="Other's", kind="inversion")
    return Two(
        clinic=clinic.pk,
        other_clinic=other.pk,
        clinician=patient.clinician_id,
        other_clinician=other_patient.clinician_id,
        staff=member(Role.STAFF, clinic).pk,
        patient=patient.pk,
        other_patient=other_patient.pk,
        plan=plan.pk,
        other_plan=other_plan.pk,
        exercise_other=exercise.pk,
        template_other=own_template.pk,
    )


def refused(sql: str, params: dict) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    except IntegrityError:
        return True
    return False


CHECKIN = (
    "INSERT INTO programmes_checkin (plan_id, patient_id, clinic_id, idempotency_key, "
    "local_date, submitted_at, completion, symptoms, note) VALUES "
    "(%(plan)s, %(patient)s, %(clinic)s, %(key)s, current_date, now(), 'done', '{}', '')"
)
ALERT = (
    "INSERT INTO programmes_clinicianalert (clinic_id, patient_id, plan_id, kind, message, "
    "dedupe_key, created_at, emailed_to) VALUES "
    "(%(clinic)s, %(patient)s, %(plan)s, 'high_pain', 'x', %(key)s, now(), '')"
)
QUESTIONNAIRE = (
    "INSERT INTO programmes_questionnaireresponse (patient_id, plan_id, clinic_id, kind, "
    "taken_on, pain, odi_sections, odi_percent, created_at) VALUES "
    "(%(patient)s, %(plan)s, %(clinic)s, 'follow_up', current_date, 3, '[]', 10, now())"
)
REMINDER = (
    "INSERT INTO programmes_reminderdelivery (patient_id, clinic_id, local_date, kind, "
    "channel, status, attempts, last_error, created_at) VALUES "
    "(%(patient)s, %(clinic)s, current_date, 'daily', 'email', 'pending', 0, '', now())"
)

CASES = {
    "a plan naming another clinic than its patient's": (
        "UPDATE programmes_plan SET clinic_id = %(other_clinic)s WHERE id = %(plan)s",
        None,
    ),
    "a plan whose clinician is another clinic's": (
        "UPDATE programmes_plan SET clinician_id = %(other_clinician)s WHERE id = %(plan)s",
        "UPDATE programmes_plan SET clinician_id = %(clinician)s WHERE id = %(plan)s",
    ),
    "a plan whose clinician is staff, not a clinician": (
        "UPDATE programmes_plan SET clinician_id = %(staff)s WHERE id = %(plan)s",
        None,
    ),
    "a patient whose responsible clinician is another clinic's": (
        "UPDATE patients_patient SET clinician_id = %(other_clinician)s WHERE id = %(patient)s",
        "UPDATE patients_patient SET clinician_id = %(clinician)s WHERE id = %(patient)s",
    ),
    "a patient moved to another clinic with their plan left behind": (
        "UPDATE patients_patient SET clinic_id = %(other_clinic)s WHERE id = %(patient)s",
        None,
    ),
    "a check-in of another clinic's patient": (
        CHECKIN.replace("%(clinic)s", "%(other_clinic)s"),
        CHECKIN,
    ),
    "a check-in of one patient on another patient's plan": (
        CHECKIN.replace("%(plan)s", "%(other_plan)s"),
        None,
    ),
    "an alert in another clinic than its patient's": (
        ALERT.replace("%(clinic)s", "%(other_clinic)s"),
        ALERT,
    ),
    "an alert naming another patient's plan": (ALERT.replace("%(plan)s", "%(other_plan)s"), None),
    "a questionnaire in another clinic than its patient's": (
        QUESTIONNAIRE.replace("%(clinic)s", "%(other_clinic)s"),
        QUESTIONNAIRE,
    ),
    "a reminder in another clinic than its patient's": (
        REMINDER.replace("%(clinic)s", "%(other_clinic)s"),
        REMINDER,
    ),
    "a plan on another clinic's template": (
        "UPDATE programmes_plan SET template_id = %(template_other)s WHERE id = %(plan)s",
        None,
    ),
    "a plan exercise from another clinic's library": (
        'INSERT INTO programmes_planexercise (plan_id, exercise_id, "order", sets, '
        "times_per_day) VALUES (%(plan)s, %(exercise_other)s, 9, 1, 1)",
        'INSERT INTO programmes_planexercise (plan_id, exercise_id, "order", sets, '
        "times_per_day) VALUES (%(other_plan)s, %(exercise_other)s, 9, 1, 1)",
    ),
    "a shipped template using a clinic's own exercise": (
        'INSERT INTO programmes_templateexercise (template_id, exercise_id, "order", sets, '
        "times_per_day) SELECT t.id, %(exercise_other)s, 9, 1, 1 "
        "FROM programmes_programmetemplate t WHERE t.clinic_id IS NULL LIMIT 1",
        'INSERT INTO programmes_templateexercise (template_id, exercise_id, "order", sets, '
        "times_per_day) VALUES (%(template_other)s, %(exercise_other)s, 9, 1, 1)",
    ),
    "a shipped exercise in use handed to one clinic": (
        "UPDATE programmes_exercise SET clinic_id = %(clinic)s WHERE id = ("
        "SELECT exercise_id FROM programmes_planexercise WHERE plan_id = %(plan)s LIMIT 1)",
        None,
    ),
    "a clinician responsible for patients moved to another clinic": (
        "UPDATE clinic_membership SET clinic_id = %(other_clinic)s WHERE user_id = %(clinician)s",
        None,
    ),
    "a clinician responsible for patients made staff": (
        "UPDATE clinic_membership SET role = 'staff' WHERE user_id = %(clinician)s",
        "UPDATE clinic_membership SET role = 'clinic_admin' WHERE user_id = %(clinician)s",
    ),
    "a clinician responsible for patients removed from the clinic": (
        "DELETE FROM clinic_membership WHERE user_id = %(clinician)s",
        None,
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_postgresql_refuses_a_row_that_crosses_clinics(two, case):
    bad, good = CASES[case]
    params = {**two.__dict__, "key": str(uuid.uuid4())}
    assert refused(bad, params), case
    if good is not None:
        assert not refused(good, {**params, "key": str(uuid.uuid4())}), case


def test_a_patients_portal_account_is_a_member_of_the_patients_clinic(two):
    outsider = member(Role.PATIENT, ClinicFactory())
    params = {"user": outsider.pk, "patient": two.patient}
    assert refused("UPDATE patients_patient SET user_id = %(user)s WHERE id = %(patient)s", params)
    insider = member(Role.PATIENT, Clinic.objects.get(pk=two.clinic))
    params["user"] = insider.pk
    assert not refused(
        "UPDATE patients_patient SET user_id = %(user)s WHERE id = %(patient)s", params
    )
