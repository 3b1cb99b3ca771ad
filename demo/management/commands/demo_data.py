"""Load the demo clinic idempotently and print its logins (used by `make run`)."""

from __future__ import annotations

import hashlib
import time as clock
import uuid
from base64 import b32encode
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import Clinic, Role
from clinic.roles import membership_grant
from patients import services as patient_services
from patients.domain.answers import Condition, IntakeAnswers
from patients.models import Channel, Patient
from programmes import services as plan_services
from programmes.models import CheckIn, Plan, ProgrammeTemplate

DEMO_PASSWORD = "inverto-demo"
DEMO_DAYS = 14

STAFF = [
    ("admin", "Alex", "Morgan", Role.CLINIC_ADMIN),
    ("clinician", "Priya", "Shah", Role.CLINICIAN),
    ("staff", "Sam", "Okafor", Role.STAFF),
]

# (username, first, last, born, time zone, answers beyond a clean intake, template, pain)
PATIENTS = [
    ("cleared", "Chris", "Evans", date(1978, 4, 12), "Europe/London", {}, "inversion", 6),
    (
        "review",
        "Rosa",
        "Martinez",
        date(1969, 9, 3),
        "America/New_York",
        {"systolic_bp": 148, "diastolic_bp": 88, "conditions": {Condition.OSTEOPENIA}},
        None,
        5,
    ),
    (
        "contra",
        "Tom",
        "Baker",
        date(1959, 1, 22),
        "Europe/London",
        {"conditions": {Condition.GLAUCOMA}},
        "exercise_only",
        7,
    ),
]


def demo_totp_key(username: str) -> str:
    """A fixed TOTP secret per demo staff login, so a newcomer's authenticator keeps working."""
    return hashlib.sha1(f"inverto-demo-totp-{username}".encode()).hexdigest()  # noqa: S324


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = clock.time()
    return f"{totp.token():0{device.digits}d}"


