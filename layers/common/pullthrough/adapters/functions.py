"""Lambda adapter: one of the app's own functions invoked synchronously (the API runs the SmokePull step now)."""

from __future__ import annotations

import json
from typing import Any

from pullthrough.adapters.errors import translated


class StepFunction:
    """A step function of the app (``arn``: its alias), invoked with a task; its result or its error."""

    def __init__(self, client: Any, arn: str) -> None:
        self._lambda = client
        self._arn = arn

    def invoke(self, event: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
        """(result, None), or (None, {type, message}) when the function raised (its class name and message)."""
        with translated({}, "Invoke"):
            answer = self._lambda.invoke(FunctionName=self._arn, Payload=json.dumps(event).encode())
            raw = answer["Payload"].read()
        payload = json.loads(raw) if raw else None
        if "FunctionError" in answer:
            found = payload if isinstance(payload, dict) else {}
            return None, {"type": str(found.get("errorType", "Error")), "message": str(found.get("errorMessage", ""))}
        return (payload if isinstance(payload, dict) else {}), None
