"""Plans: the rollout's own step code run against adapters that read for real and write nothing.

A plan (``?dryRun=true``) runs the same state machine and the same converge functions as an apply. Its adapters are
built here, in one place, on clients that refuse every mutating call (``aws.client(..., read_only=True)``), and they
answer each write as if it had succeeded, so the step's decision (created, updated, replaced, deleted, ...) is what
an apply would do. A write that slipped past these classes would be refused by the client, never sent.
"""

from __future__ import annotations

from typing import Any

from pullthrough import aws
from pullthrough.adapters.account import AccountRegions
from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.registry import RegistryEndpoint
from pullthrough.adapters.secrets import SecretStore, SecretVersion
from pullthrough.regions import home_region
from pullthrough.tasks import RegionTask

PLANNED_VERSION = "planned"


class PlannedEcr(EcrRegistry):
    """ECR reads as they are; writes answered as an apply would see them, never sent."""

    def create_rule(self, rule: dict[str, Any]) -> None:
        return None

    def update_rule(self, prefix: str, *, credential_arn: str | None, custom_role_arn: str | None) -> None:
        return None

    def delete_rule(self, prefix: str) -> bool:
        return self.get_rule(prefix) is not None

    def put_template(self, prefix: str, template: dict[str, Any], *, exists: bool) -> None:
        return None

    def delete_template(self, prefix: str) -> bool:
        return self.get_template(prefix) is not None


class PlannedSecrets(SecretStore):
    """Secrets Manager reads as they are (values only where the step compares them); writes never sent."""

    def __init__(self, client: Any, region: str, account: str | None = None) -> None:
        super().__init__(client)
        self._region = region
        self._account = account or "000000000000"

    def create(self, name: str, value: str, *, description: str, prefix: str | None = None) -> SecretVersion:
        return SecretVersion(f"arn:aws:secretsmanager:{self._region}:{self._account}:secret:{name}", PLANNED_VERSION)

    def put(self, secret_id: str, value: str) -> SecretVersion:
        return SecretVersion(secret_id, PLANNED_VERSION)

    def restore(self, secret_id: str) -> bool:
        return self.is_scheduled_for_deletion(secret_id)

    def tag(self, secret_id: str, tags: dict[str, str]) -> None:
        return None

    def untag(self, secret_id: str, keys: list[str]) -> None:
        return None

    def schedule_deletion(self, secret_id: str, *, recovery_days: int = 7) -> bool:
        return self.describe(secret_id) is not None

    def make_current(self, secret_id: str, version_id: str) -> bool:
        found = self.describe(secret_id)
        return found is not None and found[0].version_id != version_id

    def delete(self, secret_id: str) -> bool:
        return self.describe(secret_id) is not None


def _acting(task: RegionTask, *, home: bool = False) -> dict[str, Any]:
    """Client options: the task's target account (through its execution role) or the home account's; read-only
    for a plan."""
    return {"read_only": task.planning, "account": None if home else task.account, "session_name": task.rolloutId}


def account_regions_for(task: RegionTask) -> AccountRegions:
    """The task's account's region opt-in states (Account Management is global: asked in the home region)."""
    return AccountRegions(aws.client("account", home_region(), **_acting(task)))


def ecr_for(task: RegionTask, *, slow_reads: bool = False) -> EcrRegistry:
    """The task's registry (its account and region): planned (read-only) for a plan, real otherwise.

    ``slow_reads``: its calls wait on the upstream registry (ValidatePullThroughCacheRule): a longer read timeout."""
    client = aws.client("ecr", task.region, slow_reads=slow_reads, **_acting(task))
    return PlannedEcr(client) if task.planning else EcrRegistry(client)


def secrets_for(task: RegionTask, region: str | None = None, *, home: bool = False) -> SecretStore:
    """Secrets of ``region`` (default: the task's) in the task's account, or the home account's (``home``: the
    source secret): planned (read-only) for a plan, real otherwise."""
    where = region or task.region
    client = aws.client("secretsmanager", where, **_acting(task, home=home))
    return PlannedSecrets(client, where, None if home else task.account) if task.planning else SecretStore(client)


def registry_for(task: RegionTask) -> RegistryEndpoint:
    """The task's registry endpoint, read as a puller (its account and region; a plan never pulls)."""
    return RegistryEndpoint(aws.client("ecr", task.region, **_acting(task)))
