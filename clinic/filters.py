"""Query filters shared by the API's lists: what the schema forbids answers 400.

django-filter, like an HTML search form, drops a parameter it can't use (`?date_to=`,
`?open=null`) and answers the unfiltered list, so a caller who mistyped a filter reads
rows they didn't ask for as if they had. Here a parameter given without a value, or a
yes/no parameter given anything but `true` or `false`, answers 400 naming it; an id
is a whole number, as the schema says (django-filter's NumberFilter takes 1.5 or 1e40).
"""

from __future__ import annotations

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema_field

NEEDS_A_VALUE = "Give a value, or leave the parameter out."


class _RawValue(forms.TextInput):
    """Hands the field the text as sent (the stock yes/no widget turns text it doesn't
    know into "no filter")."""

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class TrueOrFalseField(forms.NullBooleanField):
    widget = _RawValue

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in (True, "true"):
            return True
        if value in (False, "false"):
            return False
        raise ValidationError("Either true or false.", code="invalid")

    def validate(self, value):
        """Any of the three is allowed: None is "no filter"."""


class BooleanFilter(django_filters.BooleanFilter):
    """`true` or `false`, as the schema's boolean is written in a query."""

    field_class = TrueOrFalseField


# Row ids are PostgreSQL bigints from 1.
ID_MIN, ID_MAX = 1, 2**63 - 1


class _IdField(forms.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(min_value=ID_MIN, max_value=ID_MAX, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        # Django's IntegerField also reads "1.0", " 1 " and other scripts' digits; an id is
        # written in ASCII digits only.
        text = str(value)
        if not (text.isascii() and text.isdigit()):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(text)


class IdFilter(django_filters.NumberFilter):
    """Rows that point at the record with this id."""

    field_class = _IdField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # What drf-spectacular documents (it reads a NumberFilter as any number); the
        # annotation is this instance's, so its description is kept.
        extend_schema_field(
            {
                "type": "integer",
                "minimum": ID_MIN,
                "maximum": ID_MAX,
                "description": str(self.extra.get("help_text", "")),
            }
        )(self)


class FilterSet(django_filters.FilterSet):
    """django-filter's, but a parameter that is present with an empty value is an error."""

    def is_valid(self) -> bool:
        super().is_valid()  # cleans the form, as django-filter does
        if not self.is_bound:
            return False
        for name in self.filters:
            if self.data.get(name) == "" and name not in self.form.errors:
                self.form.add_error(name, NEEDS_A_VALUE)
        return not self.form.errors
