"""A patient's intake answers as an intake row stores them (JSON), and back."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from patients.domain.answers import IntakeAnswers


def answers_to_json(answers: IntakeAnswers) -> dict[str, Any]:
    data = dataclasses.asdict(answers)
    for key, value in data.items():
        if isinstance(value, date):
            data[key] = value.isoformat()
        elif isinstance(value, frozenset | set):
            data[key] = sorted(value)
    return data


def answers_from_json(data: dict[str, Any]) -> IntakeAnswers:
    values = dict(data)
    for field in dataclasses.fields(IntakeAnswers):
        value = values.get(field.name)
        if field.name.endswith("_date") and isinstance(value, str):
            values[field.name] = date.fromisoformat(value)
        elif field.name in ("conditions", "medications"):
            values[field.name] = frozenset(value or ())
    known = {field.name for field in dataclasses.fields(IntakeAnswers)}
    return IntakeAnswers(**{key: value for key, value in values.items() if key in known})


def health_update_answers(previous: IntakeAnswers, changes: dict[str, Any]) -> IntakeAnswers:
    """The previous answers with a patient's reported changes applied (lists only grow)."""
    values = dataclasses.asdict(previous)
    for key, value in changes.items():
        if key in ("conditions", "medications"):
            values[key] = frozenset(previous.__getattribute__(key)) | frozenset(value)
        else:
            values[key] = value
    values["conditions"] = frozenset(values["conditions"])
    values["medications"] = frozenset(values["medications"])
    return IntakeAnswers(**values)
