"""Writes statemachine/rollout.asl.json, the rollout state machine, from the building blocks below (`make asl`).

The per-target states appear twice: in the inline Map of a one-account rollout and in each child execution of a
rollout across accounts (a Distributed Map, one child per account). State names are unique in a whole definition,
so the second copy's names end in "InAccount". tests/contract/test_asl_generated.py fails when the committed JSON
is not what this writes.
"""

import json
import sys
from pathlib import Path

ASL_PATH = Path(__file__).resolve().parents[2] / "statemachine" / "rollout.asl.json"

TRANSIENT = [
    "AwsTransientError",
    "ConcurrentModification",
    "Lambda.ClientExecutionTimeoutException",
    "Sandbox.Timedout",
    "States.Timeout",
]
# Lambda refused or failed the invocation itself (throttling past the account's concurrency, a service fault): the
# function did not run, and at 340-800 concurrent steps a new account's quota throttles for minutes, not seconds.
LAMBDA_REFUSED = [
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
]
FINISH_AGAIN_SECONDS = 120  # FinishRollout refused past its Retry: wait, then try again (never roll back for it)


def retry_transient():
    return {
        "ErrorEquals": TRANSIENT,
        "IntervalSeconds": 1,
        "MaxAttempts": 4,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 20,
        "JitterStrategy": "FULL",
    }


def retry_lambda_refused():
    """Up to 10 retries, 2 s doubling to at most 60 s, full jitter: minutes of throttling, not a rollback."""
    return {
        "ErrorEquals": LAMBDA_REFUSED,
        "IntervalSeconds": 2,
        "MaxAttempts": 10,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 60,
        "JitterStrategy": "FULL",
    }


def retry_any(interval=2, attempts=2):
    return {
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": interval,
        "MaxAttempts": attempts,
        "BackoffRate": 2.0,
        "JitterStrategy": "FULL",
    }


def catch(nxt, path="$.error"):
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": path, "Next": nxt}]


TASK_TIMEOUT = 90  # seconds: longer than any step function's Timeout (30 s), so only a lost invocation hits it


def lam(comment, arn, nxt, result_path, catch_next, *, extra_retry=False, params=None, end=False):
    s = {"Type": "Task", "Comment": comment, "Resource": arn, "TimeoutSeconds": TASK_TIMEOUT}
    if params is not None:
        s["Parameters"] = params
    s["ResultPath"] = result_path
    s["Retry"] = [retry_lambda_refused(), retry_transient()] + ([retry_any()] if extra_retry else [])
    if catch_next:
        s["Catch"] = catch_next if isinstance(catch_next, list) else catch(catch_next)
    if end:
        s["End"] = True
    else:
        s["Next"] = nxt
    return s


def choice(comment, variable, value, when, otherwise):
    """A Choice state: ``when`` if ``variable`` equals ``value``, else ``otherwise``."""
    return {
        "Type": "Choice",
        "Comment": comment,
        "Choices": [{"Variable": variable, "StringEquals": value, "Next": when}],
        "Default": otherwise,
    }


KEY = {"pk": {"S.$": "States.Format('ROLLOUT#{}', $.rolloutId)"}, "sk": {"S": "ROLLOUT"}}
ACCOUNT_KEY = {
    "pk": {"S.$": "States.Format('ROLLOUT#{}', $.rolloutId)"},
    "sk": {"S.$": "States.Format('ACCOUNT#{}', $.account)"},
}
RECORD_RETRY = [
    {
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": 1,
        "MaxAttempts": 3,
        "BackoffRate": 2.0,
        "JitterStrategy": "FULL",
    }
]


def record(comment, expr, values, *, key=KEY, lost="RecordLost", names=None, nxt=None, output=None):
    s = {
        "Type": "Task",
        "Comment": comment,
        "Resource": "arn:${Partition}:states:::dynamodb:updateItem",
        "Parameters": {
            "TableName": "${TableName}",
            "Key": key,
            "UpdateExpression": expr,
            "ExpressionAttributeNames": names or {"#regions": "regions", "#region.$": "$.region"},
            "ExpressionAttributeValues": values,
        },
        "ResultPath": None,
        "Retry": RECORD_RETRY,
        "Catch": catch(lost, "$.recordError"),
    }
    if names == {}:
        del s["Parameters"]["ExpressionAttributeNames"]
    if output:
        s["OutputPath"] = output
    if nxt:
        s["Next"] = nxt
    else:
        s["End"] = True
    return s


