"""How emergency advice names the patient's emergency services. Pure: no Django.

Every piece of emergency advice a patient reads names their own number
(`Patient.emergency_phone`: the patient's, else the clinic's): 999, 112, 911 or 000.
"""

from __future__ import annotations

# The number a patient is told to call when nothing else is known (the clinic's default).
DEFAULT_EMERGENCY_NUMBER = "999"


def emergency_department(emergency_number: str) -> str:
    """What the emergency department is called where this number is dialled.

    "A&E" is British: only 999 patients read it; everyone else reads the neutral name.
    """
    if emergency_number == "999":
        return "A&E (the emergency department)"
    return "the emergency department"
