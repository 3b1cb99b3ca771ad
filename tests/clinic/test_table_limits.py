"""Table limits: bounded by the shipped rating, every change versioned and audited.

Through the service, PostgreSQL (raw SQL refused at commit) and the clinic admin.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from clinic.models import AuditEvent, Clinic, Role, TableLimitsVersion
from clinic.services import clinic_table_limits_change
from patients.models import Outcome
from programmes import services as plan_services
from programmes.models import ProgrammeTemplate
from tests.factories import ClinicFactory, PatientFactory, clinician, member, otp_login, screen

pytestmark = pytest.mark.django_db


def admin_of(clinic):
    return member(Role.CLINIC_ADMIN, clinic)


def change(clinic, *, weight="120", height="190", reason="New table rated 120 kg", by=None):
    return clinic_table_limits_change(
        clinic=clinic,
        max_weight_kg=weight,
        max_height_cm=height,
        reason=reason,
        by=by or admin_of(clinic),
    )


def test_a_new_clinic_starts_with_version_one_of_its_limits():
    clinic = ClinicFactory()
    (first,) = TableLimitsVersion.objects.filter(clinic=clinic)
    assert (first.version, first.max_weight_kg, first.max_height_cm) == (
        1,
        Decimal("136.0"),
        Decimal("198.0"),
    )
    assert clinic.table_limits_version == 1


def test_a_change_bumps_the_version_keeps_the_row_and_is_audited():
    clinic = ClinicFactory()
    admin = admin_of(clinic)
    limits = change(clinic, by=admin)
    clinic.refresh_from_db()
    assert (clinic.table_limits_version, limits.version) == (2, 2)
    assert (clinic.table_max_weight_kg, clinic.table_max_height_cm) == (
        Decimal("120.0"),
        Decimal("190.0"),
    )
    assert list(
        TableLimitsVersion.objects.filter(clinic=clinic).values_list("version", flat=True)
    ) == [2, 1]
    assert (limits.changed_by, limits.reason) == (admin, "New table rated 120 kg")
    audit = AuditEvent.objects.get(object_type="clinic.clinic", actor=admin)
    assert audit.changes["version"] == 2
    assert audit.changes["max_weight_kg"] == ["136.0", "120"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"weight": "137"}, "max_weight_kg", id="weight above the 136 kg rating"),
        pytest.param({"height": "198.5"}, "max_height_cm", id="height above the 198 cm rating"),
        pytest.param({"weight": "29"}, "max_weight_kg", id="weight below any table"),
        pytest.param({"weight": "120.25"}, "max_weight_kg", id="two decimal places"),
        pytest.param({"weight": "lots"}, "max_weight_kg", id="not a number"),
        pytest.param({"reason": "  "}, "reason", id="no reason"),
    ],
)
def test_a_change_outside_the_rating_or_without_a_reason_is_refused(kwargs, field):
    clinic = ClinicFactory()
    with pytest.raises(ValidationError) as refused:
        change(clinic, **kwargs)
    assert field in refused.value.message_dict
    clinic.refresh_from_db()
    assert clinic.table_limits_version == 1
    assert TableLimitsVersion.objects.filter(clinic=clinic).count() == 1


def test_only_the_clinics_administrator_changes_its_limits():
    clinic = ClinicFactory()
    for outsider in (clinician(clinic), admin_of(ClinicFactory())):
        with pytest.raises(PermissionDenied):
            change(clinic, by=outsider)
    assert TableLimitsVersion.objects.filter(clinic=clinic).count() == 1


def test_lower_limits_screen_a_patient_above_them_contraindicated_at_once_naming_the_version():
    clinic = ClinicFactory()
    heavy = PatientFactory(clinic=clinic)
    light = PatientFactory(clinic=clinic)
    screen(heavy, weight_kg=125.0, height_cm=198.0)  # cleared: within 136 kg, BMI 31.9
    light_screening = screen(light, weight_kg=80.0)
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    plan = plan_services.plan_create_from_template(
        patient=heavy, template=template, by=heavy.clinician
    )
    plan_services.plan_activate(plan=plan, by=heavy.clinician)
    change(clinic, weight="120")
    heavy.refresh_from_db()
    light.refresh_from_db()
    assert heavy.current_screening.outcome == Outcome.CONTRAINDICATED
    (finding,) = heavy.current_screening.findings
    assert finding["code"] == "ci_table_limits"
    assert "above the table limit of 120 kg (table limits v2)" in finding["evidence"]
    assert light.current_screening == light_screening
    plan.refresh_from_db()
    assert plan.inversion_paused


def test_a_new_intake_names_the_limits_version_it_was_screened_with():
    clinic = ClinicFactory()
    change(clinic, weight="110")
    patient = PatientFactory(clinic=clinic)
    screening = screen(patient, weight_kg=115.0)
    assert "(table limits v2)" in screening.findings[0]["evidence"]


def _at_commit(sql: str, params=()):
    """Run SQL and check the deferred constraints as a commit would."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_postgresql_refuses_a_limits_change_without_a_version_row():
    clinic = ClinicFactory()
    with pytest.raises(IntegrityError, match="without a new version"):
        _at_commit("UPDATE clinic_clinic SET table_max_weight_kg = 100 WHERE id = %s", [clinic.pk])
    with pytest.raises(IntegrityError, match="no matching version row"):
        _at_commit(
            "UPDATE clinic_clinic SET table_max_weight_kg = 100, table_limits_version = 2 "
            "WHERE id = %s",
            [clinic.pk],
        )
    with pytest.raises(IntegrityError):
        _at_commit("UPDATE clinic_clinic SET table_max_weight_kg = 150 WHERE id = %s", [clinic.pk])
    clinic.refresh_from_db()
    assert clinic.table_max_weight_kg == Decimal("136.0")


