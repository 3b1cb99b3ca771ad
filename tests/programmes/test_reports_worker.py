"""A background export through the real Redis and a real Celery worker process."""

import csv
import io
import time
import uuid
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from programmes.models import CheckIn, Plan, ReportExport
from tests.factories import ClinicFactory, clinician

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_background_export_runs_in_a_worker_with_progress_and_a_download(
    celery_processes, staff_client
):
    clinic = ClinicFactory()
    owner = clinician(clinic)
    today = timezone.localdate()
    for i in range(3):
        patient = Patient.objects.create(
            clinic=clinic,
            clinician=owner,
            first_name=f"W{i}",
            last_name=f"Worker{i}",
            date_of_birth=date(1970, 1, 1),
        )
        plan = Plan.objects.create(
            patient=patient,
            clinic=clinic,
            clinician=owner,
            name="Plan",
            status="active",
            start_date=today - timedelta(days=9),
        )
        for n in range(i + 1):
            CheckIn.objects.create(
                plan=plan,
                patient=patient,
                clinic=clinic,
                idempotency_key=uuid.uuid4(),
                local_date=today - timedelta(days=n),
                completion="done",
            )
    celery_processes("worker")
    client = staff_client(clinic)

    response = client.post(reverse("reports:exports"), {"kind": "patients"})
    assert response.status_code == 302
    export = ReportExport.objects.get()
    deadline = time.monotonic() + 60
    while export.status not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.3)
        export.refresh_from_db()

    assert (export.status, export.rows_written) == ("done", 3)
    download = client.get(reverse("reports:export_download", args=[export.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert [r[1] for r in rows[1:]] == ["Worker0, W0", "Worker1, W1", "Worker2, W2"]
    assert [r[4] for r in rows[1:]] == ["1.0", "2.0", "3.0"]  # sessions done of 10
