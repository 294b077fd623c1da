"""RemoveRule (DELETE rollouts): take the rule, its template and its secret out of one region, reversibly."""

from __future__ import annotations

from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secrets import SecretStore
from pullthrough.exceptions import PullthroughError
from pullthrough.steps.rule import restore_rule
from pullthrough.steps.secret import remove_secret
from pullthrough.steps.template import PULL_THROUGH_CACHE, restore_template
from pullthrough.tasks import RegionTask, RemovalResult, RuleChange, TemplateChange


def remove_template(prefix: str, ecr: EcrRegistry) -> TemplateChange:
    """Stop applying the prefix's creation template to pull-through repositories.

    A template that also serves other uses (appliedFor REPLICATION/CREATE_ON_PUSH) only loses PULL_THROUGH_CACHE.
    """
    current = ecr.get_template(prefix)
    if current is None or PULL_THROUGH_CACHE not in current.get("appliedFor", []):
        return TemplateChange(action="unchanged", prior=current)
    others = [use for use in current["appliedFor"] if use != PULL_THROUGH_CACHE]
    if others:
        ecr.put_template(prefix, current | {"appliedFor": others}, exists=True)
        return TemplateChange(action="updated", prior=current)
    ecr.delete_template(prefix)
    return TemplateChange(action="deleted", prior=current)


def remove_rule(task: RegionTask, ecr: EcrRegistry, secrets: SecretStore) -> RemovalResult:
    """Remove template, then rule, then secret; each change records what rollback needs. Safe to run again.

    A failure part-way puts back what this call already removed before raising: the state machine records no
    changes for a failed step, so rollback could not.
    """
    template = remove_template(task.prefix, ecr)
    rule = RuleChange(action="unchanged")
    try:
        prior_rule = ecr.get_rule(task.prefix)
        if prior_rule is not None and ecr.delete_rule(task.prefix):
            rule = RuleChange(action="deleted", prior=prior_rule)
        secret = remove_secret(task.prefix, secrets)
    except PullthroughError:
        restore_rule(rule, task.prefix, ecr)
        restore_template(template, task.prefix, ecr)
        raise
    return RemovalResult(storeSecret=secret, createRule=rule, applyTemplate=template)
