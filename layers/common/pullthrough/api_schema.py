"""What the HTTP API answers, as models for its OpenAPI document: rollouts, rules, errors, and request examples.

The handlers build plain dicts (rollouts.view, desired.rule_view); these models describe them, and a test checks
every documented response against what the handlers return. Models forbid unknown fields so that a field added to
a view without a word here fails that test.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pullthrough.creation_template import CreationTemplate
from pullthrough.models import Rule, SmokePull
from pullthrough.request_fields import readable_title
from pullthrough.tasks import Action

RolloutStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "ROLLED_BACK", "PLANNED"]
RegionStatus = Literal["PENDING", "SUCCEEDED", "FAILED", "SKIPPED", "ROLLED_BACK", "ROLLBACK_FAILED"]
StepName = Literal[
    "SnapshotRegion", "StoreSecret", "CreateRule", "ValidateRule", "ApplyTemplate", "SmokePull", "RemoveRule"
]


class _View(BaseModel):
    model_config = ConfigDict(
        extra="forbid", field_title_generator=readable_title, model_title_generator=lambda m: m.__name__
    )


class FieldError(_View):
    """One thing wrong with a request."""

    field: str = Field(
        description="The field at fault, dotted (creationTemplate.lifecyclePolicy), or body, prefix, dryRun."
    )
    message: str = Field(description="What the field allows, in words. Never the value that was sent.")


class Error(_View):
    """Why a request was refused or failed."""

    message: str = Field(description="The first problem, prefixed by its field when there is one.")
    errors: list[FieldError] = Field(description="Every problem found, one per field (empty when none is a field's).")


class Busy(Error):
    """The prefix already has a rollout running: one rollout per prefix at a time."""

    rolloutId: str = Field(description="The running rollout: follow it at /rollouts/{rolloutId}, then retry.")


class StepFailure(_View):
    """A failure, named by its kind."""

    type: str = Field(
        description="The kind of failure: pullthrough's error name (RuleValidationFailed, SecretAccessDenied, ...)."
    )
    message: str = Field(description="What went wrong, in ECR's or pullthrough's words.")


class Changes(_View):
    """What the rollout did (or, in a plan, would do) to each resource of the region."""

    secret: Action | None = Field(default=None, description="The secret `ecr-pullthroughcache/PREFIX`.")
    rule: Action | None = Field(default=None, description="The pull-through cache rule.")
    template: Action | None = Field(default=None, description="The repository creation template for the prefix.")
    pull: str | None = Field(
        default=None,
        description="The smoke pull: the digest (sha256:...) of the manifest pulled through the target's cache; "
        "absent when the rule has no smokePull, and in a plan (a plan does not pull).",
    )


class RegionProgress(_View):
    """One region of a rollout."""

    status: RegionStatus = Field(
        description="PENDING (not done yet), SUCCEEDED, FAILED, SKIPPED (never touched: the rollout stopped "
        "first, or error type RegionNotEnabled: an opt-in region the account has not enabled), ROLLED_BACK (put "
        "back as it was) or ROLLBACK_FAILED (could not be put back; see rollbackError)."
    )
    step: StepName | None = Field(description="The step that failed; null when none did.")
    error: StepFailure | None = Field(description="Why the step failed; null when it did not.")
    changes: Changes = Field(description="Per resource: created, updated, replaced, unchanged, skipped or deleted.")
    removed: bool | None = Field(
        default=None,
        description="Present (true) when the region is no longer desired: the rollout takes the prefix out.",
    )
    rollbackError: StepFailure | None = Field(default=None, description="Why putting the region back failed.")


class Target(_View):
    """An account in a region."""

    account: str = Field(description="The account (12-digit id).")
    region: str = Field(description="The region.")


class TargetHealth(_View):
    """ECR's verdict on a target's rule when the drift sweep last validated it (ValidatePullThroughCacheRule)."""

    status: Literal["healthy", "unhealthy", "unknown"] = Field(
        description="healthy; unhealthy (ECR refused: see reason); unknown (ECR could not be asked)."
    )
    reason: str | None = Field(default=None, description="ECR's failure text, or why it could not be asked.")
    checkedAt: str = Field(description="When the sweep validated it (ISO 8601, UTC).")


class DeployedTarget(Target):
    """An account in a region where pullthrough holds the prefix, where to pull from it, and its health."""

    pullUriPrefix: str = Field(
        description="The image URI prefix to pull through the rule in this target: "
        "ACCOUNT.dkr.ecr.REGION.amazonaws.com/PREFIX/ followed by the upstream repository and tag (Docker Hub's "
        "official images need library/, e.g. PREFIX/library/alpine:3.20)."
    )
    health: TargetHealth | None = Field(default=None, description="The last sweep's verdict; absent before one.")


class RuleHealth(_View):
    """The last sweep's verdict on the rule's targets as a whole."""

    status: Literal["healthy", "unhealthy", "unknown"] = Field(
        description="unhealthy when ECR refused any target's rule; unknown when one could not be validated."
    )
    unhealthyTargets: int = Field(description="How many targets ECR found unhealthy.")
    checkedAt: str = Field(description="When the sweep validated them (ISO 8601, UTC).")


class DeployedCounts(_View):
    """How far a rule is deployed."""

    targets: int = Field(description="Targets (account, region) where pullthrough holds the prefix.")
    accounts: int = Field(description="Accounts among them.")
    regions: int = Field(description="Regions among them.")


class TargetProgress(Target, RegionProgress):
    """One target of a rollout: an account in a region."""


class Rollout(_View):
    """A rollout of one prefix to its targets (account, region), target by target."""

    rolloutId: str = Field(description="The rollout's id (r- and 32 hex digits).")
    status: RolloutStatus = Field(
        description="RUNNING, SUCCEEDED, FAILED, ROLLED_BACK (every region it changed was put back) or PLANNED (a "
        "dry run ended; nothing was written)."
    )
    prefix: str = Field(description="The ecrRepositoryPrefix the rollout is for.")
    operation: Literal["APPLY", "DELETE"] = Field(description="APPLY (POST /rules) or DELETE (DELETE /rules/{prefix}).")
    mode: Literal["APPLY", "PLAN"] = Field(description="PLAN for a dry run (?dryRun=true): every write refused.")
    createdAt: str | None = Field(default=None, description="When the rollout started (ISO 8601, UTC).")
    finishedAt: str | None = Field(default=None, description="When it ended; null while it runs.")
    error: StepFailure | None = Field(default=None, description="Why the rollout as a whole failed, when it did.")
    regions: dict[str, RegionProgress] = Field(description="Each target region of pullthrough's own account, by name.")
    targets: list[TargetProgress] | None = Field(
        default=None,
        description="The targets, each account in each region, pullthrough's own account included, by account and "
        "region: up to 500 at a time (nextToken pages the rest). Left out of a 202 for more than 500 targets.",
    )
    targetCounts: dict[RegionStatus, int] | None = Field(
        default=None, description="In a 202: how many targets are PENDING (each is listed when 500 or fewer)."
    )
    nextToken: str | None = Field(
        default=None, description="More targets follow: GET the same path with ?nextToken= this value."
    )
    pullDigests: dict[str, list[str]] | None = Field(
        default=None,
        description="Present when the smoke pull read different digests in different targets (the upstream tag "
        "moved during the rollout, or a target's cache holds an older image): each digest with its targets "
        "(account/region).",
    )


class Links(_View):
    """Where to follow up."""

    rollout: str = Field(description="The rollout's status: GET this path.")
    rule: str | None = Field(default=None, description="The rule (prefix percent-encoded): GET this path.")


class RolloutAccepted(Rollout):
    """The rollout that was started (or, for a request seen before, the one it started then)."""

    links: Links = Field(description="Where to follow the rollout, and the rule.")


class DriftFinding(_View):
    """One thing not as pullthrough left it, in the home account."""

    region: str = Field(description="Where it was found.")
    resource: Literal["rule", "template", "secret", "sourceSecret", "region"] = Field(
        description="What drifted: the rule, the creation template, the regional secret, the home-region source "
        "secret, or the region as a whole (it holds the prefix but is not desired)."
    )
    kind: Literal["missing", "differs", "changed", "replaced", "notDesired"] = Field(
        description="missing, differs (fields changed by hand), changed (a secret's value), replaced, or notDesired."
    )
    fields: list[str] = Field(description="The fields that differ, when the resource differs.")
    message: str = Field(description="The finding in one sentence.")


class TargetDriftFinding(DriftFinding):
    """One thing not as pullthrough left it, in any target account."""

    account: str = Field(description="The account where it was found (12 digits).")


class DriftRepair(_View):
    """The repair rollout a sweep in repair mode started (or why it did not)."""

    status: Literal["STARTED", "SKIPPED", "FAILED"] = Field(
        description="STARTED, SKIPPED (a rollout of the prefix was running) or FAILED (see reason)."
    )
    rolloutId: str | None = Field(default=None, description="The repair rollout, or the one that was running.")
    reason: str | None = Field(default=None, description="Why no repair started.")


class UncheckedRegion(_View):
    """A region the sweep could not read."""

    region: str = Field(description="The region.")
    error: str = Field(description="Why it could not be read.")


class UncheckedTarget(UncheckedRegion):
    """An account's region the sweep could not read."""

    account: str = Field(description="The account (12 digits).")


