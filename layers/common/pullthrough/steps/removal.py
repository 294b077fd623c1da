"""RemoveRule (DELETE rollouts): take the rule, its template and its secret out of one region, reversibly."""

from __future__ import annotations

from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secrets import SecretStore
from pullthrough.steps.secret import remove_secret
from pullthrough.steps.template import remove_template
from pullthrough.tasks import RegionTask, RemovalResult, RuleChange


def remove_rule(task: RegionTask, ecr: EcrRegistry, secrets: SecretStore) -> RemovalResult:
    """Remove template, then rule, then secret. Safe to run again.

    A failure part-way is undone by the Rollback step from the region's snapshot, taken before this step.
    """
    template = remove_template(task.prefix, ecr)
    rule = RuleChange(action="unchanged")
    prior_rule = ecr.get_rule(task.prefix)
    if prior_rule is not None and ecr.delete_rule(task.prefix):
        rule = RuleChange(action="deleted", prior=prior_rule)
    return RemovalResult(storeSecret=remove_secret(task.prefix, secrets), createRule=rule, applyTemplate=template)
