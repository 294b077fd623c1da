"""Rollback: put one region back as it was before the rollout, in the reverse order of the steps."""

from __future__ import annotations

from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secrets import SecretStore
from pullthrough.steps.rule import restore_rule
from pullthrough.steps.secret import restore_secret
from pullthrough.steps.template import restore_template
from pullthrough.tasks import RegionTask, RollbackResult


def rollback_region(task: RegionTask, ecr: EcrRegistry, secrets: SecretStore) -> RollbackResult:
    """Restore each resource to its recorded prior state, in the reverse order of the steps. Safe to run again.

    An apply ran secret -> rule -> template, so it is undone template -> rule -> secret; a removal ran
    template -> rule -> secret, so the secret comes back first (a rule cannot be created without it).
    """
    if task.storeSecret is not None and task.storeSecret.action == "deleted":
        secret = restore_secret(task.storeSecret, secrets)
        rule = restore_rule(task.createRule, task.prefix, ecr)
        template = restore_template(task.applyTemplate, task.prefix, ecr)
    else:
        template = restore_template(task.applyTemplate, task.prefix, ecr)
        rule = restore_rule(task.createRule, task.prefix, ecr)
        secret = restore_secret(task.storeSecret, secrets)
    return RollbackResult(region=task.region, template=template, rule=rule, secret=secret)  # type: ignore[arg-type]
