"""Translation of botocore errors into domain exceptions, shared by the adapters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import botocore
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from pullthrough import exceptions as ex

TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServerException",
        "InternalServiceError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


@contextmanager
def translated(codes: Mapping[str, type[ex.PullthroughError]], action: str) -> Iterator[None]:
    """Run an AWS call, raising the domain exception ``codes`` maps its error code to.

    Throttling, 5xx and connection problems become AwsTransientError; any other code AwsRequestRejected. A request
    the SDK's own service model refuses (it never left the function) becomes SdkModelMismatch, which no retry can
    cure. The AWS message is kept (AWS never echoes secret values in messages); the botocore error is chained.
    """
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = f"{action}: {code}: {error.get('Message', '')}".rstrip(": ")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in codes:
            raise codes[code](message) from exc
        if code in TRANSIENT_CODES or status >= 500:
            raise ex.AwsTransientError(message) from exc
        if code in ("AccessDeniedException", "AccessDenied"):
            raise ex.AccessDenied(message) from exc
        raise ex.AwsRequestRejected(message) from exc
    except ParamValidationError as exc:
        # botocore's report can quote a parameter's value (a credential, say): keep only the problems' names, and
        # do not chain the original (a logged traceback would print it).
        problems = "; ".join(_without_values(str(exc.kwargs.get("report", ""))))
        raise ex.SdkModelMismatch(
            f"{action}: botocore {botocore.__version__} refused the request: {problems}"
        ) from None
    except BotoCoreError as exc:  # connection errors, timeouts
        raise ex.AwsTransientError(f"{action}: {type(exc).__name__}") from exc


def _without_values(report: str) -> list[str]:
    """Each line of a ParamValidationError report, cut before any ``value:`` (unknown and missing names stay)."""
    return [line.split(", value:", 1)[0].strip() for line in report.splitlines() if line.strip()]
