"""Translation of botocore errors into domain exceptions, shared by the adapters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

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

    Throttling, 5xx and connection problems become AwsTransientError; any other code AwsRequestRejected.
    The AWS message is kept (AWS never echoes secret values in messages); the botocore error is chained.
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
    except BotoCoreError as exc:  # connection errors, timeouts
        raise ex.AwsTransientError(f"{action}: {type(exc).__name__}") from exc
