"""Step Functions and EventBridge adapters: start and read rollout executions, emit the app's events."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pullthrough import exceptions as ex
from pullthrough.adapters.errors import translated

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_stepfunctions import SFNClient

EVENT_SOURCE = "pullthrough"
RECOVERY_SUFFIX = "-recover"  # the execution that rolls back and finishes a rollout whose execution ended early
ENDED_EARLY = ("FAILED", "TIMED_OUT", "ABORTED")
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

    def execution_status(self, name: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED; None when there is no such execution."""
        try:
            with translated(_SFN_ERRORS, "DescribeExecution"):
                return self._sfn.describe_execution(executionArn=self.execution_arn(name))["status"]
        except ex.AwsRequestRejected:
            return None

    def status(self, rollout_id: str) -> str | None:
        """The rollout's execution status; once it ended early, that of its recovery execution if one started."""
        status = self.execution_status(rollout_id)
        if status in ENDED_EARLY:
            return self.execution_status(rollout_id + RECOVERY_SUFFIX) or status
        return status

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
