"""Helpers for the step handler tests: run a handler on a sample event and read back what exists."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from pullthrough.adapters.store import RolloutStore
from tests.support import HOME, FakeContext, load_event, load_handler

HANDLERS = {
    name: load_handler(name)
    for name in (
        "snapshot_region",
        "store_secret",
        "create_rule",
        "validate_rule",
        "apply_template",
        "rollback",
        "remove_rule",
    )
}


def run(step: str, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke a step handler as Lambda would."""
    result: dict[str, Any] = HANDLERS[step].handler(event, FakeContext())
    json.dumps(result)  # Step Functions needs JSON
    return result


def task(step: str = "store_secret", **overrides: Any) -> dict[str, Any]:
    return load_event(step, **overrides)


def run_all(base: dict[str, Any]) -> dict[str, Any]:
    """Snapshot the region, then run the four steps in order on its state, as the state machine does."""
    state = dict(base)
    run("snapshot_region", state)
    state["storeSecret"] = run("store_secret", state)
    state["createRule"] = run("create_rule", state)
    state["validateRule"] = run("validate_rule", state)
    state["applyTemplate"] = run("apply_template", state)
    return state


def hold(prefix: str, *regions: str) -> None:
    """Record, as a finished rollout does, that pullthrough holds ``prefix`` in ``regions`` of the home account."""
    RolloutStore(boto3.client("dynamodb", region_name=HOME), os.environ["TABLE_NAME"]).put_rule(
        prefix, {"deployed": {region: {} for region in regions}}
    )


def region_snapshot(region: str, prefix: str) -> dict[str, Any]:
    """What the region holds for ``prefix``: rule, template and the secret's current value and version."""
    ecr = boto3.client("ecr", region_name=region)
    sm = boto3.client("secretsmanager", region_name=region)
    rules = [
        {k: v for k, v in r.items() if k not in ("createdAt", "updatedAt")}
        for r in ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
        if r["ecrRepositoryPrefix"] == prefix
    ]
    templates = [
        {k: v for k, v in t.items() if k not in ("createdAt", "updatedAt")}
        for t in ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
        if t["prefix"] == prefix
    ]
    try:
        got = sm.get_secret_value(SecretId=f"ecr-pullthroughcache/{prefix}")
        tags = sm.describe_secret(SecretId=got["ARN"]).get("Tags") or []
        secret: dict[str, Any] | None = {
            "value": got["SecretString"],
            "version": got["VersionId"],
            "tags": {tag["Key"]: tag["Value"] for tag in tags},
        }
    except sm.exceptions.ResourceNotFoundException:
        secret = None
    except sm.exceptions.InvalidRequestException:  # scheduled for deletion
        secret = {"scheduledForDeletion": True}
    return {"rule": rules[0] if rules else None, "template": templates[0] if templates else None, "secret": secret}
