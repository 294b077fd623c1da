"""Fault injection and call counting for the emulated ECR API (process-wide, thread-safe).

Faults are process state, not moto state: moto's resets leave them alone, so tests clear
them explicitly (``clear()`` / ``reset_calls()``). The same registry serves ``mock_aws`` and a
``ThreadedMotoServer`` in the same process, and ``faults_http`` exposes it over HTTP.
"""

import threading
from collections import Counter
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from .registry.upstream import UPSTREAM_FAULTS

# HTTP status for error codes that are not client errors; everything else gets 400.
ERROR_STATUS = {
    "ServerException": 500,
    "InternalFailure": 500,
    "InternalServerError": 500,
    "InternalError": 500,
    "ServiceUnavailableException": 503,
    "ServiceUnavailable": 503,
    "TooManyRequestsException": 429,
}


@cache
def ecr_operation_names() -> frozenset[str]:
    """ECR's API operation names, from botocore's service model."""
    from moto.core.utils import get_service_model

    return frozenset(str(name) for name in get_service_model("ecr").operation_names)


@dataclass
class InjectedError:
    """Make the next ``remaining`` matching calls of ``operation`` fail (None: until cleared)."""

    operation: str
    error_code: str
    message: str
    status: int
    region: str | None = None
    prefix: str | None = None
    remaining: int | None = 1

    def matches(self, operation: str, region: str, prefixes: list[str]) -> bool:
        return (
            self.operation == operation
            and self.region in (None, region)
            and (self.prefix is None or self.prefix.removesuffix("/") in [p.removesuffix("/") for p in prefixes])
        )


@dataclass
class ValidationFailure:
    """Make ValidatePullThroughCacheRule report ``isValid: false`` with ``failure`` for ``prefix``."""

    prefix: str
    failure: str
    region: str | None = None
    remaining: int | None = None


def _check_times(times: int | None) -> None:
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError(f"times must be a positive integer or None, not {times!r}")


def _consume[F: (InjectedError, ValidationFailure)](faults: list[F], fault: F) -> F:
    if fault.remaining is not None:
        fault.remaining -= 1
        if fault.remaining == 0:
            faults.remove(fault)
    return fault


class Faults:
    """Registry of injected errors, forced validation failures and per-operation call counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: list[InjectedError] = []
        self._validation_failures: list[ValidationFailure] = []
        self._calls: Counter[tuple[str, str]] = Counter()

    def inject(
        self,
        operation: str,
        error_code: str,
        message: str | None = None,
        *,
        region: str | None = None,
        prefix: str | None = None,
        times: int | None = 1,
        status: int | None = None,
    ) -> InjectedError:
        """Make the next ``times`` calls of ECR ``operation`` (API name) fail with ``error_code``.

        ``region`` and ``prefix`` narrow the match; a prefix matches the request's
        ecrRepositoryPrefix/prefix or an entry of a Describe* prefix filter. ``times=None``
        fails every matching call until ``clear()``. ``status`` overrides the HTTP status
        (default 500 for server errors, 503 for unavailability, 400 otherwise).
        """
        if operation not in ecr_operation_names():
            raise ValueError(f"unknown ECR operation {operation!r}")
        if not error_code:
            raise ValueError("error_code must not be empty")
        _check_times(times)
        fault = InjectedError(
            operation=operation,
            error_code=error_code,
            message=message or f"Injected {error_code} for {operation}",
            status=status or ERROR_STATUS.get(error_code, 400),
            region=region,
            prefix=prefix,
            remaining=times,
        )
        with self._lock:
            self._errors.append(fault)
        return fault

    def fail_validation(
        self, prefix: str, failure_text: str, *, region: str | None = None, times: int | None = None
    ) -> ValidationFailure:
        """Make ValidatePullThroughCacheRule of an existing rule ``prefix`` return isValid=false."""
        if not failure_text:
            raise ValueError("failure_text must not be empty")
        _check_times(times)
        fault = ValidationFailure(prefix=prefix, failure=failure_text, region=region, remaining=times)
        with self._lock:
            self._validation_failures.append(fault)
        return fault

    def clear(self) -> None:
        """Drop every injected error and forced validation failure (call counts stay), and undo every upstream
        fault (revoked credentials, slow or unreachable upstreams, moved tags)."""
        with self._lock:
            self._errors.clear()
            self._validation_failures.clear()
        UPSTREAM_FAULTS.clear()

    def pending(self) -> dict[str, Any]:
        """The faults still armed, as JSON-ready dicts."""
        with self._lock:
            return {
                "errors": [asdict(fault) for fault in self._errors],
                "validationFailures": [asdict(fault) for fault in self._validation_failures],
                "upstreams": UPSTREAM_FAULTS.pending(),
            }

    def calls(self) -> dict[tuple[str, str], int]:
        """Calls received per (region, operation) since the last ``reset_calls()``, failed ones included."""
        with self._lock:
            return dict(self._calls)

    def reset_calls(self) -> None:
        """Zero the call counters."""
        with self._lock:
            self._calls.clear()

    # -- used by the ECR response handler -----------------------------------------------------

    def record_call(self, region: str, operation: str) -> None:
        with self._lock:
            self._calls[(region, operation)] += 1

    def take_error(self, operation: str, region: str, prefixes: list[str]) -> InjectedError | None:
        """Consume and return the first injected error matching this call, if any."""
        with self._lock:
            for fault in self._errors:
                if fault.matches(operation, region, prefixes):
                    return _consume(self._errors, fault)
        return None

    def take_validation_failure(self, region: str, prefix: str) -> str | None:
        """Consume and return the forced failure text for this rule, if any."""
        with self._lock:
            for fault in self._validation_failures:
                if fault.prefix.removesuffix("/") == prefix.removesuffix("/") and fault.region in (None, region):
                    return _consume(self._validation_failures, fault).failure
        return None


FAULTS = Faults()

inject = FAULTS.inject
fail_validation = FAULTS.fail_validation
clear = FAULTS.clear
pending = FAULTS.pending
calls = FAULTS.calls
reset_calls = FAULTS.reset_calls