RESULT_VALUE = {"M": {"status": {"S.$": "$.status"}, "detail": {"S.$": "States.JsonToString($)"}}}


def result(status, step, error, changes, comment):
    p = {"rolloutId.$": "$.rolloutId", "region.$": "$.region", "action.$": "$.action", "status": status}
    p["step" if not isinstance(step, str) or not step.startswith("$") else "step.$"] = step
    if isinstance(error, str):
        p["error.$"] = error
    else:
        p["error"] = error
    if isinstance(changes, dict):
        p["changes"] = changes
    else:
        p["changes.$"] = changes
    return {"Type": "Pass", "Comment": comment, "Parameters": p}


region = {}
region["SnapshotRegion"] = lam(
    "Record the region's rule, template and secret version before any write (rollback restores it); past the "
    "rollout's failure tolerance no new region starts (PastFailureTolerance, like StackSets)",
    "${SnapshotRegionFunctionArn}",
    "ApplyOrRemove",
    None,
    [
        {"ErrorEquals": ["PastFailureTolerance"], "ResultPath": None, "Next": "RegionSkipped"},
        {"ErrorEquals": ["RegionNotEnabled"], "ResultPath": "$.error", "Next": "RegionNotEnabled"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "SnapshotRegionFailed"},
    ],
)
region["ApplyOrRemove"] = choice(
    "A region no longer desired loses the prefix", "$.action", "REMOVE", "RemoveRule", "StoreSecret"
)
region["StoreSecret"] = lam(
    "Copy the credentials from the home-region source secret into this region's secret",
    "${StoreSecretFunctionArn}",
    "CreateRule",
    "$.storeSecret",
    "StoreSecretFailed",
)
region["CreateRule"] = lam(
    "Create, update or replace the pull-through cache rule",
    "${CreateRuleFunctionArn}",
    "PlanOrValidate",
    "$.createRule",
    "CreateRuleFailed",
)
region["PlanOrValidate"] = choice(
    "A plan has written nothing, so there is no rule to validate yet", "$.mode", "PLAN", "ApplyTemplate", "ValidateRule"
)
region["ValidateRule"] = lam(
    "ValidatePullThroughCacheRule; isValid=false fails as RuleValidationFailed",
    "${ValidateRuleFunctionArn}",
    "ApplyTemplate",
    None,
    "ValidateRuleFailed",
)
region["ApplyTemplate"] = lam(
    "Create or update the repository creation template (skipped when the request says null)",
    "${ApplyTemplateFunctionArn}",
    "PullOrDone",
    "$.applyTemplate",
    "ApplyTemplateFailed",
)
region["PullOrDone"] = {
    "Type": "Choice",
    "Comment": "The smoke pull only when the rule names an image, and never in a plan (a plan does not pull)",
    "Choices": [
        {
            "Or": [
                {"Variable": "$.mode", "StringEquals": "PLAN"},
                {"Variable": "$.smokePull", "IsNull": True},
            ],
            "Next": "RegionApplied",
        }
    ],
    "Default": "SmokePull",
}
region["SmokePull"] = lam(
    "Pull the smoke image's manifest through the target's own cache (its digest); a refused pull fails the target "
    "with the registry's answer (SmokePullFailed), so it is put back like any failed step",
    "${SmokePullFunctionArn}",
    "RegionPulled",
    "$.smokePullResult",
    "SmokePullFailed",
)
region["RemoveRule"] = lam(
    "Remove template use, rule and secret from a region no longer desired (the secret stays recoverable)",
    "${RemoveRuleFunctionArn}",
    "RegionRemoved",
    "$.removal",
    "RemoveRuleFailed",
)
region["RegionApplied"] = result(
    "SUCCEEDED",
    None,
    None,
    {"secret.$": "$.storeSecret.action", "rule.$": "$.createRule.action", "template.$": "$.applyTemplate.action"},
    "The region holds the desired rule",
) | {"Next": "RecordRegion"}
region["RegionApplied"]["Parameters"]["secret.$"] = "$.storeSecret"
region["RegionPulled"] = json.loads(json.dumps(region["RegionApplied"]))
region["RegionPulled"]["Comment"] = "The region holds the desired rule, and a pull through it worked"
region["RegionPulled"]["Parameters"]["changes"]["pull.$"] = "$.smokePullResult.pull"
region["RegionRemoved"] = result(
    "SUCCEEDED",
    None,
    None,
    {
        "secret.$": "$.removal.storeSecret.action",
        "rule.$": "$.removal.createRule.action",
        "template.$": "$.removal.applyTemplate.action",
    },
    "The prefix is gone from the region",
) | {"Next": "RecordRegion"}
region["RegionSkipped"] = result(
    "SKIPPED",
    None,
    None,
    {"secret": "skipped", "rule": "skipped", "template": "skipped"},
    "Not started: the rollout is already past its failure tolerance",
) | {"Next": "RecordRegion"}
region["RegionNotEnabled"] = result(
    "SKIPPED",
    "SnapshotRegion",
    "$.error",
    {"secret": "skipped", "rule": "skipped", "template": "skipped"},
    "Not started: an opt-in region the target account has not enabled (nothing read or written there)",
) | {"Next": "RecordRegion"}
for step in ("SnapshotRegion", "StoreSecret", "CreateRule", "ValidateRule", "ApplyTemplate", "SmokePull", "RemoveRule"):
    region[f"{step}Failed"] = {
        "Type": "Pass",
        "Comment": f"The region failed at {step}",
        "Result": step,
        "ResultPath": "$.failedStep",
        "Next": "UndoOrReport",
    }
