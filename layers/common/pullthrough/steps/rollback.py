"""Rollback: put one region back exactly as its snapshot recorded it before the rollout."""

from __future__ import annotations

from collections.abc import Callable

from pullthrough import aws
from pullthrough import exceptions as ex
from pullthrough.adapters.account import AccountRegions
from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secrets import SecretStore
from pullthrough.adapters.store import RolloutStore
from pullthrough.regions import OPT_IN_REGIONS
from pullthrough.steps.ownership import check_ownership
from pullthrough.steps.snapshot import RegionSnapshot, restore_snapshot, take_snapshot
from pullthrough.tasks import RegionTask, RollbackResult


def snapshot_region(
    task: RegionTask,
    ecr: EcrRegistry,
    secrets: SecretStore,
    store: RolloutStore,
    account_regions: Callable[[], AccountRegions] | None = None,
) -> dict[str, bool]:
    """Snapshot step: record the region's state before the rollout's first write (a retry keeps the first one).

    Raises PastFailureTolerance when the rollout already counts more failed regions than it tolerates (nothing is
    read or written in the region then: it is skipped, like StackSets stops starting accounts). A rollout whose
    targets all start at once has them all under way from the start (``checkTolerance`` false): none is gated.
    Raises RegionNotEnabled for an opt-in region the target account has not enabled (``account_regions`` opens
    its Account Management client, asked only for opt-in regions): the target is skipped, not failed.

    A target to apply that holds what pullthrough does not manage fails here, before any write, with NotManaged
    (or SecretKeyUnsupported): see pullthrough.steps.ownership. Its snapshot is what it held, so the rollback that
    follows leaves it exactly as it was.
    """
    if task.checkTolerance:
        failed = store.failed_count(task.rolloutId)
        if failed > task.failureTolerance:
            raise ex.PastFailureTolerance(f"{failed} region(s) failed, more than the {task.failureTolerance} tolerated")
    if account_regions is not None and task.region in OPT_IN_REGIONS and not account_regions().is_enabled(task.region):
        where = f"account {task.account}" if task.account else "the home account"
        raise ex.RegionNotEnabled(f"{task.region} is an opt-in region {where} has not enabled")
    snapshot = take_snapshot(task.prefix, ecr, secrets)
    kept = store.put_snapshot(task.rolloutId, task.region, snapshot.dumps(), task.account)
    if task.action == "APPLY":
        if not kept:  # a retry: judge what the target held before the rollout's first write, not what it wrote
            snapshot = RegionSnapshot.loads(store.get_snapshot(task.rolloutId, task.region, task.account) or "{}")
        home = aws.is_home(task.account)
        account = (None if home else task.account) or aws.home_account() or "(home)"
        check_ownership(
            task,
            snapshot,
            lambda: store.holds(task.prefix, None if home else task.account, task.region),
            account,
        )
    return {"recorded": kept}


def rollback_region(
    task: RegionTask, store: RolloutStore, target: Callable[[], tuple[EcrRegistry, SecretStore]]
) -> RollbackResult:
    """Restore the region to its snapshot; a region with none was never touched, and is not even reached
    (``target`` opens its registry and secrets: in another account, through its execution role)."""
    recorded = store.get_snapshot(task.rolloutId, task.region, task.account)
    if recorded is None:
        return RollbackResult(region=task.region, template="unchanged", rule="unchanged", secret="unchanged")
    snapshot = RegionSnapshot.loads(recorded)
    return restore_snapshot(task.region, task.prefix, snapshot, *target())
