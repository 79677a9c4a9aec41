"""One schema per resource: pydantic v2 models that validate the API body, describe it
in the OpenAPI document and serialize the response. Field limits are declared once, on
the model, and read from there by the services, the web forms and the CSV import.

Why pydantic v2 (not marshmallow with flask-smorest): its validation core is compiled
(Rust), so checking a body costs microseconds; it writes JSON Schema 2020-12 itself,
which OpenAPI 3.1 uses as is, so the document is generated rather than written beside
the code; ``extra="forbid"`` refuses unknown fields (422) without a hand-written list;
and it adds no web framework of its own (flask-smorest would bring its own blueprint
and error handling next to ours). It was already installed.

Validation errors become our own codes (``callcenter.core.errors.Problem``), so the API
answers the same shape whether the schema or a service rejected the input.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar

import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict
from pydantic_core import PydanticCustomError

from callcenter.core.errors import Problem, ValidationError
from callcenter.core.fields import MAX_ID, is_email_address


class Schema(BaseModel):
    """Base of request and response schemas: unknown fields are refused, and JSON
    values are taken strictly (a number is not text, ``true`` is not an id)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    #: Fields shown in responses that a client may not send: a 422 "read only" rather
    #: than "unknown field" when one comes back in a body.
    read_only: ClassVar[frozenset[str]] = frozenset()
    #: field -> code for fields refused on this operation with a reason of their own
    #: (e.g. ``customer_id`` on a product PATCH: move it with /assign).
    refused: ClassVar[Mapping[str, str]] = {}
    #: field -> code for a value of the right type in the wrong form (a pattern).
    pattern_codes: ClassVar[Mapping[str, str]] = {}


#: A record id in a body: a JSON integer from 1 to MAX_ID, strictly (not "1", not 1.5 or
#: 1.0, not true), whatever mode a model is validated in. Every schema's ids use this one.
Id = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]


def _email_address(value: str) -> str:
    # Empty clears the field; anything else must pass the one e-mail rule (the CSV import,
    # the web forms and the services use the same function).
    if value.strip() and not is_email_address(value.strip()):
        raise PydanticCustomError("email", "not an e-mail address")
    return value


def email_field(max_length: int) -> Any:
    """An e-mail address field of at most ``max_length`` characters ("" clears it)."""
    return Annotated[str, Field(max_length=max_length), AfterValidator(_email_address)]


def _max_length(metadata: Iterable[Any], annotation: Any) -> int | None:
    for meta in metadata:
        if getattr(meta, "max_length", None) is not None:
            return meta.max_length
        # ``Field(max_length=...)`` inside an ``Annotated`` member holds it in its metadata.
        found = _max_length(getattr(meta, "metadata", ()), None)
        if found is not None:
            return found
    # ``Annotated[str, Field(max_length=...)] | None``: the limit sits on a member.
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is typing.Annotated:
            found = _max_length(arg.__metadata__, None)
            if found is not None:
                return found
    return None


def max_lengths(model: type[BaseModel]) -> dict[str, int]:
    """field -> its ``max_length``: the one definition of a text field's limit."""
    limits = {}
    for name, info in model.model_fields.items():
        found = _max_length(info.metadata, info.annotation)
        if found is not None:
            limits[name] = found
    return limits


_CODES = {
    "missing": "required",
    "string_type": "not_text",
    "string_too_short": "required",
    "bool_type": "not_boolean",
    "int_type": "not_id",
    "int_parsing": "not_id",
    "greater_than_equal": "not_id",
    "less_than_equal": "not_id",
    "date_type": "not_date",
    "date_parsing": "not_date",
    "date_from_datetime_parsing": "not_date",
    "date_from_datetime_inexact": "not_date_only",
    "model_type": "not_object",
    "dict_type": "not_object",
    "list_type": "not_list",
    "extra_forbidden": "unknown_field",
    "email": "email",
    "decimal_text": "decimal_text",
    "datetime_type": "not_datetime",
    "datetime_parsing": "not_datetime",
    "datetime_from_date_parsing": "not_datetime",
}


def _field_name(loc: tuple) -> str:
    """``("phones", 2)`` -> ``phones[2]``, the API's way of naming an item."""
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        elif not (isinstance(part, str) and part[:1].isupper()):  # skip union member tags
            name += ("." if name else "") + str(part)
    return name or "body"


def problems(exc: pydantic.ValidationError, model: type[Schema]) -> dict[str, Problem]:
    """pydantic's errors as our field problems (the first one per field)."""
    out: dict[str, Problem] = {}
    for error in exc.errors(include_url=False):
        name = _field_name(error["loc"])
        if name in out:
            continue
        kind, ctx = error["type"], error.get("ctx") or {}
        if kind == "extra_forbidden" and name in model.refused:
            out[name] = Problem(model.refused[name])
        elif kind == "extra_forbidden" and name in model.read_only:
            out[name] = Problem("read_only")
        elif kind == "string_too_long":
            out[name] = Problem("too_long", {"max": ctx.get("max_length")})
        elif kind in ("literal_error", "enum"):
            out[name] = Problem("choice", {"choices": str(ctx.get("expected", ""))
                                           .replace("'", "").replace(" or ", ", ")})
        elif kind == "string_pattern_mismatch":
            out[name] = Problem(model.pattern_codes.get(name, "invalid_value"))
        elif kind == "too_long":
            out[name] = Problem("too_many", {"max": ctx.get("max_length")})
        else:
            out[name] = Problem(_CODES.get(kind, "invalid_value"))
    return out


def parse(model: type[Schema], data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a client sent, checked against ``model``; ValidationError naming each
    bad field otherwise. Only the given fields come back (a PATCH changes those)."""
    try:
        # JSON mode: strict types as JSON has them, dates as ISO text.
        instance = model.model_validate_json(pydantic.TypeAdapter(dict).dump_json(data),
                                             strict=True)
    except pydantic.ValidationError as exc:
        raise ValidationError(problems(exc, model)) from None
    return instance.model_dump(exclude_unset=True)


def json_schemas(models: Iterable[type[BaseModel]], *,
                 mode: str = "validation") -> dict[str, dict[str, Any]]:
    """OpenAPI components for ``models`` (and the models they use), by class name:
    ``mode="validation"`` for request bodies, ``"serialization"`` for responses."""
    out: dict[str, dict[str, Any]] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}",
                                         mode=mode)  # type: ignore[arg-type]
        for name, sub in schema.pop("$defs", {}).items():
            out[name] = sub
        out[model.__name__] = schema
    return out