region["UndoOrReport"] = choice(
    "A plan wrote nothing, so there is nothing to undo", "$.mode", "PLAN", "RegionFailed", "UndoFailedRegion"
)
region["UndoFailedRegion"] = lam(
    "Nothing half-applied: put the failed region back to its snapshot at once",
    "${RollbackFunctionArn}",
    "RegionFailed",
    None,
    [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.undoError", "Next": "RegionUndoFailed"}],
    extra_retry=True,
)
region["RegionFailed"] = result("FAILED", "$.failedStep", "$.error", {}, "The region failed and was put back") | {
    "Next": "RecordFailedRegion"
}
region["RegionUndoFailed"] = result(
    "ROLLBACK_FAILED", "$.failedStep", "$.undoError", {}, "Reported, never dropped: the region needs a human"
) | {"Next": "RecordFailedRegion"}
region["RecordRegion"] = record(
    "The region's result for GET /rollouts/{rolloutId} (live progress; the Map's output is the record of truth)",
    "SET #regions.#region = :result",
    {":result": RESULT_VALUE},
)
region["RecordFailedRegion"] = record(
    "Record the failure and count it against the tolerance",
    "SET #regions.#region = :result ADD failedCount :one",
    {":result": RESULT_VALUE, ":one": {"N": "1"}},
)
region["RecordLost"] = {
    "Type": "Pass",
    "Comment": "The progress record could not be written: the result still reaches FinishRollout through the Map's output",
    "End": True,
}


def _renamed(state, names):
    """A copy of ``state`` whose transitions point at the renamed states."""
    state = json.loads(json.dumps(state))
    for holder in [state, *state.get("Choices", []), *state.get("Catch", [])]:
        for key in ("Next", "Default"):
            if holder.get(key) in names:
                holder[key] = names[holder[key]]
    return state


def in_account(states):
    """The per-target states as a child execution of one account runs them: names end in "InAccount", results
    name the account, records go to the account's item, and a failure is also counted on the rollout's item."""
    names = {name: name + "InAccount" for name in states}
    out = {}
    for name, state in states.items():
        state = _renamed(state, names)
        params = state.get("Parameters", {})
        if state["Type"] == "Pass" and "region.$" in params:
            params["account.$"] = "$.account"
        if state.get("Resource", "").endswith("dynamodb:updateItem"):
            params["Key"] = ACCOUNT_KEY
        out[names[name]] = state
    failed = out["RecordFailedRegionInAccount"]
    failed["Comment"] = "Record the failure in the account's item"
    failed["Parameters"]["UpdateExpression"] = "SET #regions.#region = :result"
    del failed["Parameters"]["ExpressionAttributeValues"][":one"]
    del failed["End"]
    failed["Next"] = "CountFailureInAccount"
    out["CountFailureInAccount"] = record(
        "Count the failure against the rollout's tolerance (every account's SnapshotRegion reads the count)",
        "ADD failedCount :one",
        {":one": {"N": "1"}},
        names={},
        lost="RecordLostInAccount",
    )
    return out


def awaiting_role(states):
    """A target whose account's execution role is not there yet waits for it and tries again, roleWait.attempts
    times roleWait.seconds (an account that just joined a targeted OU: the StackSet creating the role takes
    minutes; other rollouts' roleWait.attempts is 0), then fails as before."""
    states["SnapshotRegionInAccount"]["Catch"].insert(
        0, {"ErrorEquals": ["ExecutionRoleUnavailable"], "ResultPath": "$.error", "Next": "RoleNotYetInAccount"}
    )
    states["RoleNotYetInAccount"] = {
        "Type": "Choice",
        "Comment": "Wait for the execution role while waits are left (rollouts of trigger account only)",
        "Choices": [{"Variable": "$.roleWait.attempts", "NumericGreaterThan": 0, "Next": "WaitForRoleInAccount"}],
        "Default": "SnapshotRegionFailedInAccount",
    }
    states["WaitForRoleInAccount"] = {
        "Type": "Wait",
        "SecondsPath": "$.roleWait.seconds",
        "Next": "RoleWaitedInAccount",
    }
    states["RoleWaitedInAccount"] = {
        "Type": "Pass",
        "Comment": "One wait fewer left; then snapshot again",
        "Parameters": {"attempts.$": "States.MathAdd($.roleWait.attempts, -1)", "seconds.$": "$.roleWait.seconds"},
        "ResultPath": "$.roleWait",
        "Next": "SnapshotRegionInAccount",
    }
    return states


def account_targets(comment, nxt):
    """A child execution's first state: its account's targets, which the rollout stored before it started."""
    return {
        "Type": "Task",
        "Comment": comment,
        "Resource": "arn:${Partition}:states:::dynamodb:getItem",
        "Parameters": {
            "TableName": "${TableName}",
            "Key": ACCOUNT_KEY,
            "ProjectionExpression": "targets",
            "ConsistentRead": True,
        },
        "ResultSelector": {"targets.$": "States.StringToJson($.Item.targets.S)"},
        "ResultPath": "$.plan",
        "Retry": RECORD_RETRY,
        "Next": nxt,
    }


ACCOUNT_ITEM = {
    "rolloutId.$": "$.rolloutId",
    "mode.$": "$.mode",
    "account.$": "$$.Map.Item.Value",
    "rule.$": "$.rule",
    "sourceSecretArn.$": "$.sourceSecretArn",
    "inlineCredentials.$": "$.inlineCredentials",
    "dropTemplate.$": "$.dropTemplate",
    "adopt.$": "$.adopt",
    "creationTemplate.$": "$.creationTemplate",
    "smokePull.$": "$.smokePull",
    "failureTolerance.$": "$.rollout.failureTolerance",
    "maxConcurrency.$": "$.rollout.maxConcurrency",
    "roleWait.$": "$.rollout.roleWait",
}
DISTRIBUTED = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}


