"""SmokePull: pull the rule's smoke image through the target's cache after ApplyTemplate; its digest, or the
registry's answer as SmokePullFailed."""

from __future__ import annotations

from pullthrough.entrypoints import step_handler
from pullthrough.planning import registry_for
from pullthrough.steps.pull import smoke_pull
from pullthrough.tasks import PullResult, RegionTask


@step_handler("SmokePull")
def handler(task: RegionTask) -> PullResult:
    return smoke_pull(task, registry_for(task))
