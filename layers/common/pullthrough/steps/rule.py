"""CreateRule and ValidateRule: converge the region's pull-through cache rule on the desired one."""

from __future__ import annotations

from typing import Any

from pullthrough import exceptions as ex
from pullthrough.adapters.ecr import RULE_FIELDS, EcrRegistry
from pullthrough.secret_names import arn_account, arn_region
from pullthrough.tasks import RegionTask, RuleChange

# The only fields UpdatePullThroughCacheRule can change; any other difference needs delete + recreate.
UPDATABLE = ("credentialArn", "customRoleArn")


def desired_rule(task: RegionTask) -> dict[str, Any]:
    """The rule as ECR should hold it in the task's region (with the region's own credential ARN)."""
    rule = task.rule.to_ecr()
    if task.rule.needs_secret:
        arn = task.storeSecret.secretArn if task.storeSecret else None
        if not arn:
            raise ex.InvalidRequest(
                "the rule needs a credential secret but storeSecret.secretArn is missing", field="storeSecret"
            )
        # ECR's pattern does not check that the secret is in the rule's account and region; we must.
        if arn_region(arn) != task.region:
            raise ex.InvalidRequest(f"credential secret {arn} is not in {task.region}", field="storeSecret.secretArn")
        if task.account is not None and arn_account(arn) != task.account:
            raise ex.InvalidRequest(
                f"credential secret {arn} is not in account {task.account}", field="storeSecret.secretArn"
            )
        rule["credentialArn"] = arn
    return rule


def _comparable(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: rule.get(k) or None for k in RULE_FIELDS}


def ensure_rule(ecr: EcrRegistry, wanted: dict[str, Any]) -> RuleChange:
    """Make the region's rule for ``wanted``'s prefix equal ``wanted``, with the fewest writes.

    A replacement that fails to create the new rule puts the old one back before raising.
    """
    prefix = wanted["ecrRepositoryPrefix"]
    current = ecr.get_rule(prefix)
    if current is None:
        try:
            ecr.create_rule(wanted)
        except ex.RuleAlreadyExists:
            # A create whose answer was lost (a read timeout) is retried by the SDK and meets the rule it made:
            # that one is ours only if it is exactly the desired rule.
            made = ecr.get_rule(prefix)
            if made is None or _comparable(made) != _comparable(wanted):
                raise
        return RuleChange(action="created", rule=wanted)
    have, want = _comparable(current), _comparable(wanted)
    if have == want:
        return RuleChange(action="unchanged", rule=current, prior=current)
    differs = {k for k in RULE_FIELDS if have[k] != want[k]}
    # Update can set credentialArn/customRoleArn but cannot clear one.
    if differs <= set(UPDATABLE) and all(want[k] for k in differs):
        ecr.update_rule(prefix, credential_arn=want["credentialArn"], custom_role_arn=want["customRoleArn"])
        return RuleChange(action="updated", rule=wanted, prior=current)
    ecr.delete_rule(prefix)
    try:
        ecr.create_rule(wanted)
    except ex.PullthroughError:
        ecr.create_rule(current)
        raise
    return RuleChange(action="replaced", rule=wanted, prior=current)


def create_rule(task: RegionTask, ecr: EcrRegistry) -> RuleChange:
    """CreateRule step: create, update in place, or replace the region's rule."""
    return ensure_rule(ecr, desired_rule(task))


def validate_rule(task: RegionTask, ecr: EcrRegistry) -> dict[str, Any]:
    """ValidateRule step: ask ECR whether the rule works; RuleValidationFailed with ECR's text when not."""
    is_valid, failure = ecr.validate_rule(task.prefix)
    if not is_valid:
        raise ex.RuleValidationFailed(f"{task.region}: {failure or 'ECR reported the rule invalid'}")
    return {"isValid": True}