class DriftReport(_View):
    """The last drift sweep's findings for the rule."""

    prefix: str = Field(description="The rule's prefix.")
    checkedAt: str = Field(description="When the sweep read the regions (ISO 8601, UTC).")
    inSync: bool = Field(description="True when nothing drifted and every target (account and region) could be read.")
    drift: list[DriftFinding] = Field(description="Each finding in pullthrough's own account; empty when none.")
    targets: list[TargetDriftFinding] | None = Field(
        default=None,
        description="Each finding in every target account (pullthrough's own included), with its account; empty "
        "when none.",
    )
    unchecked: list[UncheckedRegion] | None = Field(
        default=None, description="Regions of pullthrough's own account that could not be read, and why."
    )
    uncheckedTargets: list[UncheckedTarget] | None = Field(
        default=None,
        description="Targets in any account that could not be read, and why (e.g. the account's "
        "PullthroughExecutionRole cannot be assumed).",
    )
    repair: DriftRepair | None = Field(default=None, description="The repair a sweep in repair mode started.")


class RuleView(_View):
    """A desired rule: what was asked for, where it is deployed, how its last rollout and drift check went."""

    prefix: str = Field(description="The rule's ecrRepositoryPrefix (the key of /rules/{prefix}).")
    rule: Rule = Field(description="The pull-through cache rule, resolved (URL filled in, prefixes defaulted).")
    regions: list[str] = Field(description="The regions where the rule is desired.")
    accounts: list[str] | None = Field(
        default=None, description="The accounts the request named; null when it named none (see organizationalUnits)."
    )
    organizationalUnits: list[str] | None = Field(
        default=None,
        title="Organizational units",
        description="The OUs or root the request named, whose accounts get the rule; null when it named none.",
    )
    retainOnAccountRemoval: bool = Field(
        default=False, description="Whether an account that leaves the organizationalUnits keeps the rule."
    )
    creationTemplate: CreationTemplate | None = Field(description="The creation template applied; null for none.")
    smokePull: SmokePull | None = Field(
        default=None, description="The image each rollout pulls through every target's cache; null for none."
    )
    sourceSecretArn: str | None = Field(
        description="The home-region secret the credentials are copied from (its ARN, never its value)."
    )
    deployedRegions: list[str] = Field(
        description="The regions where pullthrough holds the prefix now in its own account."
    )
    deployedCounts: DeployedCounts | None = Field(
        default=None, description="How many targets, accounts and regions pullthrough holds the prefix in now."
    )
    deployedTargets: list[DeployedTarget] | None = Field(
        default=None,
        description="GET /rules/{prefix} only: the accounts and regions where pullthrough holds the prefix now, by "
        "account and region, with each target's health, up to 500 at a time (nextToken pages the rest).",
    )
    nextToken: str | None = Field(
        default=None, description="More deployedTargets follow: GET the same path with ?nextToken= this value."
    )
    lastRolloutId: str | None = Field(description="The last rollout of the prefix.")
    lastRolloutStatus: RolloutStatus | None = Field(description="How it ended; null while it runs.")
    lastRolloutAt: str | None = Field(description="When it ended (ISO 8601, UTC).")
    updatedAt: str | None = Field(description="When the desired rule last changed (ISO 8601, UTC).")
    drift: DriftReport | None = Field(description="The last drift sweep's findings; null before the first.")
    driftCheckedAt: str | None = Field(description="When the last drift sweep checked the rule (ISO 8601, UTC).")
    health: RuleHealth | None = Field(
        default=None, description="Whether ECR accepts the rule in its targets (last sweep); null before one."
    )
    credentialExpiresAt: str | None = Field(
        default=None, description="When the credential expires, when known (ISO 8601, UTC; the source secret's tag)."
    )
    daysToCredentialExpiry: int | None = Field(
        default=None, description="Whole days left until then (0 on the last day, negative once passed); null: unknown."
    )


