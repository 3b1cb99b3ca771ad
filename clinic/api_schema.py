"""The API schema: drf-spectacular's, with the error answers every operation can give."""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.plumbing import get_view_model
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words.")


class FieldErrorsSerializer(serializers.Serializer):
    """A 400: each offending field (or `non_field_errors`) with its messages."""

    non_field_errors = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Problems that concern no single field.",
    )


# A character `str.strip()` keeps: DRF trims a CharField's input (trim_whitespace), so a
# field that may not be blank refuses text made only of these, which minLength can't say.
# Python's whitespace spelled out, as ECMA's \s differs from it (U+001C-U+001F, U+FEFF).
NOT_ONLY_WHITESPACE = (
    r"[^\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)

_ERRORS = {
    "401": "Not signed in: send a session cookie or `Authorization: Token <key>`.",
    "403": "Signed in, but your role may not do this.",
    "404": "No such record among those you may see (another patient's or clinic's "
    "records answer 404 too).",
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus the error answers every operation can give."""

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        # Detail routes take any id segment (clinic.api.ANY_ID), so drf-spectacular reads
        # the type from the regex and leaves the id undescribed: name the record it picks.
        model = get_view_model(self.view, emit_warnings=False)
        record = getattr(self.view, "record_name", None) or (
            model._meta.verbose_name if model is not None else None
        )
        for parameter in parameters:
            if parameter.get("description") or record is None:
                continue
            if parameter["name"] in ("id", "pk"):
                parameter["description"] = (
                    f"The {record}'s id (an integer; any other value answers 404)."
                )
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(schema, dict)
            and schema.get("type") == "string"
            and isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and not {"pattern", "format", "enum"} & set(schema)
        ):
            schema["pattern"] = NOT_ONLY_WHITESPACE
        return schema

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        # A body whose serializer refuses fields it doesn't know says so.
        if direction == "request" and getattr(serializer, "refuses_unknown_fields", False):
            schema["additionalProperties"] = False
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        field_errors = self.resolve_serializer(FieldErrorsSerializer, "response").ref
        wanted = dict(_ERRORS)
        paginated = self._is_list_view() and getattr(self.view, "pagination_class", None)
        if self.method in ("POST", "PUT", "PATCH") or self.get_filter_backends() or paginated:
            wanted["400"] = "Invalid input: field errors, keyed by field."
        if getattr(self.view, "throttled_by_axes", False):
            wanted["429"] = "Too many failed sign-ins: locked out for a while."
        for code, description in wanted.items():
            if code in responses:
                continue
            # Field errors may name any field: the component sets no additionalProperties.
            schema = field_errors if code == "400" else error
            responses[code] = {
                "description": description,
                "content": {"application/json": {"schema": schema}},
            }
        return responses
