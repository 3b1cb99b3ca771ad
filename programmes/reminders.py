"""Reminders at each patient's local time, exactly once per day, kind and channel.

One periodic sweep (not one task per patient) finds due patients in SQL and
inserts their ledger rows with ON CONFLICT DO NOTHING, chunk by chunk of
patient ids, so a second beat inserts nothing and memory stays bounded. Only
the rows it inserted are enqueued, in batches, after commit. A batch task
claims its pending rows a chunk at a time with FOR UPDATE SKIP LOCKED: portal
notices are written and marked sent in that transaction (exactly once); rows for
channels outside the database are marked `sending` before they go out and `sent`
after (at most once). Rows left pending by a lost task are enqueued again; rows
left `sending` by a killed worker are recorded as interrupted, never resent.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from patients.models import Patient
from programmes.channels import CHANNELS, ChannelError, Message
from programmes.domain.reminders import DEFAULT_QUIET_HOURS, LATEST_REMINDER, NUDGE, NUDGE_AFTER
from programmes.models import CheckIn, ReminderDelivery
from programmes.permission import TreatmentToday, treatments_today

logger = logging.getLogger(__name__)

PATIENT_CHUNK = 5000

# Due reminders for one chunk of patient ids, inserted into the ledger. Mirrors
# programmes.domain.reminders (effective time, quiet hours, nudge 3 h later).
SWEEP_SQL = """
WITH candidates AS (
    SELECT p.id AS patient_id, p.clinic_id, p.email, p.phone,
           p.remind_by_email, p.remind_by_sms, p.remind_in_portal,
           (%(now)s::timestamptz AT TIME ZONE p.time_zone) AS local_now,
           LEAST(GREATEST(p.reminder_time, %(quiet_end)s::time), %(latest)s::time) AS remind_at
      FROM patients_patient p
     WHERE p.id BETWEEN %(low)s AND %(high)s
       AND NOT p.reminders_opted_out
),
due AS (
    SELECT c.*, c.local_now::date AS local_date, c.local_now::time AS local_time,
           (SELECT min(r.created_at) FROM programmes_reminderdelivery r
             WHERE r.patient_id = c.patient_id AND r.local_date = c.local_now::date
               AND r.kind = 'reminder') AS reminded_at,
           EXISTS (SELECT 1 FROM programmes_reminderdelivery r
                    WHERE r.patient_id = c.patient_id AND r.local_date = c.local_now::date
                      AND r.kind = 'nudge') AS nudged
      FROM candidates c
     WHERE c.local_now::time >= %(quiet_end)s::time
       AND c.local_now::time < %(quiet_start)s::time
       AND EXISTS (
           SELECT 1 FROM programmes_plan pl
            WHERE pl.patient_id = c.patient_id AND pl.status = 'active'
              AND pl.start_date <= c.local_now::date
              AND (pl.end_date IS NULL OR pl.end_date >= c.local_now::date))
       AND NOT EXISTS (
           SELECT 1 FROM programmes_checkin ci
            WHERE ci.patient_id = c.patient_id AND ci.local_date = c.local_now::date)
),
kinds AS (
    SELECT d.*,
           CASE
               WHEN d.reminded_at IS NULL THEN
                   CASE WHEN d.local_time >= d.remind_at THEN 'reminder' END
               WHEN NOT d.nudged
                    AND d.remind_at + %(nudge_after)s::interval < %(quiet_start)s::time
                    AND d.local_time >= d.remind_at + %(nudge_after)s::interval
                    AND %(now)s::timestamptz - d.reminded_at >= %(nudge_after)s::interval
                   THEN 'nudge'
           END AS kind
      FROM due d
)
INSERT INTO programmes_reminderdelivery
    (patient_id, clinic_id, local_date, kind, channel, status, attempts, last_error,
     created_at, enqueued_at)
SELECT k.patient_id, k.clinic_id, k.local_date, k.kind,
       CASE WHEN %(override)s = '' THEN ch.channel ELSE %(override)s END,
       'pending', 0, '', %(now)s, %(now)s
  FROM kinds k
 CROSS JOIN LATERAL (VALUES
       ('email', k.remind_by_email AND k.email <> ''),
       ('sms', k.remind_by_sms AND k.phone <> ''),
       ('portal', k.remind_in_portal)) AS ch(channel, wanted)
 WHERE k.kind IS NOT NULL
   -- With an override (console), one row per patient instead of one per chosen channel.
   AND ((%(override)s = '' AND ch.wanted) OR (%(override)s <> '' AND ch.channel = 'portal'))
