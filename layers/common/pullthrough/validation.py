"""Validation errors in plain words: what a field allows, never a regex, a library's prefix or the input's value.

Pydantic's own messages describe its internals ("String should match pattern '^([a-z0-9]+...'", "Value error, ...",
"at most 60000 items" for a string). Fields with a shape (a pattern or a length) say what they accept through
``described``; every other error is reworded here from its type and context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

# Keys under ``credentials`` that may be named; any other key a caller invents could itself be a secret.
CREDENTIAL_KEYS = ("username", "accessToken", "expiresAt")
# Location parts that say where the resolver found the value, not which field it is.
_SOURCES = ("body", "query", "path", "header")
_SHAPE_ERRORS = frozenset({"string_too_short", "string_too_long", "string_pattern_mismatch", "too_short", "too_long"})
_KEY_LENGTH = 64  # an invented key is named, but never at length


def described(message: str) -> WrapValidator:
    """A validator that reports any length or pattern failure of the wrapped field as ``message``.

    Type errors (a number where a string belongs) keep their own message.
    """

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            if all(e["type"] in _SHAPE_ERRORS for e in exc.errors()):
                raise PydanticCustomError("shape", message) from None
            raise

    return WrapValidator(check)


def _count(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def _plural(n: Any, one: str, many: str) -> str:
    return f"{_count(n)} {one if n == 1 else many}"


def _error_text(ctx: Mapping[str, Any]) -> str:
    return str(ctx.get("error", "is not valid"))


# Pydantic error type -> message from its context. Anything not listed keeps Pydantic's message.
_MESSAGES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda ctx: "is required",
    "string_type": lambda ctx: "must be a string",
    "string_too_short": lambda ctx: f"must be at least {_plural(ctx['min_length'], 'character', 'characters')}",
    "string_too_long": lambda ctx: f"must be at most {_plural(ctx['max_length'], 'character', 'characters')}",
    "string_pattern_mismatch": lambda ctx: "has characters or a form this field does not allow",
    "too_short": lambda ctx: f"must have at least {_plural(ctx['min_length'], 'item', 'items')}",
    "too_long": lambda ctx: f"must have at most {_plural(ctx['max_length'], 'item', 'items')}",
    "literal_error": lambda ctx: f"must be one of {ctx['expected']}",
    "int_type": lambda ctx: "must be a whole number",
    "int_parsing": lambda ctx: "must be a whole number",
    "int_from_float": lambda ctx: "must be a whole number",
    "bool_type": lambda ctx: "must be true or false",
    "bool_parsing": lambda ctx: "must be true or false",
    "greater_than_equal": lambda ctx: f"must be at least {_count(ctx['ge'])}",
    "less_than_equal": lambda ctx: f"must be at most {_count(ctx['le'])}",
    "list_type": lambda ctx: "must be a list",
    "dict_type": lambda ctx: "must be a JSON object",
    "model_type": lambda ctx: "must be a JSON object",
    "model_attributes_type": lambda ctx: "must be a JSON object",
    "json_invalid": lambda ctx: "is not valid JSON",
    "json_type": lambda ctx: "is not valid JSON",
    "value_error": _error_text,
    "assertion_error": _error_text,
}


def _models_in(annotation: Any) -> Iterable[type[BaseModel]]:
    """The Pydantic models an annotation holds (through Optional, Annotated, list and dict)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    if get_origin(annotation) in (Union, UnionType) or get_args(annotation):
        for arg in get_args(annotation):
            yield from _models_in(arg)


def _model_at(model: type[BaseModel] | None, path: list[str]) -> type[BaseModel] | None:
    """The model that holds the object at ``path`` (list indexes skipped); None when the path leaves the models."""
    for part in path:
        if model is None or part.isdigit():
            continue
        field = model.model_fields.get(part)
        model = next(iter(_models_in(field.annotation)), None) if field is not None else None
    return model


def _unknown_field(model: type[BaseModel] | None, parent: list[str]) -> str:
    known = _model_at(model, parent)
    if known is None:
        return "is not a known field"
    return "is not a known field (known fields here: " + ", ".join(known.model_fields) + ")"


def field_errors(errors: Iterable[Mapping[str, Any]], model: type[BaseModel] | None = None) -> list[dict[str, str]]:
    """Validation errors (Pydantic's, or the API resolver's) as ``[{field, message}]`` in plain words.

    ``model`` is the model that was validated: an unknown field's message lists the fields it takes. No input value
    is ever copied into a message; under ``credentials`` only its own keys (CREDENTIAL_KEYS) are named.
    """
    out: list[dict[str, str]] = []
    for error in errors:
        kind, ctx = error["type"], error.get("ctx") or {}
        parts = [str(p)[:_KEY_LENGTH] for p in error.get("loc", ()) if p not in _SOURCES]
        if kind == "json_invalid":
            parts = []
        if kind == "extra_forbidden" and parts[:1] == ["credentials"]:
            out.append({"field": "credentials", "message": "takes only username, accessToken and expiresAt"})
            continue
        if parts[:1] == ["credentials"] and parts[1:2] and parts[1] not in CREDENTIAL_KEYS:
            parts = parts[:1]
        if kind == "extra_forbidden":
            message = _unknown_field(model, parts[:-1])
        elif kind in _MESSAGES:
            message = _MESSAGES[kind](ctx)
        else:
            message = str(error.get("msg") or kind)
        out.append({"field": ".".join(parts) or "body", "message": message})
    return out
