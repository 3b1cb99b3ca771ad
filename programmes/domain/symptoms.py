"""Symptoms a patient reports at a check-in, and what each one means (CLINICAL.md section 4).

Pure data and rules: no Django, no I/O. The check-in form offers `Symptom.LABELS`; the
check-in service calls `classify_symptoms` and acts on the result in the same request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from patients.domain.emergency import DEFAULT_EMERGENCY_NUMBER, emergency_department


class Symptom:
    """Codes for a check-in's `symptoms`. Unknown codes are refused, never ignored."""

    # Stop now.
    CHEST_PAIN = "chest_pain"
    PALPITATIONS = "palpitations"
    SEVERE_HEADACHE = "severe_headache"
    EYE_PAIN_OR_VISION_CHANGE = "eye_pain_or_vision_change"
    FAINTING = "fainting"
    LEG_NUMBNESS_OR_WEAKNESS = "leg_numbness_or_weakness"
    # Stop now, and a red flag for cauda equina syndrome.
    BLADDER_BOWEL_CHANGE = "bladder_bowel_change"
    SADDLE_NUMBNESS = "saddle_numbness"
    # Mild.
    DIZZINESS = "dizziness"
    NAUSEA = "nausea"
    LIGHT_HEADEDNESS = "light_headedness"

    # Patient-facing; "that passed" matters: a mild symptom that does not pass is not mild.
    LABELS: dict[str, str] = {
        CHEST_PAIN: "Chest pain or pressure",
        PALPITATIONS: "Palpitations (a racing, pounding or irregular heartbeat)",
        SEVERE_HEADACHE: "Severe or sudden headache",
        EYE_PAIN_OR_VISION_CHANGE: "Eye pain or a change in your vision",
        FAINTING: "Fainting",
        LEG_NUMBNESS_OR_WEAKNESS: "New or worse numbness or weakness in your legs",
        BLADDER_BOWEL_CHANGE: "New change in bladder or bowel control (trouble passing urine, "
        "leaking urine or stools)",
        SADDLE_NUMBNESS: "Numbness between your legs or around your bottom (the saddle area)",
        DIZZINESS: "Dizziness that passed",
        NAUSEA: "Nausea (feeling sick) that passed",
        LIGHT_HEADEDNESS: "Light-headedness that passed",
    }


RED_FLAG_SYMPTOMS: frozenset[str] = frozenset(
    {Symptom.BLADDER_BOWEL_CHANGE, Symptom.SADDLE_NUMBNESS}
)
STOP_SYMPTOMS: frozenset[str] = RED_FLAG_SYMPTOMS | {
    Symptom.CHEST_PAIN,
    Symptom.PALPITATIONS,
    Symptom.SEVERE_HEADACHE,
    Symptom.EYE_PAIN_OR_VISION_CHANGE,
    Symptom.FAINTING,
    Symptom.LEG_NUMBNESS_OR_WEAKNESS,
}
MILD_SYMPTOMS: frozenset[str] = frozenset(
    {Symptom.DIZZINESS, Symptom.NAUSEA, Symptom.LIGHT_HEADEDNESS}
)
KNOWN_SYMPTOMS: frozenset[str] = STOP_SYMPTOMS | MILD_SYMPTOMS

# NRS 0-10; 7 or more is the "critical" tier that alerts the clinician.
PAIN_ALERT_THRESHOLD = 7

EXIT_ADVICE = (
    "Return upright slowly, over about 30 seconds, and rest for a moment before you stand up."
)


def stop_advice(emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> str:
    """What a patient with a stop symptom is told, naming their own emergency number."""
    return (
        "Stop inverting now. Return upright slowly, over about 30 seconds, then sit or lie "
        "down and rest. Do not invert again until the clinic has spoken to you. Contact the "
        "clinic today. If you have chest pain that does not go away, or you feel very unwell, "
        f"call emergency services on {emergency_number} now."
    )


def urgent_referral_advice(emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> str:
    """What a patient with a red-flag symptom is told, naming their own emergency number."""
    return (
        "These symptoms can be a sign of pressure on the nerves at the base of the spine, "
        "which needs treatment quickly. Seek urgent medical care today: go to "
        f"{emergency_department(emergency_number)} or call emergency services on "
        f"{emergency_number}. Do not wait for your next appointment, and do not invert again "
        "until a doctor has examined you."
    )


# The advice as a United Kingdom (999) patient reads it.
STOP_ADVICE = stop_advice("999")
URGENT_REFERRAL_ADVICE = urgent_referral_advice("999")


@dataclass(frozen=True)
class SymptomAssessment:
    """What a check-in's symptoms mean. Advice is `None` when it does not apply."""

    stop: bool
    red_flag: bool
    mild: bool
    stop_codes: frozenset[str]
    red_flag_codes: frozenset[str]
    mild_codes: frozenset[str]
    stop_advice: str | None
    urgent_referral_advice: str | None
    # The number the advice names (the patient's own, else their clinic's).
    emergency_number: str = DEFAULT_EMERGENCY_NUMBER


def classify_symptoms(
    codes: Iterable[str], emergency_number: str = DEFAULT_EMERGENCY_NUMBER
) -> SymptomAssessment:
    """Sort reported symptom codes into stop, red-flag and mild.

    The advice names `emergency_number`, the patient's (`Patient.emergency_phone`).
    Raises `ValueError` on an unknown code: a symptom silently dropped could be a stop one.
    """
    reported = frozenset(codes)
    unknown = reported - KNOWN_SYMPTOMS
    if unknown:
        raise ValueError(f"Unknown symptom code(s): {', '.join(sorted(unknown))}")
    stop_codes = reported & STOP_SYMPTOMS
    red_flag_codes = reported & RED_FLAG_SYMPTOMS
    mild_codes = reported & MILD_SYMPTOMS
    return SymptomAssessment(
        stop=bool(stop_codes),
        red_flag=bool(red_flag_codes),
        mild=bool(mild_codes),
        stop_codes=stop_codes,
        red_flag_codes=red_flag_codes,
        mild_codes=mild_codes,
        stop_advice=stop_advice(emergency_number) if stop_codes else None,
        urgent_referral_advice=urgent_referral_advice(emergency_number) if red_flag_codes else None,
        emergency_number=emergency_number,
    )


def known_symptom_codes(raw: object) -> tuple[str, ...]:
    """Every known symptom code in a raw value (a list, or one code), whatever else it holds.

    For reading symptoms out of input that is otherwise invalid: a stop symptom must never
    be lost because a neighbouring value is malformed.
    """
    values = raw if isinstance(raw, list | tuple | set | frozenset) else [raw]
    return tuple(sorted({v for v in values if isinstance(v, str) and v in KNOWN_SYMPTOMS}))


def symptom_labels(codes: Iterable[str]) -> str:
    """Labels in a stable order, for messages: "Dizziness that passed, Nausea ..."."""
    return ", ".join(Symptom.LABELS[code] for code in sorted(codes))


def pain_needs_alert(*scores: int | None) -> bool:
    """True if any pain score (before or after a session) is at the alert threshold or above.

    Missing scores (`None`) are skipped.
    """
    return any(score is not None and score >= PAIN_ALERT_THRESHOLD for score in scores)