def test_postgresql_never_rewrites_a_limits_version():
    clinic = ClinicFactory()
    with pytest.raises(DatabaseError, match="never rewritten"), transaction.atomic():
        TableLimitsVersion.objects.filter(clinic=clinic).update(max_weight_kg=200)


def test_clinic_admin_shows_limits_read_only_and_changes_them_only_with_a_reason(client):
    clinic = ClinicFactory()
    admin = admin_of(clinic)
    otp_login(client, admin)
    url = f"/admin/clinic/clinic/{clinic.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="table_max_weight_kg"' not in page
    assert "Change table limits" in page
    # A forged field on the change form changes nothing.
    forged = client.post(
        url,
        {
            "name": clinic.name,
            "slug": clinic.slug,
            "time_zone": clinic.time_zone,
            "emergency_number": "999",
            "table_max_weight_kg": "100",
            "table_limits_version": "7",
        },
    )
    assert forged.status_code == 302
    clinic.refresh_from_db()
    assert clinic.table_limits_version == 1
    assert clinic.table_max_weight_kg == Decimal("136.0")
    limits_url = f"/admin/clinic/clinic/{clinic.pk}/table-limits/"
    refused = client.post(limits_url, {"max_weight_kg": "140", "max_height_cm": "190"})
    html = refused.content.decode()
    assert refused.status_code == 200
    assert "This field is required" in html  # the reason
    assert "less than or equal to 136" in html
    saved = client.post(
        limits_url, {"max_weight_kg": "125", "max_height_cm": "190", "reason": "New table"}
    )
    assert saved.status_code == 302
    clinic.refresh_from_db()
    assert (clinic.table_max_weight_kg, clinic.table_limits_version) == (Decimal("125.0"), 2)


def test_clinicians_can_not_open_the_table_limits_page(client):
    clinic = ClinicFactory()
    otp_login(client, clinician(clinic))
    response = client.get(f"/admin/clinic/clinic/{clinic.pk}/table-limits/")
    assert response.status_code == 403
    assert Clinic.objects.get(pk=clinic.pk).table_limits_version == 1
