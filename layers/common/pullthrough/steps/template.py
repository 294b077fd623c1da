"""ApplyTemplate: the repository creation template applied to repositories the rule creates."""

from __future__ import annotations

import json
from typing import Any

from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.exceptions import PullthroughError
from pullthrough.tasks import RegionTask, TemplateChange

PULL_THROUGH_CACHE = "PULL_THROUGH_CACHE"
_JSON_FIELDS = ("lifecyclePolicy", "repositoryPolicy")
# What ECR fills in when a template leaves these out.
_ECR_DEFAULTS: dict[str, Any] = {
    "encryptionConfiguration": {"encryptionType": "AES256"},
    "imageTagMutability": "MUTABLE",
}


def comparable_template(template: dict[str, Any]) -> dict[str, Any]:
    """Normalise what ECR fills in or may reformat: defaults, JSON policy documents, the order of appliedFor."""
    out = _ECR_DEFAULTS | template
    for key in _JSON_FIELDS:
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    if "appliedFor" in out:
        out["appliedFor"] = sorted(out["appliedFor"])
    return out


def ensure_template(ecr: EcrRegistry, prefix: str, wanted: dict[str, Any]) -> TemplateChange:
    """Make the region's creation template for ``prefix`` equal ``wanted`` (reads it first)."""
    return converge_template(ecr, prefix, wanted, ecr.get_template(prefix))


def converge_template(
    ecr: EcrRegistry, prefix: str, wanted: dict[str, Any], current: dict[str, Any] | None
) -> TemplateChange:
    """Make the region's creation template for ``prefix`` equal ``wanted`` with the fewest writes.

    Update cannot clear a field, so a template that must lose a field is deleted and created again; a re-creation
    that fails puts the old template back before raising (a failed step records no change for rollback to undo).
    """
    if current is None:
        ecr.put_template(prefix, wanted, exists=False)
        return TemplateChange(action="created")
    have, want = comparable_template(current), comparable_template(wanted)
    if have == want:
        return TemplateChange(action="unchanged", prior=current)
    if set(have) - set(want):
        ecr.delete_template(prefix)
        try:
            ecr.put_template(prefix, wanted, exists=False)
        except PullthroughError:
            ecr.put_template(prefix, current, exists=False)
            raise
        return TemplateChange(action="replaced", prior=current)
    ecr.put_template(prefix, wanted, exists=True)
    return TemplateChange(action="updated", prior=current)


def apply_template(task: RegionTask, ecr: EcrRegistry) -> TemplateChange:
    """ApplyTemplate step. Keeps other uses of an existing template (appliedFor) and adds PULL_THROUGH_CACHE."""
    if task.creationTemplate is None:
        return TemplateChange(action="skipped")
    current = ecr.get_template(task.prefix)
    applied_for = set(current.get("appliedFor", [])) if current else set()
    wanted = task.creationTemplate.to_ecr() | {"appliedFor": sorted(applied_for | {PULL_THROUGH_CACHE})}
    return converge_template(ecr, task.prefix, wanted, current)
