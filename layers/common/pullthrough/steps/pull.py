"""SmokePull: after ApplyTemplate, pull the rule's smoke image through the target's own cache, as a user would."""

from __future__ import annotations

from pullthrough.adapters.registry import RegistryEndpoint
from pullthrough.tasks import PullResult, RegionTask


def cached_repository(prefix: str, upstream_repository: str) -> str:
    """The ECR repository a pull of ``upstream_repository`` through the rule for ``prefix`` names."""
    return upstream_repository if prefix == "ROOT" else f"{prefix}/{upstream_repository}"


def smoke_pull(task: RegionTask, registry: RegistryEndpoint) -> PullResult:
    """Pull the smoke image's manifest through the target's registry; its digest.

    Raises SmokePullFailed with the registry's answer (the target then fails and is rolled back like any step).
    """
    if task.smokePull is None or task.planning:  # the state machine skips the step then; a plan never pulls
        return PullResult(pull="skipped")
    repository, tag = task.smokePull.repository, task.smokePull.tag
    pulled = registry.pull_manifest(cached_repository(task.prefix, repository), tag)
    return PullResult(pull=pulled.digest)
