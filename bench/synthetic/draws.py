"""The clinic's random values: names, intake archetypes, ODI answers, adherence habits."""

from __future__ import annotations

import functools
import random
from decimal import Decimal

from patients.domain.answers import Condition
from patients.domain.outcomes import score_odi

FIRST_NAMES = [
    "Alex",
    "Amara",
    "Ben",
    "Chloe",
    "Dan",
    "Eve",
    "Farah",
    "Gita",
    "Hugo",
    "Ines",
    "Jon",
    "Kemi",
    "Liam",
    "Maya",
    "Noah",
    "Olu",
    "Pia",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Xena",
    "Yusuf",
    "Zoe",
    "Ade",
    "Bea",
    "Cal",
    "Dev",
    "Ela",
]
LAST_NAMES = [
    "Adams",
    "Baker",
    "Chen",
    "Dias",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
    "Moreau",
    "Novak",
    "Okafor",
    "Patel",
    "Quist",
    "Rossi",
    "Smith",
    "Tanaka",
    "Umeh",
    "Varga",
    "Walsh",
    "Xu",
    "Young",
    "Zielinski",
    "Brown",
    "Costa",
]


# Intake archetypes: extra answers and how often. The engine decides the outcome.
ARCHETYPES = (
    (0.70, {}),
    (0.12, {"systolic_bp": 146, "diastolic_bp": 88}),  # review required
    (0.06, {"conditions": frozenset({Condition.OSTEOPENIA})}),  # review required
    (0.08, {"conditions": frozenset({Condition.GLAUCOMA})}),  # contraindicated
    (0.04, {"systolic_bp": 165, "diastolic_bp": 96}),  # contraindicated
)
ODI_PATTERNS = tuple(
    tuple(min(5, max(0, base + (n % 3) - 1)) for n in range(10)) for base in (1, 2, 2, 3, 4)
)


@functools.cache
def _odi_scored(pattern: int, improvement: int) -> tuple[tuple[int, ...], Decimal]:
    sections = tuple(max(0, s - improvement) for s in ODI_PATTERNS[pattern])
    return sections, Decimal(str(score_odi(list(sections)).percent))


def odi(rng: random.Random, improvement: int = 0) -> tuple[tuple[int, ...], Decimal]:
    return _odi_scored(rng.randrange(len(ODI_PATTERNS)), improvement)


def pick(rng: random.Random, weighted):
    roll, total = rng.random(), 0.0
    for weight, value in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][1]


# Adherence habits: (share of patients, chance of a check-in on a prescribed day).
HABITS = ((0.55, 0.92), (0.25, 0.66), (0.12, 0.40), (0.08, 0.18))
