"""ApplyTemplate: the repository creation template applied to repositories the rule creates."""

from __future__ import annotations

import json
from typing import Any

from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.tasks import RegionTask, TemplateChange

PULL_THROUGH_CACHE = "PULL_THROUGH_CACHE"
_JSON_FIELDS = ("lifecyclePolicy", "repositoryPolicy")
# What ECR applies when a template leaves these out (botocore's model: an omitted imageTagMutability is MUTABLE;
# repositories are AES256-encrypted unless told otherwise). Sent explicitly, never left to ECR.
_ECR_DEFAULTS: dict[str, Any] = {
    "encryptionConfiguration": {"encryptionType": "AES256"},
    "imageTagMutability": "MUTABLE",
}
# How an update says "none" for a field (the model allows each empty; an empty customRoleArn means ECR's
# service-linked role). Only updates send them: a create leaves the field out instead.
_NONE: dict[str, Any] = {
    "description": "",
    "resourceTags": [],
    "repositoryPolicy": "",
    "lifecyclePolicy": "",
    "customRoleArn": "",
}


def complete_template(template: dict[str, Any]) -> dict[str, Any]:
    """Every field of ``template`` explicit: ECR's defaults and empty values where it has none.

    Exclusion filters stay out unless set: ECR takes 1..5 of them, never an empty list, and drops them with a
    mutability that takes none.
    """
    return _ECR_DEFAULTS | _NONE | {k: v for k, v in template.items() if v is not None}


def comparable_template(template: dict[str, Any]) -> dict[str, Any]:
    """Normalise what ECR fills in or may reformat: defaults, JSON policy documents, the order of appliedFor."""
    out = complete_template(template)
    for key in _JSON_FIELDS:
        if out[key]:
            out[key] = json.loads(out[key])
    if "appliedFor" in out:
        out["appliedFor"] = sorted(out["appliedFor"])
    return out


def write_template(ecr: EcrRegistry, prefix: str, template: dict[str, Any], *, exists: bool) -> None:
    """Create or update the template so that it holds exactly ``template``, ECR's defaults spelt out.

    An update names every field, so none is left as it was, whatever ECR does with fields a request leaves out.
    """
    complete = complete_template(template)
    if not exists:
        complete = {k: v for k, v in complete.items() if v not in ("", [])}
    ecr.put_template(prefix, complete, exists=exists)


def ensure_template(ecr: EcrRegistry, prefix: str, wanted: dict[str, Any]) -> TemplateChange:
    """Make the region's creation template for ``prefix`` equal ``wanted`` (reads it first)."""
    return converge_template(ecr, prefix, wanted, ecr.get_template(prefix))


def converge_template(
    ecr: EcrRegistry, prefix: str, wanted: dict[str, Any], current: dict[str, Any] | None
) -> TemplateChange:
    """Make the region's creation template for ``prefix`` equal ``wanted`` with one write at most.

    A complete update also clears fields ``wanted`` lacks, so the template is never deleted and re-created (which
    would leave a moment when a pull creates its repository without the template).
    """
    if current is None:
        write_template(ecr, prefix, wanted, exists=False)
        return TemplateChange(action="created")
    if comparable_template(current) == comparable_template(wanted):
        return TemplateChange(action="unchanged", prior=current)
    write_template(ecr, prefix, wanted, exists=True)
    return TemplateChange(action="updated", prior=current)


def remove_template(prefix: str, ecr: EcrRegistry) -> TemplateChange:
    """Stop applying the prefix's creation template to pull-through repositories.

    A template that also serves other uses (appliedFor REPLICATION/CREATE_ON_PUSH) only loses PULL_THROUGH_CACHE.
    """
    current = ecr.get_template(prefix)
    if current is None or PULL_THROUGH_CACHE not in current.get("appliedFor", []):
        return TemplateChange(action="unchanged", prior=current)
    others = [use for use in current["appliedFor"] if use != PULL_THROUGH_CACHE]
    if others:
        write_template(ecr, prefix, current | {"appliedFor": others}, exists=True)
        return TemplateChange(action="updated", prior=current)
    ecr.delete_template(prefix)
    return TemplateChange(action="deleted", prior=current)


def apply_template(task: RegionTask, ecr: EcrRegistry) -> TemplateChange:
    """ApplyTemplate step. Keeps other uses of an existing template (appliedFor) and adds PULL_THROUGH_CACHE.

    ``creationTemplate: null`` leaves creation templates alone, unless the rule's previous desired state had one
    (``dropTemplate``): then pullthrough stops applying the template it had applied.
    """
    if task.creationTemplate is None:
        return remove_template(task.prefix, ecr) if task.dropTemplate else TemplateChange(action="skipped")
    current = ecr.get_template(task.prefix)
    applied_for = set(current.get("appliedFor", [])) if current else set()
    wanted = task.creationTemplate.to_ecr() | {"appliedFor": sorted(applied_for | {PULL_THROUGH_CACHE})}
    return converge_template(ecr, task.prefix, wanted, current)