class Command(BaseCommand):
    help = "Create the demo clinic, its staff and three patients (safe to run again)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--codes",
            action="store_true",
            help="Only print the demo staff's current sign-in codes (they change every 30 s).",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            # The demo's password and second-factor secrets are in this file: public logins.
            raise CommandError(
                "demo_data makes logins whose password and codes are public; it runs only "
                "with DEBUG=true (a development machine or a throwaway demo stack)"
            )
        if options["codes"]:
            self._print_codes()
            return
        with transaction.atomic():
            clinic, _ = Clinic.objects.get_or_create(
                slug="demo", defaults={"name": "Riverside Spine & Physio (demo)"}
            )
            users = {
                username: self._user(username, first, last, clinic, role)
                for username, first, last, role in STAFF
            }
            patients = [self._patient(clinic, users["clinician"], *row) for row in PATIENTS]
            self._remind_soon(patients)
        self._print_logins()

    def _remind_soon(self, patients: list[Patient]) -> None:
        """Set each demo patient's reminder a minute or two from now, in their own zone.

        So the reminder sweep sends one while `make run` is up and the newcomer
        sees it in the console (unless it is now quiet hours, 21:00–08:00 local).
        """
        soon = timezone.now() + timedelta(minutes=2)
        for patient in patients:
            local = soon.astimezone(ZoneInfo(patient.time_zone))
            patient.reminder_time = time(local.hour, local.minute)
            patient.save(update_fields=["reminder_time"])
        self.stdout.write(
            "Demo reminders are due in about two minutes; the worker prints them here."
        )

    def _user(self, username: str, first: str, last: str, clinic: Clinic, role: str):
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@demo.invalid"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        membership_grant(user=user, clinic=clinic, role=role)
        if role != Role.PATIENT:  # staff sign in with a second factor
            TOTPDevice.objects.update_or_create(
                user=user,
                name="Demo authenticator",
                defaults={"key": demo_totp_key(username), "confirmed": True},
            )
        return user

    def _patient(
        self, clinic, clinician, username, first, last, born, zone, extra, template_kind, pain
    ):
        patient = Patient.objects.filter(clinic=clinic, first_name=first, last_name=last).first()
        if patient is None:
            user = self._user(username, first, last, clinic, Role.PATIENT)
            patient = Patient.objects.create(
                clinic=clinic,
                clinician=clinician,
                user=user,
                first_name=first,
                last_name=last,
                date_of_birth=born,
                sex="not_stated",
                email=f"{username}@demo.invalid",
                time_zone=zone,
                reminder_time=time(18, 0),
            )
        today = timezone.localdate()
        intake_day = today - timedelta(days=DEMO_DAYS + 1)
        if not patient.intakes.exists():
            values = {
                "age_years": patient.age_on(intake_day),
                "systolic_bp": 124,
                "diastolic_bp": 78,
                "weight_kg": 78.0,
                "height_cm": 176.0,
                **extra,
            }
            values["conditions"] = frozenset(values.get("conditions", ()))
            patient_services.intake_submit(
                patient=patient,
                answers=IntakeAnswers(**values),
                measurements=patient_services.IntakeMeasurements(
                    bp_measured_by=clinician.get_full_name(),
                    bp_measured_at=timezone.make_aware(datetime.combine(intake_day, time(10, 0))),
                    baseline_pain=pain,
                    odi_sections=(2, 1, 2, 1, 2, 1, 1, None, 1, 2),
                ),
                by=clinician,
                channel=Channel.ADMIN,
                taken_on=intake_day,
            )
            patient.refresh_from_db()
        if template_kind and not Plan.objects.filter(patient=patient).exists():
            template = ProgrammeTemplate.objects.filter(
                clinic__isnull=True, kind=template_kind
            ).first()
            start = today - timedelta(days=DEMO_DAYS)
            plan = plan_services.plan_create_from_template(
                patient=patient, template=template, by=clinician, start_date=start
            )
            plan_services.plan_activate(plan=plan, by=clinician, today=start)
        plan = Plan.objects.running().filter(patient=patient).first()
        if plan is not None and not plan.checkins.exists():
            self._checkins(patient, plan, plan.start_date, pain)
            plan_services.progression_evaluate(plan_id=plan.pk)
        return patient

    def _checkins(self, patient, plan, start: date, pain: int) -> None:
        """Two weeks of believable check-ins: mostly done, a partial, two missed days."""
        plan.refresh_from_db()
        exercises = list(plan.exercises.all())
        rows = []
        for offset in range(DEMO_DAYS):
            if offset in (4, 9):  # missed days
                continue
            day = start + timedelta(days=offset)
            partial = offset == 7
            before = max(pain - offset // 4, 2)
            rows.append(
                CheckIn(
                    plan=plan,
                    patient=patient,
                    clinic_id=patient.clinic_id,
                    idempotency_key=uuid.uuid5(uuid.NAMESPACE_URL, f"demo:{patient.pk}:{day}"),
                    local_date=day,
                    completion=CheckIn.Completion.PARTIAL if partial else CheckIn.Completion.DONE,
                    step=plan.current_step,
                    inversion_angle_deg=plan.current_step.angle_deg if plan.current_step else None,
                    inversion_seconds=plan.current_step.hold_seconds if plan.current_step else None,
                    pain_before=before,
                    pain_after=max(before - 1, 0),
                    note="Felt looser afterwards." if offset % 5 == 0 else "",
                )
            )
        created = CheckIn.objects.bulk_create(rows, ignore_conflicts=True)
        for checkin in created:
            if checkin.pk:
                checkin.exercises_done.set(exercises)

    def _print_logins(self) -> None:
        rows = [
            ("Clinic administrator", "admin", "/admin/"),
            ("Clinician", "clinician", "/admin/"),
            ("Staff (reports)", "staff", "/reports/"),
            ("Patient, cleared (inversion plan)", "cleared", "/"),
            ("Patient, review required (no plan yet)", "review", "/"),
            ("Patient, contraindicated (exercise only)", "contra", "/"),
        ]
        self.stdout.write(
            self.style.SUCCESS(f"Demo clinic ready. Logins (password for all: {DEMO_PASSWORD}):")
        )
        for label, username, where in rows:
            self.stdout.write(f"  {label:<42} {username:<10} {where}")
        self.stdout.write(
            "Staff logins then ask for a code from an authenticator app. Add the secret below"
            " to any TOTP app, or use the code shown (valid for about a minute);"
            " `python manage.py demo_data --codes` prints fresh ones."
        )
        self._print_codes(with_secrets=True)

    def _print_codes(self, *, with_secrets: bool = False) -> None:
        devices = TOTPDevice.objects.filter(
            user__username__in=[username for username, *_ in STAFF], name="Demo authenticator"
        ).select_related("user")
        for device in sorted(devices, key=lambda d: d.user.username):
            secret = b32encode(device.bin_key).decode()
            line = f"  {device.user.username:<10} code now {current_code(device)}"
            self.stdout.write(f"{line}   secret {secret}" if with_secrets else line)
