"""Deliver EventBridge events to Lambda targets on moto (moto delivers only to logs, SQS, buses, API destinations).

``install()`` wraps ``moto.events.models.Rule.send_to_targets``: the rule's Lambda targets are taken out and each
matching event is handed, on a thread of its own (EventBridge invokes asynchronously), to moto's Lambda backend
(``invoke`` with ``InvocationType: Event``), which the in-process runner then executes. The other targets keep moto's
own delivery. A function error is retried like Lambda's asynchronous invocation (twice by default, shortened delays).
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.utilities.arns import parse_arn

log = logging.getLogger(__name__)

ENVELOPE_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")

#: Lambda retries a failed asynchronous invocation twice; locally the delays are short.
RETRY_ATTEMPTS = 2
RETRY_DELAY_SECONDS = 0.5

_lock = threading.Lock()
_original: Callable[..., None] | None = None
_in_flight: set[threading.Thread] = set()
_idle = threading.Condition(_lock)


def _iso(value: Any) -> Any:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge hands it to a Lambda target."""
    shaped = {key: copy.deepcopy(event.get(key)) for key in ENVELOPE_KEYS}
    shaped["version"] = shaped["version"] or "0"
    shaped["resources"] = shaped["resources"] or []
    shaped["time"] = _iso(shaped["time"])
    return shaped


def target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """Apply the target's Input / InputPath / InputTransformer, as EventBridge does."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng.ext import parse

        found = parse(target["InputPath"]).find(event)
        return found[0].value if found else None
    transformer = target.get("InputTransformer")
    if transformer:
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,  # type: ignore[arg-type]
        )
    return event


def invoke_async(function_arn: str, payload: Any) -> threading.Thread:
    """Invoke a moto Lambda function on a new thread (retrying a function error); returns the thread."""
    thread = threading.Thread(target=_deliver, args=(function_arn, payload), name="eventbridge-to-lambda", daemon=True)
    with _lock:
        _in_flight.add(thread)
    thread.start()
    return thread


def _deliver(function_arn: str, payload: Any) -> None:
    from moto.awslambda.utils import get_backend

    try:
        arn = parse_arn(function_arn)
        backend = get_backend(arn.account, arn.region)
        body = json.dumps(payload)
        for attempt in range(RETRY_ATTEMPTS + 1):
            response_headers: dict[str, str] = {}
            result = backend.invoke(
                function_name=function_arn,
                qualifier=None,
                body=body,
                headers={"x-amz-invocation-type": "Event"},
                response_headers=response_headers,
            )
            if "x-amz-function-error" not in response_headers:
                return
            log.warning("%s failed on an EventBridge event (attempt %d): %s", arn.resource_id, attempt + 1, result)
            if attempt < RETRY_ATTEMPTS:
                time.sleep(RETRY_DELAY_SECONDS * (attempt + 1))
    except Exception:
        log.exception("EventBridge could not deliver to %s", function_arn)
    finally:
        with _lock:
            _in_flight.discard(threading.current_thread())
            _idle.notify_all()


def wait_idle(timeout: float = 30.0) -> bool:
    """Wait until every delivery started so far has ended; False on timeout."""
    deadline = time.monotonic() + timeout
    with _lock:
        while _in_flight:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _idle.wait(remaining)
    return True


def _send_to_targets(self: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
    assert _original is not None
    lambdas = [t for t in self.targets if parse_arn(t["Arn"]).service == "lambda"]
    if not lambdas:
        return _original(self, original_event, transform_input)
    if not self.event_pattern.matches_event(original_event):  # type: ignore[arg-type]
        return None
    others = [t for t in self.targets if t not in lambdas]
    if others:
        shadow = copy.copy(self)
        shadow.targets = others
        _original(shadow, original_event, transform_input)
    if self.state != "ENABLED":  # moto's put_events does not look at the rule's state
        return None
    shaped = envelope(original_event)
    for target in lambdas:
        invoke_async(target["Arn"], target_input(target, shaped) if transform_input else shaped)
    return None


def install() -> None:
    """Patch moto's EventBridge rule delivery in this process (idempotent)."""
    global _original
    with _lock:
        if _original is None:
            _original = Rule.send_to_targets
            Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    """Give moto its own delivery back."""
    global _original
    with _lock:
        if _original is not None:
            Rule.send_to_targets = _original  # type: ignore[method-assign]
            _original = None