def accounts_map(comment, processor, result_path, catch_next, catch_path, nxt, *, tolerate_all=False):
    """One child execution per account (each with its own history), accountConcurrency at once. ``tolerate_all``:
    a failed child does not stop the others (a rollback must reach every account; FinishRolledBack counts a target
    without a recorded outcome as not rolled back)."""
    # ToleratedFailureCount, not Percentage 100: AWS's validator wants an integer percentage, moto's grammar a float.
    extra = {"ToleratedFailureCount": 100000} if tolerate_all else {}  # more than any organization's accounts
    return extra | {
        "Type": "Map",
        "Comment": comment,
        "ItemsPath": "$.accounts",
        "ItemSelector": ACCOUNT_ITEM,
        "MaxConcurrencyPath": "$.rollout.accountConcurrency",
        "Label": comment.split(":")[0].replace(" ", ""),
        "ItemProcessor": processor,
        "ResultPath": result_path,
        "Catch": catch(catch_next, catch_path),
        "Next": nxt,
    }


account_done = {
    "Type": "Pass",
    "Comment": "A child's output stays tiny: the parent collects one per account",
    "Parameters": {"account.$": "$.account"},
    "End": True,
}
rollout_account = {
    "ProcessorConfig": DISTRIBUTED,
    "StartAt": "AccountTargets",
    "States": {
        "AccountTargets": account_targets(
            "This account's targets (regions to apply or remove)", "RolloutAccountRegions"
        ),
        "RolloutAccountRegions": {
            "Type": "Map",
            "Comment": "The account's regions, up to rollout.maxConcurrency at once; no state inside can fail the Map",
            "ItemsPath": "$.plan.targets",
            "ItemSelector": {
                "rolloutId.$": "$.rolloutId",
                "mode.$": "$.mode",
                "account.$": "$.account",
                "region.$": "$$.Map.Item.Value.region",
                "action.$": "$$.Map.Item.Value.action",
                "rule.$": "$.rule",
                "sourceSecretArn.$": "$.sourceSecretArn",
                "inlineCredentials.$": "$.inlineCredentials",
                "dropTemplate.$": "$.dropTemplate",
                "adopt.$": "$.adopt",
                "creationTemplate.$": "$.creationTemplate",
                "smokePull.$": "$.smokePull",
                "failureTolerance.$": "$.failureTolerance",
                "roleWait.$": "$.roleWait",
            },
            "MaxConcurrencyPath": "$.maxConcurrency",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "SnapshotRegionInAccount",
                "States": awaiting_role(in_account(region)),
            },
            "ResultPath": None,
            "Next": "AccountDone",
        },
        "AccountDone": account_done,
    },
}
ROLLBACK_KEY_NAMES = {"#rollback": "rollback", "#region.$": "$.region"}
rollback_account = {
    "ProcessorConfig": DISTRIBUTED,
    "StartAt": "RollbackAccountTargets",
    "States": {
        "RollbackAccountTargets": account_targets("This account's targets", "RollbackAccountRegions"),
        "RollbackAccountRegions": {
            "Type": "Map",
            "Comment": "Every target of the account back to its snapshot (targets never touched have none and are left alone)",
            "ItemsPath": "$.plan.targets",
            "ItemSelector": {
                "rolloutId.$": "$.rolloutId",
                "rule.$": "$.rule",
                "account.$": "$.account",
                "region.$": "$$.Map.Item.Value.region",
            },
            "MaxConcurrencyPath": "$.maxConcurrency",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "RollbackTarget",
                "States": {
                    "RollbackTarget": lam(
                        "Restore template, rule and secret to the target's snapshot",
                        "${RollbackFunctionArn}",
                        "TargetRolledBack",
                        None,
                        "TargetRollbackFailed",
                        extra_retry=True,
                    ),
                    "TargetRolledBack": {
                        "Type": "Pass",
                        "Parameters": {
                            "rolloutId.$": "$.rolloutId",
                            "account.$": "$.account",
                            "region.$": "$.region",
                            "status": "ROLLED_BACK",
                            "error": None,
                        },
                        "Next": "RecordRollback",
                    },
                    "TargetRollbackFailed": {
                        "Type": "Pass",
                        "Comment": "Reported, never dropped: the target needs a human",
                        "Parameters": {
                            "rolloutId.$": "$.rolloutId",
                            "account.$": "$.account",
                            "region.$": "$.region",
                            "status": "ROLLBACK_FAILED",
                            "error.$": "$.error",
                        },
                        "Next": "RecordRollback",
                    },
                    "RecordRollback": record(
                        "The target's rollback outcome, for FinishRolledBack and GET /rollouts/{rolloutId}",
                        "SET #rollback.#region = :result",
                        {":result": RESULT_VALUE},
                        key=ACCOUNT_KEY,
                        lost="RollbackRecordLost",
                        names=ROLLBACK_KEY_NAMES,
                    ),
                    "RollbackRecordLost": {
                        "Type": "Pass",
                        "Comment": "Without its record the target counts as not rolled back",
                        "End": True,
                    },
                },
            },
            "ResultPath": None,
            "Next": "AccountRolledBack",
        },
        "AccountRolledBack": account_done | {"Comment": "One tiny output per account"},
    },
}


