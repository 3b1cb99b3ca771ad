"""Staff report pages: median server time against a staff page with nothing of its own.

Pages are rendered through Django's test Client as a logged-in staff user of the
synthetic clinic (past the second factor), with `config.bench_settings`, whose URLs add the
yardstick `bench.views.staff_page`: the same gate, session, membership and layout, no
query of its own. A report's figure is its median time over that page's. One render of
each page is also captured with `CaptureQueriesContext` and its statements re-run on
their own, so a line also says how much of the time is PostgreSQL's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from bench.measure import median

STAFF_PAGE = "bench_staff_page"  # the yardstick's URL name (config.bench_urls)
BASELINE_KIND = "staff_page"

# (line name, URL name, needs a patient id, the ratio to the staff page it may reach)
PAGES = (
    ("report_overview", "reports:overview", False, 5.0),
    ("report_at_risk", "reports:at_risk", False, 5.0),
    ("report_patient", "reports:patient", True, 2.0),
)
# The overview after other clinics join the database, against itself before.
ISOLATION_RATIO = 1.25
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@dataclass(frozen=True)
class PageTiming:
    page_ms: float
    sql_ms: float
    statements: int
    runs: int


def staff_client(username: str) -> Client:
    """A test Client logged in as `username`, past the second factor if there is one."""
    user = get_user_model().objects.get(username=username)
    client = Client()
    client.force_login(user)
    if "django_otp" in settings.INSTALLED_APPS:
        from django_otp import DEVICE_ID_SESSION_KEY

        device = _otp_device(user)
        if device is not None:
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
    return client


def _otp_device(user):
    """A confirmed TOTP device for the user (created once), as enrolment would leave it."""
    if "django_otp.plugins.otp_totp" not in settings.INSTALLED_APPS:
        return None
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="bench", confirmed=True)


def page_url(url_name: str, patient_id: int | None) -> str | None:
    try:
        return reverse(url_name, args=[patient_id] if patient_id is not None else [])
    except NoReverseMatch:
        return None


def time_page(client: Client, url: str, *, budget: float = 15.0, most: int = 15) -> PageTiming:
    """Median page and SQL times over as many renders as fit `budget` seconds (3 at least)."""
    started = time.perf_counter()
    response = client.get(url)  # warm: templates, plans, caches
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}, not 200")
    runs = max(3, min(most, int(budget / max(time.perf_counter() - started, 1e-3))))
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    statements = [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith(TRANSACTION_CONTROL)
    ]
    page, sql = [], []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        page.append(time.perf_counter() - started)
        sql.append(_run_statements(statements))
    return PageTiming(median(page) * 1000, median(sql) * 1000, len(statements), runs)


def _run_statements(statements: list[str]) -> float:
    """Run the page's statements as they were sent; writes (an audit row) are rolled back."""
    with transaction.atomic():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
                if cursor.description is not None:
                    cursor.fetchall()
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed
