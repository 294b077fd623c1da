"""``python -m local.sweep``: run the drift sweep now, against a running ``make local`` stack, and print its report.

    python -m local.sweep                          # every desired rule, in the stack's DRIFT_MODE (report)
    python -m local.sweep --mode repair            # start a repair rollout for each drifted rule
    python -m local.sweep --prefix docker-hub --prefix github --json

The DriftSweep function is invoked (RequestResponse) through the emulator's Lambda API at
http://127.0.0.1:${PULLTHROUGH_AWS_PORT:-5000} (or ``--endpoint-url``); it runs inside the ``make local`` process
like every other function. Exit status: 0 the sweep ran, 1 it could not run or failed, 2 bad arguments,
3 drift found and ``--fail-on-drift`` given.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from local.settings import AWS_PORT_ENV, HOME_REGION, StackError, port_from_env

LOGICAL_ID = "DriftSweepFunction"
EXIT_OK, EXIT_FAILED, EXIT_DRIFT = 0, 1, 3


class SweepError(Exception):
    """The sweep could not be run or reported a failure; the message says what to do."""


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(
        prog="python -m local.sweep",
        description="Run pullthrough's drift sweep on a running `make local` stack and print the report.",
    )
    made.add_argument(
        "--mode",
        choices=("report", "repair"),
        help="report drift, or also start a repair rollout per drifted rule (default: the stack's DRIFT_MODE)",
    )
    made.add_argument(
        "--prefix",
        dest="prefixes",
        metavar="P",
        action="extend",
        nargs="+",
        help="sweep only these rule prefixes (repeatable; default: every desired rule)",
    )
    made.add_argument(
        "--endpoint-url",
        help=f"the AWS emulator (default: http://127.0.0.1:${{{AWS_PORT_ENV}:-5000}})",
    )
    made.add_argument("--function-name", help=f"the DriftSweep function (default: the one named *-{LOGICAL_ID})")
    made.add_argument("--json", action="store_true", help="print the sweep's summary as JSON")
    made.add_argument("--fail-on-drift", action="store_true", help="exit 3 when any rule drifted")
    return made


def lambda_client(endpoint_url: str) -> Any:
    """A Lambda client for the emulator: dummy credentials, no retries, long enough to wait for a sweep."""
    return boto3.session.Session().client(
        "lambda",
        region_name=HOME_REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=3, read_timeout=900, retries={"total_max_attempts": 1}),
    )


def find_function(client: Any) -> str:
    """The name of the stack's DriftSweep function; SweepError when there is none or more than one."""
    names = [
        fn["FunctionName"]
        for page in client.get_paginator("list_functions").paginate()
        for fn in page["Functions"]
        if fn["FunctionName"] == LOGICAL_ID or fn["FunctionName"].endswith(f"-{LOGICAL_ID}")
    ]
    if not names:
        raise SweepError(f"no *-{LOGICAL_ID} function on the emulator: is this a pullthrough `make local` stack?")
    if len(names) > 1:
        raise SweepError(f"several drift sweep functions ({', '.join(sorted(names))}): pick one with --function-name")
    return str(names[0])


def run_sweep(
    endpoint_url: str, mode: str | None, prefixes: list[str] | None, function_name: str | None = None
) -> dict[str, Any]:
    """Invoke the DriftSweep function and return its summary; SweepError when it cannot run or fails."""
    client = lambda_client(endpoint_url)
    request: dict[str, Any] = {}
    if mode is not None:
        request["mode"] = mode
    if prefixes:
        request["prefixes"] = list(dict.fromkeys(prefixes))
    try:
        name = function_name or find_function(client)
        answer = client.invoke(FunctionName=name, Payload=json.dumps(request).encode())
    except EndpointConnectionError:
        raise SweepError(
            f"cannot reach the AWS emulator at {endpoint_url}: start it with `make local` "
            f"(or point {AWS_PORT_ENV} / --endpoint-url at it)"
        ) from None
    except (ClientError, BotoCoreError) as error:
        raise SweepError(f"cannot invoke the drift sweep: {error}") from None
    raw = answer["Payload"].read()
    payload = json.loads(raw) if raw else None
    if "FunctionError" in answer:
        detail = payload if isinstance(payload, dict) else {}
        raise SweepError(
            f"the drift sweep failed: {detail.get('errorType', 'Error')}: {detail.get('errorMessage', raw.decode())}"
        )
    if not isinstance(payload, dict):
        raise SweepError(f"the drift sweep answered {payload!r}, not a summary")
    return payload


def _drift_line(entry: dict[str, Any]) -> str:
    """The finding's own sentence ("eu-west-1: secret value changed outside pullthrough"; in another account
    "111122223333 eu-west-1: rule missing")."""
    return f"    {entry['message']}"


def _unchecked_line(entry: dict[str, Any], home: bool) -> str:
    where = entry["region"] if home else f"{entry['account']} {entry['region']}"
    return f"    {where}: not checked: {entry['error']}"


def render(summary: dict[str, Any]) -> str:
    """The summary for people: one line per rule, one per drifted resource in any account, then repairs, what was
    skipped and what could not be read."""
    reports = summary.get("prefixes", [])
    drifted = summary.get("drifted", [])
    read = summary.get("checkedTargets", len(summary.get("checkedRegions", [])))
    lines = [
        f"drift sweep ({summary.get('mode')}) at {summary.get('checkedAt')}: "
        f"{read} target(s) (account, region) read, {len(drifted)} of {len(reports)} rule(s) drifted"
    ]
    for report in reports:
        found = report.get("targets", report.get("drift", []))
        state = "in sync" if report.get("inSync") else ("DRIFT" if found else "not fully checked")
        lines.append(f"  {report['prefix']:<30} {state}")
        lines.extend(_drift_line(entry) for entry in found)
        if "uncheckedTargets" in report:
            lines.extend(_unchecked_line(entry, False) for entry in report["uncheckedTargets"])
        else:
            lines.extend(_unchecked_line(entry, True) for entry in report.get("unchecked", []))
    for repair in summary.get("repairsStarted", []):
        rollout_id = repair["rolloutId"]
        lines.append(f"repair started: {repair['prefix']} -> rollout {rollout_id} (GET /rollouts/{rollout_id})")
    for skipped in summary.get("skipped", []):
        rollout = f" ({skipped['rolloutId']})" if skipped.get("rolloutId") else ""
        lines.append(f"skipped: {skipped['prefix']}: {skipped.get('reason', skipped.get('status'))}{rollout}")
    for account, error in summary.get("unreadableAccounts", {}).items():
        lines.append(f"unreadable account: {account}: {error}")
    for entry in summary.get("unreadableTargets", []):
        lines.append(f"unreadable target: {entry['account']} {entry['region']}: {entry['error']}")
    for failure in summary.get("errors", []):
        lines.append(f"not recorded: {failure['prefix']}: {failure['error']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        endpoint_url = args.endpoint_url or f"http://127.0.0.1:{port_from_env(AWS_PORT_ENV, 5000)}"
        summary = run_sweep(endpoint_url, args.mode, args.prefixes, args.function_name)
    except (SweepError, StackError) as error:
        print(f"local.sweep: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(summary, indent=2, sort_keys=True) if args.json else render(summary))
    return EXIT_DRIFT if args.fail_on_drift and summary.get("drifted") else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
