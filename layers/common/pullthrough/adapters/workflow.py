"""Step Functions and EventBridge adapters: start and read rollout executions, emit the app's events."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from pullthrough import exceptions as ex
from pullthrough.adapters.errors import translated

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_stepfunctions import SFNClient

EVENT_SOURCE = "pullthrough"
RECOVERY_SUFFIX = "-recover"  # the execution that rolls back and finishes a rollout whose execution ended early
ENDED_EARLY = ("FAILED", "TIMED_OUT", "ABORTED")
RECOVERY_GRACE_SECONDS = 60  # how long an execution that ended early waits for its recovery to start
_SFN_ERRORS: dict[str, type[ex.PullthroughError]] = {
    "ExecutionAlreadyExists": ex.ConcurrentModification,
    "ExecutionDoesNotExist": ex.AwsRequestRejected,
}


class Executions:
    """Executions of the rollout state machine (one per rollout; the rollout id is the execution name)."""

    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._sfn = client
        self._arn = state_machine_arn

    def account_id(self) -> str:
        return self._arn.split(":")[4]

    def execution_arn(self, rollout_id: str) -> str:
        return self._arn.replace(":stateMachine:", ":execution:") + f":{rollout_id}"

    def start(self, rollout_id: str, payload: dict[str, Any]) -> str:
        with translated(_SFN_ERRORS, "StartExecution"):
            started = self._sfn.start_execution(stateMachineArn=self._arn, name=rollout_id, input=json.dumps(payload))
        return started["executionArn"]

    def _describe(self, name: str) -> tuple[str, float | None] | None:
        """(status, stopped at in epoch seconds) of an execution; None when there is no such execution."""
        try:
            with translated(_SFN_ERRORS, "DescribeExecution"):
                described = self._sfn.describe_execution(executionArn=self.execution_arn(name))
        except ex.AwsRequestRejected:
            return None
        stopped = described.get("stopDate")
        return described["status"], stopped.timestamp() if stopped else None

    def execution_status(self, name: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED; None when there is no such execution."""
        found = self._describe(name)
        return found[0] if found else None

    def status(self, rollout_id: str) -> str | None:
        """The rollout's execution status; once it ended early, that of its recovery execution.

        Until the recovery starts (its event takes a moment) the rollout still counts as RUNNING, so that no new
        rollout takes the prefix while the recovery is about to restore its regions.
        """
        found = self._describe(rollout_id)
        if found is None or found[0] not in ENDED_EARLY:
            return found[0] if found else None
        recovery = self.execution_status(rollout_id + RECOVERY_SUFFIX)
        if recovery is not None:
            return recovery
        stopped = found[1]
        if stopped is not None and time.time() - stopped < RECOVERY_GRACE_SECONDS:
            return "RUNNING"
        return found[0]

    def input_of(self, name: str) -> dict[str, Any]:
        """The input an execution was started with (ARNs and ids only, never a credential value)."""
        with translated(_SFN_ERRORS, "DescribeExecution"):
            described = self._sfn.describe_execution(executionArn=self.execution_arn(name))
        loaded: dict[str, Any] = json.loads(described.get("input") or "{}")
        return loaded


class EventBus:
    """The app's events on an EventBridge bus."""

    def __init__(self, client: EventBridgeClient, bus_name: str = "default") -> None:
        self._events = client
        self._bus = bus_name

    def emit(self, detail_type: str, detail: dict[str, Any]) -> None:
        with translated({}, "PutEvents"):
            answer = self._events.put_events(
                Entries=[
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail),
                        "EventBusName": self._bus,
                    }
                ]
            )
        if answer.get("FailedEntryCount"):
            raise ex.AwsTransientError(f"PutEvents: {answer['Entries'][0].get('ErrorCode', 'failed')}")
