"""RemoveRule (DELETE rollouts): take the rule, its template and its secret out of one region, reversibly."""

from __future__ import annotations

from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secrets import SecretStore, managed
from pullthrough.secret_names import secret_name_for
from pullthrough.steps.ownership import names_secret
from pullthrough.steps.secret import remove_secret
from pullthrough.steps.template import remove_template
from pullthrough.tasks import RegionTask, RemovalResult, RuleChange


def remove_rule(task: RegionTask, ecr: EcrRegistry, secrets: SecretStore) -> RemovalResult:
    """Remove template, then rule, then secret. Safe to run again. What is not pullthrough's stays: a secret not
    tagged as its own, and a rule that reads such a secret.

    A failure part-way is undone by the Rollback step from the region's snapshot, taken before this step.
    """
    template = remove_template(task.prefix, ecr)
    found = secrets.details(secret_name_for(task.prefix))
    theirs = found.version.arn if found is not None and not managed(found.tags) else None
    rule = RuleChange(action="unchanged")
    prior_rule = ecr.get_rule(task.prefix)
    kept = theirs is not None and prior_rule is not None and names_secret(prior_rule.get("credentialArn"), theirs)
    if prior_rule is not None and not kept and ecr.delete_rule(task.prefix):
        rule = RuleChange(action="deleted", prior=prior_rule)
    return RemovalResult(storeSecret=remove_secret(found, secrets), createRule=rule, applyTemplate=template)
