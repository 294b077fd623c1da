"""Rollouts: start one for a rule request, report its progress, and close it when the state machine ends.

The state machine's input is built here and holds no credential value: inline credentials are first stored
in a home-region source secret and travel by ARN.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pullthrough import exceptions as ex
from pullthrough.adapters.secrets import SecretStore
from pullthrough.adapters.store import PrefixBusy, RolloutStore
from pullthrough.adapters.workflow import ENDED_EARLY, RECOVERY_SUFFIX, EventBus, Executions
from pullthrough.aws import home_account as aws_home_account
from pullthrough.desired import (
    Target,
    by_account,
    deployed_after,
    deployed_regions,
    failures,
    held_targets,
    previous_rule,
    removal_targets,
    source_version,
    target_of,
    targets,
)
from pullthrough.exceptions import InvalidRequest
from pullthrough.expiry import EXPIRY_TAG, requested_expiry
from pullthrough.rollout_views import (
    error_view,
    event_summary,
    region_entry,
    region_view,
    target_results,
    target_view,
    with_rollback,
)
from pullthrough.secret_names import SECRET_PREFIX, SOURCE_SECRET_PREFIX
from pullthrough.steps.secret import restore_secret
from pullthrough.tasks import SecretChange

if TYPE_CHECKING:  # FinishRollout imports this module: the request models (pydantic) would double its cold start
    from pullthrough.adapters.organizations import Organization
    from pullthrough.metrics import RolloutMetrics
    from pullthrough.models import Credentials, RolloutOptions, RuleRequest

RULE_REQUESTED = "Pull Through Cache Rule Requested"
ROLLOUT_STARTED = "Pull Through Cache Rollout Started"  # emitted by the EventBridge trigger
ROLLOUT_FINISHED = "Pull Through Cache Rollout Finished"
LOCK_GRACE_SECONDS = 60  # a lock whose execution never started is taken over after this
IDEMPOTENCY_WINDOW_SECONDS = 600
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
PLAN = "PLAN"
APPLY_MODE = "APPLY"
# When the region Map fails as a whole, Lambda calls already running still finish: the rollback waits this long
# (longer than any step function's 30 s timeout) before restoring. Deployments may set ROLLOUT_SETTLE_SECONDS.
SETTLE_SECONDS = 35
# One account: the targets travel in the execution's input and one inline Map works them (its history shows every
# state). Several accounts: a Distributed Map starts one child execution per account, whose targets wait in DynamoDB,
# so that 1,000 accounts x 17 regions stay within Step Functions' 256 KB of state and 25,000 events per history.
ONE_ACCOUNT = "REGIONS"
ACCOUNTS = "ACCOUNTS"
ACCOUNT_CONCURRENCY = 20  # accounts worked on at once by default (StackSets' MaxConcurrentCount is 1 by default)
INLINE_MAP_CONCURRENCY = 40  # iterations an inline Map runs at once on AWS, whatever MaxConcurrency says


# A rule item's desired fields (the rest is where it is deployed and its last rollout).
DESIRED_FIELDS = (
    "rule",
    "regions",
    "accounts",
    "organizationalUnits",
    "targetAccounts",
    "retainOnAccountRemoval",
    "creationTemplate",
    "sourceSecretArn",
    "credentialExpiresAt",
)


class UnknownRule(InvalidRequest):
    """No desired rule exists for the prefix."""


def new_rollout_id() -> str:
    return f"r-{uuid.uuid4().hex}"


def request_fingerprint(request: RuleRequest, idempotency_key: str | None) -> tuple[str | None, str]:
    """The key under which a request is remembered for the idempotency window (or None), and its body's hash.

    An Idempotency-Key header wins. Otherwise the body counts, but only when it holds no inline credential:
    nothing derived from a credential is ever stored, and a new credential must roll out, not be deduplicated.
    """
    body = request.model_dump(mode="json", exclude={"credentials"})
    body["skipsTemplate"] = request.skips_template
    body["hasInlineCredentials"] = request.credentials is not None
    body_hash = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    if idempotency_key:
        return "key:" + hashlib.sha256(idempotency_key.encode()).hexdigest(), body_hash
    if request.credentials is not None:
        return None, body_hash
    return "body:" + body_hash, body_hash


def execution_input(
    rollout_id: str,
    operation: str,
    desired: dict[str, Any],
    goals: list[dict[str, str]],
    *,
    home: str | None = None,
    max_concurrency: int | None = None,
    account_concurrency: int | None = None,
    failure_tolerance: int = 0,
    mode: str = "APPLY",
    inline_credentials: bool = False,
    settle_seconds: int = 35,
    drop_template: bool = False,
) -> dict[str, Any]:
    """The state machine's input: the desired rule, its targets and options; ARNs only, never a credential value.

    Targets of the home account alone travel as ``targets`` (scale REGIONS); targets in other accounts are stored
    per account before the execution starts and only the account ids travel (scale ACCOUNTS).
    """
    accounts = list(dict.fromkeys(goal.get("account") or home for goal in goals))
    one_account = accounts in ([home], [None], [])
    at_once = min(max_concurrency or INLINE_MAP_CONCURRENCY, INLINE_MAP_CONCURRENCY)
    return {
        "rolloutId": rollout_id,
        "operation": operation,
        "mode": mode,
        "scale": ONE_ACCOUNT if one_account else ACCOUNTS,
        "rule": desired["rule"],
        "sourceSecretArn": desired.get("sourceSecretArn"),
        "inlineCredentials": inline_credentials,
        "creationTemplate": desired.get("creationTemplate"),
        "dropTemplate": drop_template,
        "targets": [{"region": g["region"], "action": g["action"]} for g in goals] if one_account else [],
        "regions": [goal["region"] for goal in goals] if one_account else [],
        "accounts": [] if one_account else accounts,
        "rollout": {
            "maxConcurrency": max_concurrency or 0,
            "accountConcurrency": account_concurrency or ACCOUNT_CONCURRENCY,
            "failureTolerance": failure_tolerance,
            # The tolerance gate (a GetItem before each target's first read) stops targets that wait for a slot
            # (maxConcurrency, or more than an inline Map runs at once). When every target starts at once, all are
            # under way from the start (like StackSets with every account at once): none waits, none is gated, and
            # past the tolerance all are rolled back. A throttled first attempt that Step Functions retries is
            # under way too: it is not gated either.
            "checkTolerance": not (one_account and len(goals) <= at_once),
            "settleSeconds": settle_seconds,
        },
    }


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def save_source_credentials(secrets: SecretStore, name: str, credentials: Credentials) -> SecretChange:
    """Keep inline credentials in the home region's source secret ``name`` without ever reading it back.

    The change record (ARN and prior version id) lets a rolled-back or refused rollout restore it.
    """
    value = credentials.secret_string()
    found = secrets.describe(name)
    if found is None:
        made = secrets.create(name, value, description="Upstream credentials given to pullthrough's API")
        return SecretChange(action="created", secretArn=made.arn, versionId=made.version_id)
    version, scheduled = found
    if scheduled:
        secrets.restore(version.arn)
    put = secrets.put(version.arn, value)
    return SecretChange(
        action="updated",
        secretArn=put.arn,
        versionId=put.version_id,
        priorVersionId=version.version_id,
        priorScheduledForDeletion=scheduled or None,
    )


@dataclass
class Rollouts:
    """The rollout service shared by the API, the EventBridge trigger, the finishing steps and recovery."""

    store: RolloutStore
    executions: Executions | None = None  # FinishRollout runs without it (the state machine invokes it)
    home_secrets: SecretStore | None = None
    events: EventBus | None = None
    home_region: str = "us-east-1"
    source_prefix: str = SOURCE_SECRET_PREFIX
    settle_seconds: int = SETTLE_SECONDS
    role_path: str = "/"  # customRoleArn must be under this IAM path (the template grants PassRole only there)
    credential_prefix: str = SECRET_PREFIX  # credentialSecretArn must name a home-region secret with this prefix
    trigger: str = "api"  # what starts rollouts through this service (api | event | sweep), recorded on each
    metrics: RolloutMetrics | None = None
    organization: Organization | None = None  # expands organizationalUnits (the API, the trigger, account events)
    home: str | None = None  # the home account; default: the state machine's (or HOME_ACCOUNT_ID's)

    def require_executions(self) -> Executions:
        if self.executions is None:
            raise RuntimeError("this function is not configured with STATE_MACHINE_ARN")
        return self.executions

    @property
    def home_account(self) -> str:
        """The account pullthrough is deployed in: its targets need no execution role."""
        if self.home is None:
            self.home = self.executions.account_id() if self.executions is not None else aws_home_account()
        if self.home is None:
            raise RuntimeError("this function is configured with neither STATE_MACHINE_ARN nor HOME_ACCOUNT_ID")
        return self.home

    def target_accounts(self, request: RuleRequest) -> list[str]:
        """The accounts a request targets: its accounts and the members of its organizational units (the home
        account when it names neither). Refuses roles of one account when the rule reaches several."""
        if request.organizationalUnits and self.organization is None:
            raise RuntimeError(
                "expanding organizationalUnits needs the organization (rollouts_from_env(organization=True))"
            )
        # OUs with no active account yet are fine: accounts that join them later get the rule (AccountMembership).
        accounts = request.target_accounts(self.home_account, self.organization)  # type: ignore[arg-type]
        roles = request.role_arns()
        if roles and accounts != [self.home_account]:
            raise InvalidRequest(
                "names a role of one account, but ECR takes only roles of the registry's own account and "
                f"this rule targets {len(accounts)} accounts",
                field=roles[0][0],
            )
        return accounts

    def check_source_secret(self, arn: str) -> None:
        """A named credential secret must be this account's, in the home region, under ecr-pullthroughcache/.

        Raises InvalidRequest naming ``credentialSecretArn`` otherwise (StoreSecret could not read it).
        """
        parts = arn.split(":")
        name = parts[6] if len(parts) > 6 else ""
        account = self.require_executions().account_id() if self.executions is not None else parts[4]
        allowed = self.credential_prefix if self.credential_prefix.startswith(SECRET_PREFIX) else SECRET_PREFIX
        if parts[3] != self.home_region or parts[4] != account or not name.startswith(allowed):
            raise InvalidRequest(
                f"must name a secret of account {account} in {self.home_region} whose name starts with {allowed}",
                field="credentialSecretArn",
            )
        if self.home_secrets is not None and self.home_secrets.describe(arn) is None:
            raise InvalidRequest("names a secret that does not exist", field="credentialSecretArn")

    def start(
        self,
        request: RuleRequest,
        *,
        idempotency_key: str | None = None,
        plan: bool = False,
        request_id: str | None = None,
        rollout_id: str | None = None,
    ) -> dict[str, Any]:
        """Roll ``request`` out: lock the prefix, store inline credentials, record the rollout, start it.

        The request is the prefix's whole desired state: regions it no longer names lose the prefix. A request seen
        within the idempotency window (same Idempotency-Key, or the same body when it carries no inline credential)
        returns the rollout it started. Raises PrefixBusy naming the running rollout. ``plan``: the same execution
        with every write refused; no lock, no stored credential, no change to the desired rule. ``request_id``: the
        caller's own id (EventBridge), kept on the rollout and echoed in its Finished event. ``rollout_id``: a chosen
        id instead of a new one (the local stack's sample rollout).
        """
        if plan:
            return self._plan(request, rollout_id or new_rollout_id(), request_id)
        key, body_hash = request_fingerprint(request, idempotency_key)
        if key is not None:
            seen = self.store.find_idempotent(key)
            if seen is not None:
                seen_id, seen_hash = seen
                if idempotency_key and seen_hash != body_hash:
                    raise InvalidRequest("was used for a different request", field="Idempotency-Key")
                shown = self.view(seen_id)
                # A finished rollout does not swallow the same body sent again (a retry after a rollback).
                if shown is not None and (idempotency_key or shown["status"] == "RUNNING"):
                    return shown
        request.check_account(self.require_executions().account_id(), self.role_path)
        if request.credentialSecretArn is not None:
            self.check_source_secret(request.credentialSecretArn)
        accounts = self.target_accounts(request)
        rule = request.rule()
        prefix = rule.ecrRepositoryPrefix
        rollout_id = rollout_id or new_rollout_id()
        self._lock(prefix, rollout_id)
        source_change = None
        try:
            source_arn = request.credentialSecretArn
            if request.credentials is not None:
                assert self.home_secrets is not None, "inline credentials need the home-region secret store"
                name = self.source_prefix + prefix
                source_change = save_source_credentials(self.home_secrets, name, request.credentials)
                source_arn = source_change.secretArn
            started = self._launch(
                rollout_id,
                prefix,
                "APPLY",
                self._desired(request, source_arn, accounts),
                request.rollout,
                source_change=source_change,
                request_id=request_id,
            )
        except BaseException:
            self._undo_start(prefix, rollout_id, source_change)
            raise
        said, expires_at = requested_expiry(request)
        if said and source_arn is not None:  # the tag on the source secret is the truth (pullthrough.expiry)
            assert self.home_secrets is not None, "an expiry needs the home-region secret store"
            self.home_secrets.tag_expiry(source_arn, EXPIRY_TAG, expires_at)
            self.store.update_rule(prefix, credentialExpiresAt=expires_at)
        if key is not None:
            self.store.remember_idempotent(key, rollout_id, body_hash, ttl_seconds=IDEMPOTENCY_WINDOW_SECONDS)
        return started

    @staticmethod
    def _desired(request: RuleRequest, source_arn: str | None, accounts: list[str]) -> dict[str, Any]:
        template = request.template()
        return {
            "rule": request.rule().model_dump(exclude_none=True),
            "regions": request.ordered_regions(),
            "accounts": request.accounts,
            "organizationalUnits": request.organizationalUnits,
            "targetAccounts": accounts,
            "retainOnAccountRemoval": request.retainOnAccountRemoval,
            "creationTemplate": template.to_ecr() if template else None,
            "sourceSecretArn": source_arn,
        }

    def converge_accounts(self, prefix: str, target_accounts: list[str], *, only: list[str]) -> dict[str, Any]:
        """Roll the rule out again with ``target_accounts`` as its accounts, touching only the targets of ``only``
        (an account that joined or left a targeted organizational unit). Raises PrefixBusy naming a running one."""
        rule = self.store.get_rule(prefix)
        if rule is None:
            raise UnknownRule(f"no rule with prefix {prefix!r}", field="prefix")
        desired = {key: rule.get(key) for key in DESIRED_FIELDS} | {"targetAccounts": target_accounts}
        rollout_id = new_rollout_id()
        self._lock(prefix, rollout_id)
        try:
            return self._launch(rollout_id, prefix, "APPLY", desired, None, only_accounts=only)
        except BaseException:
            self._undo_start(prefix, rollout_id, None)
            raise

    def _plan(self, request: RuleRequest, rollout_id: str, request_id: str | None) -> dict[str, Any]:
        """What an apply of ``request`` would do, from the same state machine with every write refused."""
        request.check_account(self.require_executions().account_id(), self.role_path)
        if request.credentialSecretArn is not None:
            self.check_source_secret(request.credentialSecretArn)
        desired = self._desired(request, request.credentialSecretArn, self.target_accounts(request))
        return self._launch(
            rollout_id,
            desired["rule"]["ecrRepositoryPrefix"],
            "APPLY",
            desired,
            request.rollout,
            mode=PLAN,
            inline_credentials=request.credentials is not None,
            request_id=request_id,
        )

    def _undo_start(self, prefix: str, rollout_id: str, source_change: SecretChange | None) -> None:
        """A rollout that could not start changes nothing: desired rule and source secret back, record FAILED."""
        item = self.store.get_rollout(rollout_id)
        if item is not None:
            self._restore_desired(prefix, item)
            self.store.set_rollout_status(rollout_id, "FAILED", finishedAt=now_iso())
        elif source_change is not None and self.home_secrets is not None:
            restore_secret(source_change, self.home_secrets)
        self.store.release_lock(prefix, rollout_id)

    def start_delete(self, prefix: str, *, plan: bool = False) -> dict[str, Any]:
        """Remove the prefix's rule, template and secret from every region it was ever written to, all or nothing."""
        desired = self.store.get_rule(prefix)
        if desired is None:
            raise UnknownRule(f"no rule with prefix {prefix!r}", field="prefix")
        target = {k: desired.get(k) for k in ("rule", "regions")} | {"creationTemplate": None, "sourceSecretArn": None}
        if plan:
            return self._launch(new_rollout_id(), prefix, "DELETE", target, None, mode=PLAN)
        rollout_id = new_rollout_id()
        self._lock(prefix, rollout_id)
        try:
            return self._launch(rollout_id, prefix, "DELETE", target, None)
        except BaseException:
            self._undo_start(prefix, rollout_id, None)
            raise

    def _launch(
        self,
        rollout_id: str,
        prefix: str,
        operation: str,
        desired: dict[str, Any],
        options: RolloutOptions | None,
        *,
        source_change: SecretChange | None = None,
        mode: str = APPLY_MODE,
        inline_credentials: bool = False,
        request_id: str | None = None,
        only_accounts: list[str] | None = None,
    ) -> dict[str, Any]:
        """Record the rollout (and, unless planning, the desired rule it aims at) and start its execution.

        Input: ARNs only. The targets are every desired (account, region) plus every one the prefix is still held
        in; ``only_accounts`` keeps those of some accounts only (an account that joined or left a targeted OU).
        ``options``: the request's RolloutOptions (None: all or nothing, default concurrency).
        """
        created = now_iso()
        home = self.home_account
        previous = self.store.get_rule(prefix)
        if operation == "DELETE":
            goals = removal_targets(previous or {}, home)
        else:
            goals = targets(list(desired["regions"]), previous, home, desired.get("targetAccounts"))
        if only_accounts is not None:
            goals = [goal for goal in goals if goal["account"] in only_accounts]
        failure_tolerance = options.tolerated_failures(len(goals)) if options is not None else 0
        payload = execution_input(
            rollout_id,
            operation,
            desired,
            goals,
            home=home,
            max_concurrency=options.maxConcurrency if options else None,
            account_concurrency=options.accountConcurrency if options else None,
            failure_tolerance=failure_tolerance,
            mode=mode,
            inline_credentials=inline_credentials,
            settle_seconds=self.settle_seconds,
            drop_template=operation == "APPLY"
            and desired.get("creationTemplate") is None
            and bool((previous or {}).get("creationTemplate")),
        )
        across = payload["scale"] == ACCOUNTS
        if across:
            grouped: dict[str, list[dict[str, str]]] = {}
            for goal in goals:
                grouped.setdefault(goal["account"], []).append(goal)
            self.store.put_account_targets(rollout_id, grouped)
        kept_previous = {k: v for k, v in (previous or {}).items() if k != "deployedElsewhere"}
        self.store.put_rollout(
            {
                "rolloutId": rollout_id,
                "prefix": prefix,
                "operation": operation,
                "mode": mode,
                "scale": payload["scale"],
                "status": "RUNNING",
                "createdAt": created,
                "failedCount": 0,
                "failureTolerance": failure_tolerance,
                "targetCount": len(goals),
                "trigger": self.trigger,
                "upstreamRegistry": desired["rule"].get("upstreamRegistry"),
                "regions": {}
                if across
                else {goal["region"]: {"status": "PENDING", "action": goal["action"], "changes": {}} for goal in goals},
                # What a rollback puts back besides the targets: the previous desired rule, the source secret.
                "previousRule": json.dumps(kept_previous) if previous and mode != PLAN else None,
                "sourceSecretChange": source_change.dumps() if source_change else None,
                "requestId": request_id,
            }
        )
        # The desired rule changes last before the execution starts: a start that fails before this point (the
        # account items, the rollout item) leaves the previous desired rule as it was (see _undo_start).
        if mode != PLAN:
            carried = {
                "deployed": deployed_regions(previous) if previous else {},
                "deployedAccounts": (previous or {}).get("deployedAccounts") or [],
            }
            if operation == "DELETE":
                self.store.update_rule(prefix, lastRolloutId=rollout_id, updatedAt=created)
            else:
                rule = desired | carried | {"lastRolloutId": rollout_id, "updatedAt": created}
                for kept in ("sourceSecretVersionId", "credentialExpiresAt"):  # bookkeeping, not requested
                    if previous and previous.get(kept):
                        rule[kept] = previous[kept]
                self.store.put_rule(prefix, rule)
        self.require_executions().start(rollout_id, payload)
        if self.metrics is not None:
            self.metrics.started(rollout_id, prefix, self.trigger)
        pending = {(g["account"], g["region"]): {"action": g["action"]} for g in goals}
        return {
            "rolloutId": rollout_id,
            "status": "RUNNING",
            "prefix": prefix,
            "operation": operation,
            "mode": mode,
            "regions": {r: region_view(entry) for (a, r), entry in pending.items() if a == home},
            "targets": [target_view(target, entry) for target, entry in pending.items()],
        }

    @contextmanager
    def holding(self, prefix: str) -> Iterator[None]:
        """The prefix's lock for a change made outside any rollout; raises PrefixBusy while a rollout holds it."""
        token = f"change-{uuid.uuid4().hex}"
        self._lock(prefix, token)
        try:
            yield
        finally:
            self.store.release_lock(prefix, token)

    def _lock(self, prefix: str, rollout_id: str) -> None:
        try:
            self.store.acquire_lock(prefix, rollout_id)
        except PrefixBusy as busy:
            # A crashed or finished execution must not keep the prefix locked until the lease runs out. A holder
            # with no execution yet is only stale once its lock is old: its rollout record and execution are
            # written after it takes the lock, so concurrent requests see neither for a moment.
            status = self.require_executions().status(busy.rollout_id)
            lock_age = time.time() - busy.since if busy.since is not None else float("inf")
            stale = status in TERMINAL or (status is None and lock_age > LOCK_GRACE_SECONDS)
            if not stale or not self.store.release_lock(prefix, busy.rollout_id):
                raise
            self.store.acquire_lock(prefix, rollout_id)

    def _outcomes(
        self,
        item: dict[str, Any],
        region_results: list[dict[str, Any]] | None = None,
        rollback_results: list[dict[str, Any]] | None = None,
    ) -> tuple[list[dict[str, Any]], dict[Target, dict[str, Any]]]:
        """Every target's result and each rollback outcome. One account: the Map's output (``region_results``,
        ``rollback_results``), else the rollout item's progress records. Several: the account items."""
        home = self.home_account
        if item.get("scale") == ACCOUNTS:
            results: list[dict[str, Any]] = []
            undone: dict[Target, dict[str, Any]] = {}
            for account_item in self.store.account_items(str(item["rolloutId"])):
                found, undid = target_results(account_item, home)
                results.extend(found)
                undone.update(undid)
            return results, undone
        if not region_results:  # the region Map itself failed (or the rollout is running): what the regions recorded
            region_results = [
                {**(json.loads(e["detail"]) if "detail" in e else e), "region": region}
                for region, e in (item.get("regions") or {}).items()
            ]
        return region_results, {target_of(r, home): r for r in rollback_results or []}

    def _entries(self, results: list[dict[str, Any]], undone: dict[Target, dict[str, Any]]) -> dict[Target, Any]:
        entries = {target_of(result, self.home_account): region_entry(result) for result in results}
        with_rollback(entries, undone)
        return entries

    def _views(self, entries: dict[Target, dict[str, Any]]) -> dict[str, Any]:
        """``regions`` (the home account's targets, by region) and ``targets`` (every one) as the API shows them."""
        ordered = sorted(entries.items())
        return {
            "regions": {region: region_view(e) for (account, region), e in ordered if account == self.home_account},
            "targets": [target_view(target, e) for target, e in ordered],
        }

    def view(self, rollout_id: str) -> dict[str, Any] | None:
        """The rollout as GET /rollouts/{id} shows it; None when unknown."""
        item = self.store.get_rollout(rollout_id)
        if item is None:
            return None
        status = item["status"]
        if status == "RUNNING" and self.executions is not None:
            live = self.executions.status(rollout_id)
            never_started = live is None and _age(item.get("createdAt")) > LOCK_GRACE_SECONDS
            if live in ENDED_EARLY or never_started:
                status = "FAILED"  # the execution died (or never began) before it could record its end
        if item.get("scale") == ACCOUNTS:
            results, undone = self._outcomes(item)
            entries = self._entries(results, undone)
            if undone and item["status"] != "RUNNING":  # as FinishRolledBack judged it
                unrecorded_rollbacks(entries)
        else:  # the rollout item's entries: progress, then (once finished) the final ones, rollback included
            entries = {(self.home_account, r): e for r, e in (item.get("regions") or {}).items()}
        return {
            "rolloutId": rollout_id,
            "status": status,
            "prefix": item.get("prefix"),
            "operation": item.get("operation", "APPLY"),
            "mode": item.get("mode", APPLY_MODE),
            "createdAt": item.get("createdAt"),
            "finishedAt": item.get("finishedAt"),
            **({"error": error_view(item["error"])} if item.get("error") else {}),
            **self._views(entries),
        }

    def finish(
        self,
        rollout_id: str,
        prefix: str,
        region_results: list[dict[str, Any]],
        rollback_results: list[dict[str, Any]] | None = None,
        map_error: dict[str, Any] | None = None,
        *,
        failure_tolerance: int = 0,
        after_rollback: bool = False,
    ) -> dict[str, Any]:
        """Close a rollout: overall and per-target status, the desired rule, the lock, the Finished event.

        Before any rollback, failures past ``failure_tolerance`` close nothing: the answer is ``rollback: True`` and
        the state machine rolls every target back, then calls again with ``after_rollback``. A target with no result
        after the Map of a rollout across accounts (its record was lost) counts as failed: all or nothing cannot
        assume it succeeded. A rolled-back rollout also puts back the previous desired rule and the home-region
        source secret. Safe to call again.
        """
        item = self.store.get_rollout(rollout_id) or {"rolloutId": rollout_id}
        plan = item.get("mode") == PLAN
        results, undone = self._outcomes(item, region_results, rollback_results)
        if not after_rollback and not plan:
            failed = failures(results)
            if item.get("scale") == ACCOUNTS:  # no record of a target's end: all or nothing cannot count it done
                failed += sum(1 for r in results if r.get("status") == "PENDING")
            if failed > failure_tolerance:
                return {"rolloutId": rollout_id, "rollback": True}
        entries = self._entries(results, undone)
        if after_rollback and undone and item.get("scale") == ACCOUNTS:
            unrecorded_rollbacks(entries)
        statuses = {e["status"] for e in entries.values()}
        if after_rollback:
            status = "ROLLED_BACK" if undone and "ROLLBACK_FAILED" not in statuses else "FAILED"
        elif plan:
            status = "PLANNED" if statuses <= {"SUCCEEDED"} else "FAILED"
        else:
            status = "SUCCEEDED" if statuses <= {"SUCCEEDED"} else "FAILED"

        operation = item.get("operation", "APPLY")
        views = self._views(entries)
        summary: dict[str, Any] = {
            "rolloutId": rollout_id,
            "requestId": item.get("requestId"),
            "prefix": prefix,
            "operation": operation,
            "mode": item.get("mode", APPLY_MODE),
            "status": status,
            **views,
        }
        if map_error:
            summary["error"] = error_view(map_error)
        if item.get("status", "RUNNING") != "RUNNING":
            # A retried call: its effects are done, the lock may be reused.
            return summary | {"status": item["status"], "rollback": False}
        # Effects first (each safe to repeat), then the status, the event, and the lock last: until it is released no
        # other rollout can start on the prefix, so a retry after a partial failure cannot clobber a newer rollout.
        finished = now_iso()
        if plan:
            pass  # a plan changes nothing but its own record
        elif status == "ROLLED_BACK" or (after_rollback and not region_results and item.get("scale") != ACCOUNTS):
            self._restore_desired(
                prefix, item, still_held=[t for t, e in entries.items() if e["status"] == "ROLLBACK_FAILED"]
            )
        elif after_rollback and item.get("scale") == ACCOUNTS and not undone:
            self._restore_desired(prefix, item, still_held=list(entries))  # the rollback itself did not run
        elif operation == "DELETE" and status == "SUCCEEDED":
            self.store.delete_rule(prefix)
            if self.home_secrets is not None:
                self.home_secrets.schedule_deletion(self.source_prefix + prefix)
        else:
            self._record_deployed(prefix, item, results, rollout_id, status, finished)
        if self.events is not None:
            self.events.emit(ROLLOUT_FINISHED, event_summary(summary))
        extra = {"error": json.dumps(map_error)} if map_error else {}
        home_entries = {region: e for (account, region), e in entries.items() if account == self.home_account}
        self.store.set_rollout_status(rollout_id, status, finishedAt=finished, regions=home_entries, **extra)
        if self.metrics is not None:  # once: a retried call returned above
            self.metrics.finished(item, summary, finished)
        if not plan:
            self.store.release_lock(prefix, rollout_id)
        return summary | {"rollback": False}

    def _record_deployed(
        self,
        prefix: str,
        rollout: dict[str, Any],
        results: list[dict[str, Any]],
        rollout_id: str,
        status: str,
        finished: str,
    ) -> None:
        """The desired rule learns where the prefix is now held, with each regional secret's version."""
        home = self.home_account
        current = self.store.get_rule(prefix)
        base = current if current is not None else previous_rule(rollout)
        after = by_account(deployed_after(held_targets(base, home), results, rollout_id, home))
        fields: dict[str, Any] = {"lastRolloutStatus": status, "lastRolloutAt": finished}
        version = source_version(results)
        if version:
            fields["sourceSecretVersionId"] = version
        before = (base or {}).get("deployedElsewhere") or {}
        self.store.save_deployed(prefix, after.pop(home, {}), after, before, **fields)

    def _restore_desired(self, prefix: str, rollout: dict[str, Any], still_held: list[Target] | None = None) -> None:
        """After a rollback: the previous desired rule and source secret are the truth again.

        Targets whose rollback failed may still hold anything: they stay tracked so the next rollout converges them.
        """
        home = self.home_account
        previous = previous_rule(rollout)
        if previous:
            self.store.put_rule(prefix, {k: v for k, v in previous.items() if k not in ("pk", "sk")})
        elif not still_held:
            self.store.delete_rule(prefix)
        if still_held:
            current = self.store.get_rule(prefix) or {"sk": prefix}
            held = held_targets(current, home)
            for target in still_held:
                held.setdefault(target, {"rolloutId": rollout.get("rolloutId")})
            grouped = by_account(held)  # (with no previous rule, the rollout's own rule item stays to track them)
            before = current.get("deployedElsewhere") or {}
            self.store.save_deployed(prefix, grouped.pop(home, {}), grouped, before)
        change = rollout.get("sourceSecretChange")
        if change and self.home_secrets is not None:
            restore_secret(SecretChange.loads(change, "sourceSecretChange"), self.home_secrets)

    def close(self, rollout_id: str, prefix: str, error: dict[str, Any] | None) -> dict[str, Any]:
        """The last resort when finishing failed for good (after the rollback ran): record FAILED with the reason,
        emit Finished, release the lock. The previous desired rule and source secret are put back if that works;
        every target of the rollout stays tracked, so the next rollout converges whatever it left. Safe to repeat."""
        item = self.store.get_rollout(rollout_id)
        if item is None or item.get("status") != "RUNNING":
            return {"rolloutId": rollout_id, "closed": False}
        entries = self._entries(*self._outcomes(item))
        if item.get("mode") != PLAN:
            try:
                self._restore_desired(prefix, item, still_held=sorted(entries))
            except ex.PullthroughError as failure:  # whatever failed finishing may fail here too: close anyway
                error = (error or {}) | {"RestoreError": f"{type(failure).__name__}: {failure.message}"[:500]}
        summary = {
            "rolloutId": rollout_id,
            "requestId": item.get("requestId"),
            "prefix": prefix,
            "operation": item.get("operation", "APPLY"),
            "mode": item.get("mode", APPLY_MODE),
            "status": "FAILED",
            "error": error_view(error) or {"type": "RolloutNotFinished", "message": "the rollout could not finish"},
            **self._views(entries),
        }
        if self.events is not None:
            self.events.emit(ROLLOUT_FINISHED, event_summary(summary))
        closed = now_iso()
        self.store.set_rollout_status(rollout_id, "FAILED", finishedAt=closed, error=json.dumps(error or {}))
        if self.metrics is not None:
            self.metrics.finished(item, summary, closed)
        if item.get("mode") != PLAN:
            self.store.release_lock(prefix, rollout_id)
        return {"rolloutId": rollout_id, "closed": True}

    def recover(self, execution_name: str, status: str, cause: str | None = None) -> dict[str, Any]:
        """An execution ended early (FAILED, TIMED_OUT, ABORTED) without finishing its rollout.

        The rollout's own execution gets a recovery execution that restores every region's snapshot and finishes
        (rolled back); a plan, or a recovery that itself ended early, is closed as FAILED. Nothing to do for a
        rollout already final. Safe to call again (one recovery execution per rollout, by name).
        """
        is_recovery = execution_name.endswith(RECOVERY_SUFFIX)
        rollout_id = execution_name.removesuffix(RECOVERY_SUFFIX)
        item = self.store.get_rollout(rollout_id)
        if item is None or item.get("status") != "RUNNING" or status not in ENDED_EARLY:
            return {"rolloutId": rollout_id, "action": "none"}
        error = {"Error": f"Execution{status.title().replace('_', '')}", "Cause": (cause or "")[:1000]}
        prefix = str(item.get("prefix"))
        executions = self.require_executions()
        if is_recovery or item.get("mode") == PLAN:
            self.close(rollout_id, prefix, error)
            return {"rolloutId": rollout_id, "action": "closed"}
        payload = executions.input_of(rollout_id) | {"recover": True, "mapError": error}
        try:
            executions.start(rollout_id + RECOVERY_SUFFIX, payload)
        except ex.ConcurrentModification:
            return {"rolloutId": rollout_id, "action": "none"}  # a duplicate event: the recovery already started
        return {"rolloutId": rollout_id, "action": "recovering"}


NOT_ROLLED_BACK = json.dumps(
    {"Error": "RollbackNotRecorded", "Cause": "no rollback outcome was recorded for this target: it may hold anything"}
)


def unrecorded_rollbacks(entries: dict[Target, dict[str, Any]]) -> None:
    """After a rollback across accounts, a target that may have been written (SUCCEEDED, or PENDING: no result came)
    but has no recorded rollback outcome (its account's rollback child failed, or its record was lost) is not known
    to be put back: ROLLBACK_FAILED, so the rollout ends FAILED and the target stays tracked."""
    for entry in entries.values():
        if entry["status"] in ("SUCCEEDED", "PENDING"):
            entry["status"] = "ROLLBACK_FAILED"
            entry["rollbackError"] = NOT_ROLLED_BACK


def _age(iso: Any) -> float:
    """Seconds since an ISO timestamp; infinite when there is none."""
    if not isinstance(iso, str):
        return float("inf")
    return time.time() - datetime.fromisoformat(iso).timestamp()
