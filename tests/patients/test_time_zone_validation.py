"""A time zone is an IANA key; anything else is a validation error, never an OSError
from the zone files (a key is a file name)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from patients.models import validate_time_zone


@pytest.mark.parametrize(
    "value",
    ["A" * 300, "Europe/" + "a" * 300, "Europe", "../../etc/passwd", "Europe/London\x00", "", "x"],
    ids=["300 characters", "region and 300", "a directory", "a path out", "a NUL", "empty", "x"],
)
def test_what_is_not_a_time_zone_is_a_validation_error(value):
    with pytest.raises(ValidationError):
        validate_time_zone(value)


@pytest.mark.parametrize("value", ["Europe/London", "America/Argentina/Buenos_Aires", "UTC"])
def test_iana_keys_are_time_zones(value):
    validate_time_zone(value)