ON CONFLICT DO NOTHING
RETURNING id
"""

REQUEUE_SQL = """
UPDATE programmes_reminderdelivery SET enqueued_at = %(now)s
 WHERE id IN (
     SELECT id FROM programmes_reminderdelivery
      WHERE status = 'pending' AND enqueued_at < %(stale_before)s
      ORDER BY id LIMIT %(limit)s
      FOR UPDATE SKIP LOCKED)
RETURNING id
"""


def _enqueue(ids: list[int]) -> None:
    from programmes.tasks import reminder_send_batch

    size = settings.REMINDER_BATCH_SIZE
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]
        transaction.on_commit(lambda batch=batch: reminder_send_batch.delay(batch))


def reminder_sweep(*, now: datetime | None = None, requeue_after: timedelta | None = None) -> int:
    """Insert due ledger rows and enqueue them; re-enqueue stale pending rows. Returns rows."""
    now = now or timezone.now()
    requeue_after = (
        requeue_after
        if requeue_after is not None
        else timedelta(seconds=settings.REMINDER_REQUEUE_AFTER_SECONDS)
    )
    bounds = Patient.objects.aggregate(low=Min("id"), high=Max("id"))
    total = 0
    if bounds["low"] is not None:
        override = settings.REMINDER_CHANNEL_OVERRIDE
        for low in range(bounds["low"], bounds["high"] + 1, PATIENT_CHUNK):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    SWEEP_SQL,
                    {
                        "now": now,
                        "low": low,
                        "high": low + PATIENT_CHUNK - 1,
                        "quiet_start": DEFAULT_QUIET_HOURS.start,
                        "quiet_end": DEFAULT_QUIET_HOURS.end,
                        "latest": LATEST_REMINDER,
                        "nudge_after": NUDGE_AFTER,
                        "override": override,
                    },
                )
                ids = [row[0] for row in cursor.fetchall()]
                _enqueue(ids)
                total += len(ids)
    while True:  # rows whose task was lost (broker restart, killed worker)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                REQUEUE_SQL,
                {"now": now, "stale_before": now - requeue_after, "limit": 10_000},
            )
            ids = [row[0] for row in cursor.fetchall()]
            _enqueue(ids)
        total += len(ids)
        if len(ids) < 10_000:
            break
    ReminderDelivery.objects.filter(
        status=ReminderDelivery.Status.SENDING, claimed_at__lt=now - requeue_after
    ).update(status=ReminderDelivery.Status.FAILED, last_error=INTERRUPTED)
    return total


def _message(patient: Patient, treatment: TreatmentToday | None, kind: str) -> Message:
    # Today's permission at the moment of sending, in the patient's own date: a row sent
    # late names no step the screening no longer allows.
    step = treatment.inversion_step if treatment is not None else None
    today = f"{step.describe()}, then your exercises" if step else "your exercises"
    link = f"{settings.PORTAL_BASE_URL.rstrip('/')}{reverse('portal:home')}"
    opening = "A gentle nudge" if kind == NUDGE else "Time for today's session"
    text = (
        f"{opening}, {patient.first_name}. Today: {today}. "
        f"Check in when you're done: {link}\n"
        "Change reminders or opt out in your portal settings."
    )
    html = (
        f"<p>{escape(opening)}, {escape(patient.first_name)}.</p><p>Today: {escape(today)}.</p>"
        f'<p><a href="{escape(link)}">Check in when you\'re done</a></p>'
        "<p><small>Change reminders or opt out in your portal settings.</small></p>"
    )
    return Message(subject=f"{opening} — Inverto", text=text, html=html)


# Rows handled per transaction. The portal channel writes its notice in the same
# transaction that marks the row sent: exactly once, whatever is killed. Other
# channels leave the database, so their rows are marked `sending` (committed)
# before anything goes out and `sent` after: a worker killed in between leaves
# rows `sending`, which are never sent again (at most once, never twice) and are
# recorded as interrupted by the next sweep.
SEND_CHUNK = 50
INTERRUPTED = "interrupted while sending (worker stopped): may not have arrived; not resent"


def reminder_send_batch(delivery_ids: list[int]) -> list[int]:
    """Send each pending row once; returns the ids that failed and should be retried."""
    ids = sorted(set(delivery_ids))
    retry: list[int] = []
    for start in range(0, len(ids), SEND_CHUNK):
        retry.extend(_send_chunk(ids[start : start + SEND_CHUNK]))
    return retry


def _claim(delivery_ids: list[int]) -> list[ReminderDelivery]:
    # Only the ledger rows are locked (`of`): a row another worker holds is skipped.
    return list(
        ReminderDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=delivery_ids, status=ReminderDelivery.Status.PENDING)
        .select_related("patient")
        .only(
            "id",
            "patient_id",
            "local_date",
            "kind",
            "channel",
            "attempts",
            "status",
            "last_error",
            "patient__first_name",
            "patient__email",
            "patient__phone",
            "patient__reminders_opted_out",
        )
        .order_by("pk")
    )


def _context(rows: list[ReminderDelivery]) -> tuple[dict[int, TreatmentToday], set]:
    patient_ids = {row.patient_id for row in rows}
    plans = treatments_today(patient_ids)
    checked_in = set(
        CheckIn.objects.filter(
            patient_id__in=patient_ids, local_date__in={row.local_date for row in rows}
        ).values_list("patient_id", "local_date")
    )
    return plans, checked_in


NOTHING_PRESCRIBED = "no longer due: nothing is prescribed today"


def _something_prescribed(treatment: TreatmentToday | None) -> bool:
    # Asked at send time: a patient referred, paused or unscreened since the row was made
    # is not nudged towards a session they may not do.
    return treatment is not None and treatment.permission.programme


def _send_chunk(delivery_ids: list[int]) -> list[int]:
    with transaction.atomic():
        rows = _claim(delivery_ids)
        if not rows:
            return []
        plans, checked_in = _context(rows)
        due = []
        for row in rows:
            if row.patient.reminders_opted_out or (row.patient_id, row.local_date) in checked_in:
                row.status, row.last_error = ReminderDelivery.Status.FAILED, "no longer due"
            elif not _something_prescribed(plans.get(row.patient_id)):
                row.status, row.last_error = ReminderDelivery.Status.FAILED, NOTHING_PRESCRIBED
            elif CHANNELS[row.channel].transactional:
                row.attempts += 1
                _deliver(row, plans.get(row.patient_id))
            else:
                row.status, row.attempts = ReminderDelivery.Status.SENDING, row.attempts + 1
                due.append(row)
        _record(rows)
    # Committed: the external rows are `sending`; now they leave the building.
    for row in due:
        _deliver(row, plans.get(row.patient_id))
    _record(due)
    return [row.pk for row in rows if row.status == ReminderDelivery.Status.PENDING]


def _record(rows: list[ReminderDelivery]) -> None:
    """Write the rows' outcomes: one UPDATE per distinct outcome, not one per row."""
    outcomes: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    for row in rows:
        outcomes[(row.status, row.attempts, row.last_error)].append(row.pk)
    now = timezone.now()
    for (status, attempts, last_error), ids in outcomes.items():
        ReminderDelivery.objects.filter(pk__in=ids).update(
            status=status,
            attempts=attempts,
            last_error=last_error,
            sent_at=now if status == ReminderDelivery.Status.SENT else None,
            # When a row went out to a channel outside the database: the sweep records
            # a row still `sending` long after this as interrupted.
            **({"claimed_at": now} if status == ReminderDelivery.Status.SENDING else {}),
        )


def _deliver(row: ReminderDelivery, plan: TreatmentToday | None) -> None:
    """Send through the row's channel and set its outcome: sent, pending (retry) or failed."""
    try:
        CHANNELS[row.channel].send(
            delivery=row,
            patient=row.patient,
            message=_message(row.patient, plan, row.kind),
        )
    except ChannelError as error:
        row.last_error = str(error)[:500]
        if row.attempts >= settings.REMINDER_MAX_ATTEMPTS:
            row.status = ReminderDelivery.Status.FAILED
            logger.warning("reminder %s failed for good: %s", row.pk, error)
        else:
            row.status = ReminderDelivery.Status.PENDING
        return
    row.status, row.last_error = ReminderDelivery.Status.SENT, ""