def rollback_map(comment, items, value_path, nxt, names=("Rollback", "RolledBack", "RollbackFailed")):
    a, b, c = names
    return {
        "Type": "Map",
        "Comment": comment,
        "ItemsPath": items,
        "ItemSelector": {"rolloutId.$": "$.rolloutId", "rule.$": "$.rule", "region.$": value_path},
        "MaxConcurrencyPath": "$.rollout.maxConcurrency",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": a,
            "States": {
                a: lam(
                    "Restore template, rule and secret to the region's snapshot",
                    "${RollbackFunctionArn}",
                    b,
                    None,
                    c,
                    extra_retry=True,
                ),
                b: {
                    "Type": "Pass",
                    "Parameters": {"region.$": "$.region", "status": "ROLLED_BACK", "error": None},
                    "End": True,
                },
                c: {
                    "Type": "Pass",
                    "Comment": "Reported, never dropped: the region needs a human",
                    "Parameters": {"region.$": "$.region", "status": "ROLLBACK_FAILED", "error.$": "$.error"},
                    "End": True,
                },
            },
        },
        "ResultPath": "$.rollbackResults",
        "Catch": catch("FinishRolledBack", "$.rollbackError"),
        "Next": nxt,
    }


def finish(comment, nxt, *, end=False, after_rollback):
    params = {
        "rolloutId.$": "$.rolloutId",
        "prefix.$": "$.rule.ecrRepositoryPrefix",
        "operation.$": "$.operation",
        "mode.$": "$.mode",
        "failureTolerance.$": "$.rollout.failureTolerance",
        "regionResults.$": "$.regionResults",
        "mapError.$": "$.mapError",
        "afterRollback": after_rollback,
    }
    if after_rollback:
        params["rollbackResults.$"] = "$.rollbackResults"
    # A first finish that fails for good cannot say whether to roll back: roll back (all or nothing). A finish after
    # the rollback that fails for good is closed by CloseRollout.
    on_failure = "CloseRollout" if after_rollback else "RollbackOneOrMany"
    s = lam(comment, "${FinishRolloutFunctionArn}", nxt, "$.finish", on_failure, params=params, end=end)
    # Keep only the decision: the summary (every region's error again) would double the state's size.
    s["ResultSelector"] = {"rollback.$": "$.rollback"}
    s["Catch"][0]["ResultPath"] = "$.finishError"
    if not after_rollback:
        # Lambda refusing FinishRollout (throttled) says nothing about the targets: try again later, never roll back
        # for it. An execution that runs out of history meanwhile fails, and RecoverRollout takes it from there.
        s["Catch"].insert(0, {"ErrorEquals": LAMBDA_REFUSED, "ResultPath": "$.finishError", "Next": "FinishLater"})
    return s


