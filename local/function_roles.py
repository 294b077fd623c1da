"""Each function's role holds its template statements in the emulator's IAM, as CloudFormation leaves it on AWS.

The IAM check (``local.iam_check``) judges every SDK call a function makes; the registry endpoint instead reads the
puller's identity policies from the emulator's IAM, as ECR asks IAM on a pull. So each function role gets one inline
policy with its resolved statements (values the stack cannot resolve left out: they grant nothing).
"""

from __future__ import annotations

import json
from typing import Any

from local.iam_policies import Statement, Unresolved

POLICY_NAME = "template-statements"


def _values(values: tuple[Any, ...]) -> list[str]:
    return [str(v) for v in values if not isinstance(v, Unresolved)]


def statement_json(statement: Statement) -> dict[str, Any] | None:
    """The statement as policy JSON; None when what it names cannot be resolved here."""
    out: dict[str, Any] = {"Effect": statement.effect}
    if statement.sid:
        out["Sid"] = statement.sid
    out["NotAction" if statement.not_actions else "Action"] = list(statement.not_actions or statement.actions)
    resources = _values(statement.not_resources or statement.resources)
    if not resources:
        return None
    out["NotResource" if statement.not_resources else "Resource"] = resources
    if statement.conditions:
        out["Condition"] = {op: {k: _values(v) for k, v in block.items()} for op, block in statement.conditions.items()}
    return out


def put_function_policies(iam: Any, role_arns: dict[str, str], statements: dict[str, list[Statement]]) -> None:
    """Give each function role (logical id -> ARN) its statements as one inline policy."""
    for logical_id, arn in role_arns.items():
        documents = [found for s in statements.get(logical_id, []) if (found := statement_json(s)) is not None]
        if documents:
            iam.put_role_policy(
                RoleName=arn.rsplit("/", 1)[-1],
                PolicyName=POLICY_NAME,
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": documents}),
            )
