"""Plain checks of a function's JSON input, each failure an InvalidRequest naming the field (no pydantic: see
pullthrough.tasks for why the step functions do without it)."""

from __future__ import annotations

import re
from typing import Any, cast

from pullthrough.exceptions import InvalidRequest


def refuse(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: {message}", field=field, errors=[{"field": field, "message": message}])


def json_object(data: Any, where: str, known: frozenset[str] | None = None) -> dict[str, Any]:
    """``data`` as a JSON object; with ``known``, one with no other keys."""
    if not isinstance(data, dict):
        raise refuse(where or "input", "must be a JSON object")
    if known is not None:
        extra = sorted(set(data) - known)
        if extra:
            raise refuse(".".join(p for p in (where, str(extra[0])[:64]) if p), "is not a known field")
    return data


def text_field(
    data: dict[str, Any],
    key: str,
    where: str,
    *,
    required: bool = False,
    pattern: re.Pattern[str] | None = None,
    max_length: int = 2048,
) -> str | None:
    """A string field (None when absent or null, unless ``required``), checked against ``pattern``."""
    field = f"{where}.{key}" if where else key
    value = data.get(key)
    if value is None:
        if required:
            raise refuse(field, "is required")
        return None
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise refuse(field, f"must be a non-empty string of at most {max_length} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise refuse(field, "does not have the expected form")
    return value


def flag_field(data: dict[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise refuse(key, "must be true or false")
    return value


def choice_field(
    data: dict[str, Any], key: str, where: str, choices: tuple[str, ...], default: str | None = None
) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise refuse(f"{where}.{key}" if where else key, f"must be one of {', '.join(choices)}")
    return cast(str, value)