states = {
    "Begin": {
        "Type": "Pass",
        "Comment": "No region rolled back yet",
        "Result": [],
        "ResultPath": "$.rollbackResults",
        "Next": "RecoverOrRollOut",
    },
    "RecoverOrRollOut": {
        "Type": "Choice",
        "Comment": "A recovery execution (started when an execution ended without finishing) only rolls back and finishes",
        "Choices": [
            {
                "And": [{"Variable": "$.recover", "IsPresent": True}, {"Variable": "$.recover", "BooleanEquals": True}],
                "Next": "NoRegionResults",
            }
        ],
        "Default": "Prepare",
    },
    "Prepare": {
        "Type": "Pass",
        "Comment": "No failure of the region Map itself yet",
        "Result": {},
        "ResultPath": "$.mapError",
        "Next": "OneAccountOrMany",
    },
    "OneAccountOrMany": choice(
        "One account: its targets travel in the input. Several: one child execution per account (Distributed Map)",
        "$.scale",
        "ACCOUNTS",
        "RolloutAccounts",
        "RolloutRegions",
    ),
    "RolloutAccounts": accounts_map(
        "RolloutAccounts: one child execution per target account, each converging that account's regions",
        rollout_account,
        "$.regionResults",
        "NoRegionResults",
        "$.mapError",
        "FinishRollout",
    ),
    "RolloutRegions": {
        "Type": "Map",
        "Comment": "Every target region at once, up to rollout.maxConcurrency (0 = all): apply where desired, remove where no longer desired. No state inside can fail the Map.",
        "ItemsPath": "$.targets",
        "ItemSelector": {
            "rolloutId.$": "$.rolloutId",
            "mode.$": "$.mode",
            "region.$": "$$.Map.Item.Value.region",
            "action.$": "$$.Map.Item.Value.action",
            "rule.$": "$.rule",
            "sourceSecretArn.$": "$.sourceSecretArn",
            "inlineCredentials.$": "$.inlineCredentials",
            "dropTemplate.$": "$.dropTemplate",
            "adopt.$": "$.adopt",
            "creationTemplate.$": "$.creationTemplate",
            "smokePull.$": "$.smokePull",
            "failureTolerance.$": "$.rollout.failureTolerance",
            "checkTolerance.$": "$.rollout.checkTolerance",
        },
        "MaxConcurrencyPath": "$.rollout.maxConcurrency",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "SnapshotRegion", "States": region},
        "ResultPath": "$.regionResults",
        "Catch": catch("NoRegionResults", "$.mapError"),
        "Next": "FinishRollout",
    },
    "FinishRollout": finish(
        "Close the rollout (status, desired rule, deployed regions, Finished event, lock), or answer rollback=true when failures exceed the tolerance",
        "NeedsRollback",
        after_rollback=False,
    ),
    "FinishLater": {
        "Type": "Wait",
        "Comment": "Lambda kept refusing FinishRollout (throttling): the targets' outcome stands; wait, then finish again",
        "Seconds": FINISH_AGAIN_SECONDS,
        "Next": "FinishRollout",
    },
    "NeedsRollback": {
        "Type": "Choice",
        "Choices": [{"Variable": "$.finish.rollback", "BooleanEquals": True, "Next": "RollbackOneOrMany"}],
        "Default": "Finished",
    },
    "RollbackOneOrMany": choice(
        "A rollout across accounts rolls back per account", "$.scale", "ACCOUNTS", "RollbackAccounts", "RollbackRegions"
    ),
    "RollbackAccounts": accounts_map(
        "RollbackAccounts: all or nothing, every target of every account back to its snapshot",
        rollback_account,
        "$.rollbackResults",
        "FinishRolledBack",
        "$.rollbackError",
        "FinishRolledBack",
        tolerate_all=True,
    ),
    "Finished": {"Type": "Succeed"},
    "RollbackRegions": rollback_map(
        "All or nothing: put every region this rollout touched back to its snapshot",
        "$.regionResults",
        "$$.Map.Item.Value.region",
        "FinishRolledBack",
    ),
    "NoRegionResults": {
        "Type": "Pass",
        "Comment": "The region Map failed as a whole (or this is a recovery): no per-region results",
        "Result": [],
        "ResultPath": "$.regionResults",
        "Next": "LetInFlightCallsEnd",
    },
    "LetInFlightCallsEnd": {
        "Type": "Wait",
        "Comment": "When a Map fails, Step Functions stops its iterations but not Lambda calls already running: wait out the longest step before restoring",
        "SecondsPath": "$.rollout.settleSeconds",
        "Next": "RecoverOneOrMany",
    },
    "RecoverOneOrMany": choice(
        "A rollout across accounts rolls back per account",
        "$.scale",
        "ACCOUNTS",
        "RollbackAccounts",
        "RollbackAllRegions",
    ),
    "RollbackAllRegions": rollback_map(
        "Every target region back to its snapshot (regions never touched have none and are left alone)",
        "$.regions",
        "$$.Map.Item.Value",
        "FinishRolledBack",
        ("RollbackEveryRegion", "EveryRegionRolledBack", "EveryRegionRollbackFailed"),
    ),
    "FinishRolledBack": finish(
        "Close the rolled-back rollout: previous desired rule and source secret back, Finished event, lock released",
        None,
        end=True,
        after_rollback=True,
    ),
    "CloseRollout": lam(
        "Finishing failed for good after the rollback: record the rollout FAILED with the reason, put the previous desired rule and source secret back where possible, emit Finished, release the lock (an EventBridge rule on execution status catches a failure here)",
        "${RecoverRolloutFunctionArn}",
        None,
        None,
        None,
        params={"rolloutId.$": "$.rolloutId", "prefix.$": "$.rule.ecrRepositoryPrefix", "error.$": "$.finishError"},
        end=True,
    ),
}
asl = {
    "Comment": "pullthrough rollout: one pull-through cache rule converged in every target (account, region), all or nothing. Input, output and history carry ARNs and version ids, never a credential value; target snapshots live in DynamoDB.",
    "StartAt": "Begin",
    "States": states,
}


def render() -> str:
    return json.dumps(asl, indent=2) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if ASL_PATH.read_text() == render() else "statemachine/rollout.asl.json is stale: run make asl")
    ASL_PATH.write_text(render())