class PullTestTarget(Target):
    """One target's pull test."""

    pull: str | None = Field(
        description="The digest of the manifest pulled through the target's cache; null on failure."
    )
    error: StepFailure | None = Field(description="Why the pull failed (SmokePullFailed: the registry's answer).")


class PullTestResult(_View):
    """A pull test: the image pulled through the rule in each target it is deployed in."""

    prefix: str = Field(description="The rule's ecrRepositoryPrefix.")
    image: str = Field(description="The image pulled (REPOSITORY:TAG, as the upstream names it).")
    targets: list[PullTestTarget] = Field(description="Each target where pullthrough holds the rule.")


class RuleList(_View):
    """Every desired rule."""

    rules: list[RuleView] = Field(description="Every desired rule, by prefix.")


def _example(summary: str, value: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    return {"summary": summary, "value": value} | ({"description": description} if description else {})


# Request bodies people start from; a test validates each against RuleRequest and posts it.
REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "docker-hub": _example(
        "Docker Hub, with credentials",
        {
            "upstreamRegistry": "docker-hub",
            "credentials": {"username": "my-docker-id", "accessToken": "dckr_pat_EXAMPLE-TOKEN"},
            "regions": ["us-east-1", "eu-west-1", "ap-southeast-2"],
        },
        "Pulls go through `ACCOUNT.dkr.ecr.REGION.amazonaws.com/docker-hub/library/nginx:latest`. The credentials "
        "are stored in Secrets Manager only.",
    ),
    "quay": _example(
        "Quay, no credentials, one region at a time",
        {
            "upstreamRegistry": "quay",
            "ecrRepositoryPrefix": "quay",
            "regions": ["us-east-1", "eu-west-1"],
            "rollout": {"maxConcurrency": 1, "regionOrder": ["eu-west-1", "us-east-1"]},
        },
    ),
    "ecr-to-ecr": _example(
        "ECR to ECR, with a role",
        {
            "upstreamRegistry": "ecr",
            "upstreamRegistryUrl": "111122223333.dkr.ecr.us-west-2.amazonaws.com",
            "ecrRepositoryPrefix": "central",
            "customRoleArn": "arn:aws:iam::123456789012:role/ecr-pull-through-from-central",
            "regions": ["us-east-1", "eu-west-1"],
            "creationTemplate": {"imageTagMutability": "IMMUTABLE", "description": "Images from the central registry"},
        },
        "customRoleArn must be a role of the account pullthrough runs in (here 123456789012, the local emulator's).",
    ),
    "organization": _example(
        "Docker Hub in two accounts and every account of an OU, 10% of targets may fail",
        {
            "upstreamRegistry": "docker-hub",
            "credentials": {"username": "my-docker-id", "accessToken": "dckr_pat_EXAMPLE-TOKEN"},
            "regions": ["us-east-1", "eu-west-1"],
            "accounts": ["111122223333", "444455556666"],
            "organizationalUnits": ["ou-a1b2-3c4d5e6f"],
            "rollout": {"accountConcurrency": 10, "failureTolerancePercentage": 10},
        },
        "Each account needs the role PullthroughExecutionRole (target-account.yaml, deployable with StackSets). The "
        "OU's active accounts, nested OUs included, are read from AWS Organizations when the rollout starts; an "
        "account that joins it later gets the rule too.",
    ),
}

