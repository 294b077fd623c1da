"""The CLI's failures and the exit code each one ends with (documented in ``pullthrough --help``)."""

from __future__ import annotations

from typing import Any

ROLLOUT_DID_NOT_SUCCEED = 1  # the rollout ended FAILED or ROLLED_BACK, or --timeout passed first
USAGE = 2  # click's own code for a bad command line (also: an unreadable rule file, no endpoint)
REFUSED = 3  # the API refused the request (4xx), failed (5xx) or could not be reached
INTERRUPTED = 130  # Ctrl-C while waiting (the rollout goes on)


class CliError(Exception):
    """Something the user can fix: printed as ``error: <message>``, exit code ``exit_code``."""

    def __init__(self, message: str, exit_code: int = REFUSED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ApiError(CliError):
    """The API answered with an error status: its ``message`` and per-field ``errors``."""

    def __init__(self, status: int, body: Any) -> None:
        body = body if isinstance(body, dict) else {"message": str(body or "")}
        message = str(body.get("message") or f"HTTP {status}")
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body
        self.errors: list[dict[str, Any]] = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        self.rollout_id: str | None = body.get("rolloutId")  # 409: the rollout that holds the prefix
