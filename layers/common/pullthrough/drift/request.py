"""The sweep's input: a scheduled EventBridge event or an on-demand request, and the mode it runs in."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from pullthrough import exceptions as ex
from pullthrough.models import parse_model
from pullthrough.request_fields import RulePrefix

Mode = Literal["report", "repair"]
MODES: tuple[str, ...] = ("report", "repair")


class SweepRequest(BaseModel):
    """An on-demand sweep: ``{"mode": "report"|"repair", "prefixes": [...]}``, both optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode | None = None
    prefixes: Annotated[list[RulePrefix], Field(min_length=1, max_length=1000)] | None = None


def parse_sweep_event(event: Any) -> SweepRequest:
    """A scheduled EventBridge event (content ignored) or an on-demand request; InvalidRequest naming the field."""
    if isinstance(event, dict) and "detail-type" in event and "source" in event:
        return SweepRequest()
    return parse_model(SweepRequest, event, what="drift sweep request")


def mode_from_env() -> Mode:
    """DRIFT_MODE: ``report`` (default) or ``repair``."""
    mode = os.environ.get("DRIFT_MODE") or "report"
    if mode in MODES:
        return cast(Mode, mode)
    raise ex.InvalidRequest(f"DRIFT_MODE must be one of {', '.join(MODES)}, not {mode!r}", field="DRIFT_MODE")
