"""What the patients app announces about its changes; the programmes app answers
(connected in its `AppConfig.ready`, never by an import side effect)."""

from __future__ import annotations

import django.dispatch

# Sent inside the transaction whenever a patient's current screening changes or
# lapses: kwargs patient, screening (the new current one, or None), reason, by, today.
screening_changed = django.dispatch.Signal()

# Sent inside the transaction when a patient's own answers would lower their screening
# (patients escalate, clinicians clear): the new screening is stored awaiting a
# clinician's confirmation and the current one stays. kwargs: patient, screening (the
# one awaiting), current (the screening that stays current), by, today, message (for the
# clinician), dedupe_key (one alert per screening). programmes answers it with a
# CONFIRM_SCREENING alert.
screening_awaiting_confirmation = django.dispatch.Signal()

# Sent inside the transaction when a patient's time zone changes (their "today" moves):
# kwargs patient (saved, locked), previous (the zone before). programmes restarts the
# count of sessions at the current step from the new local date.
time_zone_changed = django.dispatch.Signal()
