"""Check-in throughput through gunicorn, against a minimal write on the same server.

The yardstick (`bench.views.MinimalWrite`) is a POST through the same middleware,
session, CSRF and API authentication and role policy that inserts one small row.

Patients are signed in by sessions written straight into the session table
(what `login()` would store), with a CSRF cookie and header as a browser
sends them. Every POST is a valid new check-in: a different patient each time,
today, with a new idempotency key. The load is a fixed number of threads on
loopback, bounded by a request count and a time limit.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from bench.models import WriteProbe
from bench.processes import database_url, free_port
from clinic.models import Clinic
from programmes.models import CheckIn

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
NOTE = "bench load"  # marks the check-ins this benchmark posts, to remove them afterwards
BACKEND = "django.contrib.auth.backends.ModelBackend"
TARGET_RATIO = 0.5
MINIMAL_WRITE_PATH = "/bench/minimal-write/"  # config.bench_urls


@dataclass
class LoadResult:
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str = ""

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


class Gunicorn:
    """gunicorn on a free loopback port against the bench database."""

    def __init__(self, *, workers: int, threads: int, log_path: Path) -> None:
        self.port = free_port()
        self.workers, self.threads, self.log_path = workers, threads, log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url(),
            REDIS_URL=settings.REDIS_URL,
            DJANGO_SETTINGS_MODULE="config.bench_settings",
            DEBUG="false",
            LOG_LEVEL="WARNING",
        )
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                GUNICORN,
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(self.threads),
                "--keep-alive",
                "30",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log_path}")
            try:
                status, _ = request(self.port, "GET", "/livez")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /livez in 60 s: see {self.log_path}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


def request(port: int, method: str, path: str, body=None, headers=None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass(frozen=True)
class PatientSession:
    patient_id: int
    session_key: str
    csrf: str
    exercise_ids: tuple[int, ...]


def patient_sessions(clinic: Clinic, count: int) -> list[PatientSession]:
    """Sessions for `count` patients with a portal account and an active plan."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pt.id, pt.user_id,
                   ARRAY(SELECT e.id FROM programmes_planexercise e WHERE e.plan_id = p.id
                          ORDER BY e.order LIMIT 2)
              FROM patients_patient pt
              JOIN programmes_plan p ON p.patient_id = pt.id AND p.status = 'active'
             WHERE pt.clinic_id = %s AND pt.user_id IS NOT NULL
             ORDER BY pt.id
             LIMIT %s
            """,
            [clinic.pk, count],
        )
        rows = cursor.fetchall()
    users = get_user_model().objects.in_bulk([user_id for _p, user_id, _e in rows])
    store = SessionStore()
    expires = timezone.now() + timedelta(hours=2)
    sessions, records = [], []
    for patient_id, user_id, exercise_ids in rows:
        key = secrets.token_hex(16)
        data = store.encode(
            {
                SESSION_KEY: str(user_id),
                BACKEND_SESSION_KEY: BACKEND,
                HASH_SESSION_KEY: users[user_id].get_session_auth_hash(),
                **_after_first_page(),
            }
        )
        records.append(Session(session_key=key, session_data=data, expire_date=expires))
        sessions.append(PatientSession(patient_id, key, secrets.token_hex(16), tuple(exercise_ids)))
    Session.objects.bulk_create(records, batch_size=2000)
    return sessions


def _after_first_page() -> dict:
    """What the session holds once the patient has opened one page: the second-factor
    gate has noted that this patient has no authenticator (clinic/otp.py)."""
    try:
        from clinic.otp import ENROLLED_SESSION_KEY
    except ImportError:
        return {}
    return {ENROLLED_SESSION_KEY: False}


def remove_load(clinic: Clinic, sessions: list[PatientSession]) -> int:
    """Delete what the load wrote: its check-ins (and their exercises), the minimal
    writes' rows and its sessions."""
    Session.objects.filter(session_key__in=[s.session_key for s in sessions]).delete()
    WriteProbe.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            DELETE FROM programmes_checkin_exercises_done WHERE checkin_id IN (
                SELECT id FROM programmes_checkin WHERE clinic_id = %s AND note = %s)
            """,
            [clinic.pk, NOTE],
        )
        cursor.execute(
            "DELETE FROM programmes_checkin WHERE clinic_id = %s AND note = %s", [clinic.pk, NOTE]
        )
        return cursor.rowcount


def run_load(
    port: int,
    make_request,
    *,
    threads: int,
    seconds: float,
    max_requests: int,
    expect: int,
) -> LoadResult:
    """`threads` keep-alive connections sending `make_request(i)` until time or count runs out."""
    result = LoadResult()
    lock = threading.Lock()
    counter = iter(range(max_requests))
    deadline = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, ok, errors, first_error = [], 0, 0, ""
        while time.monotonic() < deadline:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            method, path, body, headers = make_request(index)
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, payload = 0, str(error).encode()
            elapsed = time.perf_counter() - started
            if status == expect:
                ok += 1
                latencies.append(elapsed)
            else:
                errors += 1
                first_error = first_error or f"{status}: {payload[:300]!r}"
        conn.close()
        with lock:
            result.ok += ok
            result.errors += errors
            result.latencies.extend(latencies)
            result.first_error = result.first_error or first_error

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def _session_headers(session: PatientSession) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key};"
        f" {settings.CSRF_COOKIE_NAME}={session.csrf}",
        "X-CSRFToken": session.csrf,
    }


def minimal_write_requests(sessions: list[PatientSession]):
    """The yardstick: the same patients' sessions, each POST one small row."""

    def make(index: int):
        return "POST", MINIMAL_WRITE_PATH, "{}", _session_headers(sessions[index % len(sessions)])

    return make


def checkin_requests(sessions: list[PatientSession]):
    def make(index: int):
        session = sessions[index]
        body = json.dumps(
            {
                "idempotency_key": str(uuid.uuid4()),
                "completion": "done",
                "pain_before": 3,
                "pain_after": 2,
                "exercise_ids": list(session.exercise_ids),
                "note": NOTE,
            }
        )
        return "POST", "/api/v1/me/checkins/", body, _session_headers(session)

    return make


def existing_load_checkins(clinic: Clinic) -> int:
    return CheckIn.objects.filter(clinic=clinic, note=NOTE).count()
