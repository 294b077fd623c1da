"""Step Functions "Execution Status Change" events on moto, which emits none.

On AWS, every execution of a Standard state machine that ends sends an event (source ``aws.states``) to the
account's default bus; pullthrough's RecoverRolloutFunction listens for FAILED, TIMED_OUT and ABORTED. The watcher
polls the emulator's executions (ListExecutions, a few times a second) and puts the same event, with the same detail
fields, for each execution it sees end, once. The event then reaches the function through ``events_bridge``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

DETAIL_TYPE = "Step Functions Execution Status Change"
POLL_SECONDS = 0.25


class ExecutionEvents:
    """Emits an execution status change event for every execution of ``state_machine_arn`` that ends."""

    def __init__(self, sfn: Any, events: Any, state_machine_arn: str) -> None:
        self._sfn = sfn
        self._events = events
        self._arn = state_machine_arn
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="execution-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            with contextlib.suppress(Exception):  # the emulator is going away; the next poll tells
                self.poll()

    def poll(self) -> int:
        """Emit the events of executions that ended since the last poll; how many were emitted."""
        emitted = 0
        pages = self._sfn.get_paginator("list_executions").paginate(stateMachineArn=self._arn)
        for execution in (e for page in pages for e in page["executions"]):
            arn = execution["executionArn"]
            if execution["status"] == "RUNNING" or arn in self._seen:
                continue
            self._seen.add(arn)
            described = self._sfn.describe_execution(executionArn=arn)
            detail = {
                "executionArn": arn,
                "stateMachineArn": self._arn,
                "name": described["name"],
                "status": described["status"],
                "error": described.get("error"),
                "cause": described.get("cause"),
            }
            self._events.put_events(
                Entries=[
                    {
                        "Source": "aws.states",
                        "DetailType": DETAIL_TYPE,
                        "Detail": json.dumps(detail),
                        "Resources": [arn],
                        "EventBusName": "default",
                    }
                ]
            )
            emitted += 1
        return emitted