_HOME = "123456789012"
_ROLLOUT_ID = "r-0f9d3c2b8a7e4d6c9b1a2f3e4d5c6b7a"
_PREFIX_MESSAGE = (
    "must be 2-30 characters: lowercase letters, digits, '.', '_', '-', '/', starting with a letter or digit and not "
    "ending in '.', '_' or '-'; or ROOT"
)
# Responses as the handlers give them; a test validates each against its model.
RESPONSE_EXAMPLES: dict[str, dict[str, Any]] = {
    "started": {
        "rolloutId": _ROLLOUT_ID,
        "status": "RUNNING",
        "prefix": "docker-hub",
        "operation": "APPLY",
        "mode": "APPLY",
        "regions": {
            region: {"status": "PENDING", "step": None, "error": None, "changes": {}}
            for region in ("us-east-1", "eu-west-1")
        },
        "links": {"rollout": f"/rollouts/{_ROLLOUT_ID}", "rule": "/rules/docker-hub"},
    },
    "busy": {
        "message": f"a rollout for 'docker-hub' is already running: {_ROLLOUT_ID}",
        "rolloutId": _ROLLOUT_ID,
        "errors": [
            {"field": "ecrRepositoryPrefix", "message": f"a rollout for 'docker-hub' is already running: {_ROLLOUT_ID}"}
        ],
    },
    "invalid": {
        "message": f"ecrRepositoryPrefix: {_PREFIX_MESSAGE}",
        "errors": [{"field": "ecrRepositoryPrefix", "message": _PREFIX_MESSAGE}],
    },
    "rolledBack": {
        "rolloutId": _ROLLOUT_ID,
        "status": "ROLLED_BACK",
        "prefix": "docker-hub",
        "operation": "APPLY",
        "mode": "APPLY",
        "createdAt": "2026-11-30T09:12:03+00:00",
        "finishedAt": "2026-11-30T09:13:41+00:00",
        "regions": {
            "eu-west-1": {
                "status": "ROLLED_BACK",
                "step": None,
                "error": None,
                "changes": {"secret": "created", "rule": "created", "template": "created"},
            },
            "us-east-1": {
                "status": "ROLLED_BACK",
                "step": "ValidateRule",
                "error": {"type": "RuleValidationFailed", "message": "upstream authentication failed"},
                "changes": {},
            },
        },
    },
}


