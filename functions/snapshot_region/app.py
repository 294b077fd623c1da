"""SnapshotRegion: the region's gate (failure tolerance) and a record of what it holds before the first write."""

from __future__ import annotations

from pullthrough.adapters.store import store_from_env
from pullthrough.entrypoints import step_handler
from pullthrough.planning import account_regions_for, ecr_for, secrets_for
from pullthrough.regions import home_region
from pullthrough.steps.rollback import snapshot_region
from pullthrough.tasks import RegionTask


@step_handler("SnapshotRegion")
def handler(task: RegionTask) -> dict[str, bool]:
    return snapshot_region(
        task,
        ecr=ecr_for(task),
        secrets=secrets_for(task),
        store=store_from_env(home_region()),
        account_regions=lambda: account_regions_for(task),
    )
