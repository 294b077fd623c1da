"""Which hand-written Allow statements no test exercises: least privilege proved for every grant, not only the used.

The embedded stack's IAM check records the statement that allowed each call (``IamCheck.exercised``: function logical
id, or ``ExecutionRole`` for target-account.yaml's role, and the statement's Sid). With ``PULLTHROUGH_IAM_EXERCISED``
naming a file, the e2e tests' stacks append what they exercised to it (one JSON pair a line); then

    python -m local.iam_coverage <file>

lists every hand-written Allow statement of template.yaml's functions and of target-account.yaml's role that no
test exercised (tests/contract/test_exercised_grants.py fails on any but the reviewed ones). A statement without a
Sid cannot be told apart: every hand-written Allow statement must have one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from local.iam_check import EXECUTION_ROLE
from local.target_account import TARGET_ACCOUNT_TEMPLATE
from local.template_reader import DEFAULT_TEMPLATE, CfnLoader

ENV = "PULLTHROUGH_IAM_EXERCISED"
Grant = tuple[str, str]  # (function logical id or EXECUTION_ROLE, Sid)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _allows(statements: Iterable[Any], owner: str) -> Iterable[Grant]:
    for statement in statements:
        if isinstance(statement, dict) and statement.get("Effect") == "Allow":
            yield owner, str(statement.get("Sid", ""))


def hand_written_allows(
    template: Path = DEFAULT_TEMPLATE, target_account: Path = TARGET_ACCOUNT_TEMPLATE
) -> list[Grant]:
    """Every inline Allow statement of template.yaml's functions and of target-account.yaml's role, in order."""
    found: list[Grant] = []
    doc = yaml.load(template.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass
    for lid, resource in (doc.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for policy in _as_list((resource.get("Properties") or {}).get("Policies")):
            if isinstance(policy, dict) and "Statement" in policy:
                found.extend(_allows(_as_list(policy["Statement"]), lid))
    role_doc = yaml.load(target_account.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506
    for resource in (role_doc.get("Resources") or {}).values():
        for policy in _as_list((resource.get("Properties") or {}).get("Policies")):
            found.extend(_allows(_as_list(policy["PolicyDocument"].get("Statement")), EXECUTION_ROLE))
    return found


def record(path: Path, exercised: Iterable[Grant]) -> None:
    """Append ``exercised`` to ``path`` (several test processes may append at once: one short write a line)."""
    with path.open("a", encoding="utf-8") as out:
        for owner, sid in sorted(set(exercised)):
            out.write(json.dumps([owner, sid]) + "\n")


def recorded(path: Path) -> set[Grant]:
    if not path.is_file():
        return set()
    lines = path.read_text(encoding="utf-8").splitlines()
    return {(str(pair[0]), str(pair[1])) for pair in map(json.loads, filter(None, lines))}


def unexercised(exercised: Iterable[Grant], grants: Iterable[Grant] | None = None) -> list[Grant]:
    """The hand-written Allow statements not in ``exercised``, in template order."""
    done = set(exercised)
    return [grant for grant in (hand_written_allows() if grants is None else grants) if grant not in done]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    missing = unexercised(recorded(Path(argv[0])))
    for owner, sid in missing:
        print(f"{owner}: {sid}")
    print(f"{len(missing)} of {len(hand_written_allows())} hand-written Allow statements exercised by no test")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