def _refusal(field: str, message: str) -> dict[str, Any]:
    return {"message": f"{field}: {message}", "errors": [{"field": field, "message": message}]}


def _missing(field: str, message: str) -> dict[str, Any]:
    return {"message": message, "errors": [{"field": field, "message": message}]}


_RULE = {
    "ecrRepositoryPrefix": "docker-hub",
    "upstreamRegistry": "docker-hub",
    "upstreamRegistryUrl": "registry-1.docker.io",
    "upstreamRepositoryPrefix": "ROOT",
}
RESPONSE_EXAMPLES |= {
    "tooLarge": _refusal("body", "is larger than 256 KB"),
    "notJson": _refusal("body", "is not valid JSON at line 2, column 14: Expecting value; send one JSON object"),
    "unknownQuery": _refusal("dryrun", "is not a query parameter of DELETE /rules/{prefix} (it takes: dryRun)"),
    "noRule": _missing("prefix", "no rule with prefix 'team/quay'"),
    "noRollout": _missing("rolloutId", f"no rollout with id '{_ROLLOUT_ID}'"),
    "throttled": {"message": "AwsTransientError: Query: ThrottlingException: Rate exceeded", "errors": []},
    "denied": {
        "message": "AccessDenied: PutItem: AccessDeniedException: not authorized to perform dynamodb:PutItem",
        "errors": [],
    },
    "rule": {
        "prefix": "docker-hub",
        "rule": _RULE,
        "regions": ["us-east-1", "eu-west-1"],
        "creationTemplate": {"description": "Created by pullthrough", "imageTagMutability": "MUTABLE"},
        "sourceSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
        "ecr-pullthroughcache/_source/docker-hub-AbCdEf",
        "deployedRegions": ["eu-west-1", "us-east-1"],
        "lastRolloutId": _ROLLOUT_ID,
        "lastRolloutStatus": "SUCCEEDED",
        "lastRolloutAt": "2026-11-30T09:13:41+00:00",
        "updatedAt": "2026-11-30T09:12:03+00:00",
        "drift": {
            "prefix": "docker-hub",
            "checkedAt": "2026-11-30T12:00:00+00:00",
            "inSync": False,
            "drift": [
                {
                    "region": "eu-west-1",
                    "resource": "rule",
                    "kind": "missing",
                    "fields": [],
                    "message": "eu-west-1: rule missing",
                }
            ],
            "targets": [
                {
                    "account": "123456789012",
                    "region": "eu-west-1",
                    "resource": "rule",
                    "kind": "missing",
                    "fields": [],
                    "message": "eu-west-1: rule missing",
                }
            ],
        },
        "driftCheckedAt": "2026-11-30T12:00:00+00:00",
    },
}
# The many-account fields, shown on the home account's targets.
RESPONSE_EXAMPLES["rolledBack"]["targets"] = [
    {"account": _HOME, "region": region, **progress}
    for region, progress in sorted(RESPONSE_EXAMPLES["rolledBack"]["regions"].items())
]
RESPONSE_EXAMPLES["rule"] |= {
    "accounts": None,
    "organizationalUnits": None,
    "retainOnAccountRemoval": False,
    "deployedCounts": {"targets": 2, "accounts": 1, "regions": 2},
}
RESPONSE_EXAMPLES["rules"] = {"rules": [RESPONSE_EXAMPLES["rule"]]}
RESPONSE_EXAMPLES["rule"] = RESPONSE_EXAMPLES["rule"] | {
    "deployedTargets": [
        {"account": _HOME, "region": region, "pullUriPrefix": f"{_HOME}.dkr.ecr.{region}.amazonaws.com/docker-hub/"}
        for region in RESPONSE_EXAMPLES["rule"]["deployedRegions"]
    ],
}
RESPONSE_EXAMPLES["badToken"] = _refusal("nextToken", "was given for another listing: pass the nextToken of this one")
