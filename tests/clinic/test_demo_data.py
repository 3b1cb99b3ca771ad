"""`make run`'s demo data: idempotent, the three screening outcomes, never outside DEBUG."""

import pytest
from django.core.management import CommandError, call_command

from clinic.models import Clinic
from patients.models import Patient
from programmes.models import CheckIn, Plan

pytestmark = pytest.mark.django_db


def test_demo_data_loads_once_however_often_it_runs(settings, capsys):
    settings.DEBUG = True
    call_command("demo_data")
    first = (Patient.objects.count(), Plan.objects.count(), CheckIn.objects.count())
    call_command("demo_data")
    assert (Patient.objects.count(), Plan.objects.count(), CheckIn.objects.count()) == first
    assert Clinic.objects.filter(slug="demo").count() == 1
    outcomes = {p.current_screening.outcome for p in Patient.objects.all()}
    assert outcomes == {"cleared", "review_required", "contraindicated"}
    assert first[2] >= 2 * 10  # two weeks of check-ins for each of the two with a plan
    printed = capsys.readouterr().out
    assert "inverto-demo" in printed and "secret" in printed


def test_demo_data_refuses_without_debug_because_its_logins_are_public(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=true"):
        call_command("demo_data")
    assert not Clinic.objects.filter(slug="demo").exists()
