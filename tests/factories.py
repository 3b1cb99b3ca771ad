"""factory-boy factories for the clinic's records."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from clinic.models import Clinic, Role
from clinic.roles import membership_grant
from patients import services as patient_services
from patients.domain.answers import IntakeAnswers
from patients.models import Channel, Patient
from programmes.models import CheckIn, Plan


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Clinic {n}")
    slug = factory.Sequence(lambda n: f"clinic-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def member(role: str, clinic: Clinic | None = None, **kwargs):
    """A user with one role at one clinic."""
    user = UserFactory(**kwargs)
    membership_grant(user=user, clinic=clinic or ClinicFactory(), role=role)
    return user


def clinician(clinic: Clinic | None = None, **kwargs):
    return member(Role.CLINICIAN, clinic, **kwargs)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    clinician = factory.LazyAttribute(lambda p: clinician(p.clinic))
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = date(1975, 6, 15)
    email = factory.LazyAttribute(lambda p: f"{p.first_name.lower()}@example.invalid")
    time_zone = "Europe/London"


def patient_with_portal(clinic: Clinic | None = None, **kwargs) -> Patient:
    patient = PatientFactory(**({"clinic": clinic} if clinic else {}), **kwargs)
    patient.user = member(Role.PATIENT, patient.clinic)
    patient.save(update_fields=["user"])
    return patient


def clean_answers(**overrides) -> IntakeAnswers:
    values = {
        "age_years": 50,
        "systolic_bp": 122,
        "diastolic_bp": 78,
        "weight_kg": 80.0,
        "height_cm": 178.0,
    }
    values.update(overrides)
    for key in ("conditions", "medications"):
        values[key] = frozenset(values.get(key, ()))
    return IntakeAnswers(**values)


def screen(patient: Patient, *, by=None, taken_on: date | None = None, **answer_overrides):
    """Record an intake for the patient through the service; returns the new screening."""
    taken_on = taken_on or timezone.localdate()
    patient_services.intake_submit(
        patient=patient,
        answers=clean_answers(**answer_overrides),
        measurements=patient_services.IntakeMeasurements(
            bp_measured_by="Nurse",
            bp_measured_at=min(
                timezone.make_aware(datetime.combine(taken_on, time(0, 5))),
                timezone.now() - timedelta(minutes=5),
            ),
            baseline_pain=5,
            odi_sections=(2, 2, 1, 1, 2, 1, 1, None, 1, 1),
        ),
        by=by or patient.clinician,
        channel=Channel.ADMIN,
        taken_on=taken_on,
    )
    patient.refresh_from_db()
    return patient.current_screening


def screen_many(patients: list[Patient]) -> None:
    """Clear many patients at once (reminder load tests): the first is screened through
    the service; the others get copies of its intake and screening in bulk."""
    from patients.models import Intake, Screening

    first, rest = patients[0], patients[1:]
    model = screen(first)
    intake = model.intake
    intakes = Intake.objects.bulk_create(
        Intake(
            patient=patient,
            **{
                field.attname: getattr(intake, field.attname)
                for field in Intake._meta.concrete_fields
                if field.attname not in ("id", "patient_id", "created_at")
            },
        )
        for patient in rest
    )
    screenings = Screening.objects.bulk_create(
        Screening(
            patient=patient,
            intake=copy,
            outcome=model.outcome,
            findings=model.findings,
            rule_set_version=model.rule_set_version,
            screened_on=model.screened_on,
            valid_until=model.valid_until,
        )
        for patient, copy in zip(rest, intakes, strict=True)
    )
    for patient, screening in zip(rest, screenings, strict=True):
        patient.current_screening = screening
    Patient.objects.bulk_update(rest, ["current_screening"], batch_size=1000)


REVIEW = {"systolic_bp": 145, "diastolic_bp": 85}
CONTRAINDICATED = {"pregnant": True}
URGENT = {"saddle_numbness": True}


def days_ago(n: int) -> date:
    return timezone.localdate() - timedelta(days=n)


def otp_login(client, user):
    """Sign `user` in on `client` with a verified second factor, as `django_otp.login`
    does after a correct code: the session names a confirmed TOTP device of theirs."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(
        user=user, confirmed=True
    ).first() or TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def api_token(user) -> str:
    """A new API token for `user` (the key), as signing in through the API gives one."""
    from clinic.tokens import token_issue

    return token_issue(user=user)


def check_in(plan: Plan, day: date, completion: str = "done", **extra) -> CheckIn:
    """A check-in stored as it is, bypassing the service: for figures built from rows."""
    return CheckIn.objects.create(
        plan=plan,
        patient=plan.patient,
        clinic=plan.clinic,
        idempotency_key=uuid.uuid4(),
        local_date=day,
        completion=completion,
        **extra,
    )
