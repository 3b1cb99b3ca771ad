"""What a synthetic clinic holds (`Spec`), the two the bench builds, and what a build returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from clinic.models import Clinic

PASSWORD = "inverto-bench"  # every synthetic account's password (bench database only)
QUESTIONNAIRE_VERSION = "2026.1"

# Zones whose evenings are European evenings, whatever the season.
EUROPE = (
    "Europe/London",
    "Europe/London",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Amsterdam",
)
# Zones without summer time, nine or ten hours ahead of UTC: at 02:00 UTC it is
# late morning there and night in every EUROPE zone.
ASIA_PACIFIC = ("Asia/Tokyo", "Asia/Seoul", "Australia/Brisbane")


@dataclass(frozen=True)
class Spec:
    """What to build. The slug names the size, so a different size is a different clinic."""

    key: str
    name: str
    patients: int
    days: int
    checkins: bool = True
    accounts: bool = True
    inversion_share: float = 0.6
    variety: bool = True  # paused and ended plans, overrides, opt-outs, questionnaires, alerts
    zones: tuple[str, ...] = EUROPE
    reminder_minutes: tuple[int, int] = (8 * 60, 17 * 60)  # local reminder times, inclusive
    clinicians: int = 20
    seed: int = 6

    @property
    def slug(self) -> str:
        return f"{self.key}-{self.patients}x{self.days}"


CLINIC_SPEC = Spec("synthetic", "Synthetic clinic", patients=10_000, days=90)
# The reminder fan-out's population: 100,000 patients of a clinic in UTC+9/+10,
# all due at 02:00 UTC, when none of CLINIC_SPEC's patients is (quiet hours).
REMINDER_SPEC = Spec(
    "synthetic-reminders",
    "Synthetic reminders clinic",
    patients=100_000,
    days=7,
    checkins=False,
    accounts=False,
    inversion_share=0.0,
    variety=False,
    zones=ASIA_PACIFIC,
    reminder_minutes=(8 * 60, 10 * 60 + 30),
    clinicians=10,
)


@dataclass
class SyntheticClinic:
    clinic: Clinic
    anchor: date  # check-ins run up to the day before
    patients: int
    checkins: int
    reused: bool
    staff_username: str
    clinician_usernames: list[str] = field(default_factory=list)


def expected_rows(spec: Spec) -> int:
    """Roughly how many rows `build` reports through `progress`, for a progress bar."""
    per_patient = (6 if spec.accounts else 5) + (spec.days * 0.73 * 2.2 if spec.checkins else 0)
    return int(spec.patients * per_patient) + 4
