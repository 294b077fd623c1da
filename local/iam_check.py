"""The embedded stack's IAM check: every AWS call a handler makes is checked against its own function's policies.

``IamCheck.attach(session, role_arn)`` registers botocore handlers on the app's session (``pullthrough.aws.session_hooks``).
Before each call is sent, the function running it (``local.invocation_scope``) and what the call needs
(``needs_of``: its action, resource and condition keys, plus the actions it depends on) are checked against that
function's statements (``local.iam_policies``, SAM's expansion of template.yaml). A denied call never reaches the
emulator: it fails as AWS fails it, a ClientError ``AccessDeniedException`` (``AccessDenied`` for query and XML
protocols), and the denial is recorded in ``IamCheck.denials`` so a test fails even when the app swallows or
retries the error. A call made outside any function invocation is denied the same way: there is no policy for it.
A session acting in a target account through its execution role (``attach(session, role_arn)``) is checked the
same way against that role's statements (target-account.yaml as the stack deploys it), in that account.
What a call needs is ``local.iam_needs``; whether statements grant it, ``local.iam_evaluation``.
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from local import invocation_scope
from local.iam_evaluation import Decision, Need, decide
from local.iam_needs import Call, needs_of
from local.iam_policies import Statement

log = logging.getLogger(__name__)

_PARAMS = "pullthrough_iam_params"


# -- the check -----------------------------------------------------------------------------------------------------
RoleStatements = Callable[[str], Sequence[Statement] | None]


@dataclass(frozen=True)
class ExecutionRole:
    """A role a session acts as in a target account, and its statements (None: a role this check does not know)."""

    arn: str
    statements: Sequence[Statement] | None

    @property
    def account(self) -> str:
        return self.arn.split(":", 5)[4]

    def describe(self, logical_id: str | None) -> str:
        by = f", assumed by {logical_id}" if logical_id else ""
        return f"{self.arn.rsplit('/', 1)[-1]} (in {self.account}{by})"


class IamCheck:
    """Checks the calls of the app's sessions against the acting role's statements; records every denial.

    The app's own session acts as the calling function's role (``statements``: function logical id -> its
    statements); a session of a target account's execution role acts as that role (``role_statements``: role ARN ->
    its statements, None for a role it does not know).
    """

    def __init__(
        self,
        statements: Mapping[str, Sequence[Statement]],
        *,
        account_id: str,
        role_statements: RoleStatements | None = None,
    ) -> None:
        self.statements = statements
        self.account_id = account_id
        self.role_statements = role_statements
        self.denials: list[str] = []
        self._lock = threading.Lock()
        # A rollout asks the same questions over and over (one per call, the same few per region): each answer
        # depends only on the function's statements and the need, so it is worked out once.
        self._decisions: dict[tuple[str, str, str | None, tuple[tuple[str, tuple[str, ...]], ...]], Decision] = {}

    def attach(self, session: Any, role_arn: str | None = None) -> None:
        """Register the check on a boto3 session (``pullthrough.aws.session_hooks``).

        ``role_arn``: the target account's execution role a session acts as (None: the calling function's own role).
        """
        role = None
        if role_arn is not None:
            role = ExecutionRole(role_arn, self.role_statements(role_arn) if self.role_statements else None)
        session.events.register("before-parameter-build", self._keep_params, unique_id="pullthrough-iam-params")
        # Last: a client's own before-call handlers (e.g. one that refuses writes in a plan) run first, and a call
        # they stop never reaches AWS, so IAM never sees it either.
        session.events.register_last(
            "before-call", functools.partial(self._before_call, role), unique_id="pullthrough-iam-check"
        )

    def check_role(self, role: ExecutionRole, logical_id: str | None, call: Call) -> list[str]:
        """The denial messages for ``call`` made through execution role ``role`` (empty: allowed)."""
        needs = needs_of(call)
        who = role.describe(logical_id)
        if not needs:
            return []
        if role.statements is None:
            return [f"IAM check: {who} is not a role this stack created: {needs[0].describe()} is not allowed"]
        return self._denied(who, role.statements, needs)

    def check(self, logical_id: str | None, call: Call) -> list[str]:
        """The denial messages for ``call`` made by ``logical_id`` (empty: allowed)."""
        needs = needs_of(call)
        if not needs:
            return []
        if logical_id is None:
            return [f"IAM check: {needs[0].describe()} was called outside any function invocation (no policy applies)"]
        if logical_id not in self.statements:
            return [f"IAM check: {logical_id} has no role in the template: {needs[0].describe()} is not allowed"]
        return self._denied(logical_id, self.statements[logical_id], needs)

    def _denied(self, who: str, statements: Sequence[Statement], needs: Iterable[Need]) -> list[str]:
        denied = []
        for need in needs:
            # Remembered per (identity, action, resource, condition values): ``who`` names one statement set.
            key = (who, need.action, need.resource, tuple(sorted(need.context.items())))
            decision = self._decisions.get(key)
            if decision is None:
                decision = self._decisions[key] = decide(statements, need)
            if not decision.allowed:
                denied.append(f"IAM check: {who} is not allowed {need.describe()}: {decision.reason}")
        return denied

    def _keep_params(self, params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS] = params

    def _before_call(
        self, role: ExecutionRole | None, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        scope = invocation_scope.current()
        call = Call(
            service=str(model.service_model.signing_name),
            operation=str(model.name),
            params=context.get(_PARAMS) or {},
            region=str(context.get("client_region") or ""),
            account=self.account_id if role is None else role.account,
        )
        logical_id = scope.logical_id if scope else None
        denied = self.check(logical_id, call) if role is None else self.check_role(role, logical_id, call)
        if not denied:
            return None
        with self._lock:
            self.denials.extend(denied)
        for message in denied:
            log.warning("%s", message)
        code = "AccessDeniedException" if model.service_model.protocol in ("json", "rest-json") else "AccessDenied"
        return _error_response(code, "; ".join(denied))


def _error_response(code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    """What botocore turns into the service's modeled ClientError for ``code`` (HTTP 400, no request sent)."""
    request_id = str(uuid.uuid4())
    headers = HTTPHeaders()
    headers["x-amzn-requestid"] = request_id
    http = AWSResponse(url="", status_code=400, headers=headers, raw=None)
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {
            "RequestId": request_id,
            "HTTPStatusCode": 400,
            "HTTPHeaders": dict(headers),
            "RetryAttempts": 0,
        },
    }
    return http, parsed
