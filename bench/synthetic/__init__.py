"""A synthetic clinic for the benchmark, written with COPY in one transaction.

`spec` says what a clinic holds, `build` writes it (its plans and their history in
`history`, through `bulk`), and `reuse` finds a built clinic again and moves it to
today. Callers use the names below.
"""

from bench.synthetic.build import build
from bench.synthetic.bulk import BULK_TABLES, verify_foreign_keys
from bench.synthetic.reuse import ensure, find, shift
from bench.synthetic.spec import (
    CLINIC_SPEC,
    PASSWORD,
    REMINDER_SPEC,
    Spec,
    SyntheticClinic,
    expected_rows,
)

__all__ = [
    "BULK_TABLES",
    "CLINIC_SPEC",
    "PASSWORD",
    "REMINDER_SPEC",
    "Spec",
    "SyntheticClinic",
    "build",
    "ensure",
    "expected_rows",
    "find",
    "shift",
    "verify_foreign_keys",
]
