"""Issue 12's scale check: one rule rolled out to many member accounts x many regions on the embedded stack.

    python -m benchmarks.many_accounts [--accounts 200] [--regions 17] [--out DIR] [--json FILE]

What it measures (``make bench-accounts``; too slow for ``make bench``, see the report's section):
- the wall time of the rollout (POST /rules until the rollout leaves RUNNING) and its execution's own start -> stop;
- the parent execution's history: event count and the largest state input/output in it;
- one child execution: moto runs a Distributed Map's children without keeping their histories, so the child's
  definition (RolloutAccounts' ItemProcessor, DefinitionSubstitutions applied) is created as a state machine of its
  own and started for one fresh account with the input the parent's ItemSelector makes, after the account's targets
  were put in DynamoDB by the same store call pullthrough.rollouts.launch.record_rollout makes;
- what grows with the number of accounts (DynamoDB items, GET /rollouts/{id}, the Finished event), measured at a
  small and the full account count and projected linearly to 1,000 accounts against the service quotas.

The section is written into REPORT.md between markers, so ``make bench`` (which rewrites the rest) keeps it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.settings import DEFAULT_OUT, ROOT, aws_partition_ecr_regions

LAYER = ROOT / "layers" / "common"
BEGIN = "<!-- many-accounts:begin (python -m benchmarks.many_accounts) -->"
END = "<!-- many-accounts:end -->"
PROJECTED_ACCOUNTS = 1000
HISTORY_EVENTS_QUOTA = 25_000  # events per Standard execution history
STATE_PAYLOAD_QUOTA = 256 * 1024  # bytes of a state's input or output
ITEM_QUOTA = 400 * 1024  # bytes of a DynamoDB item
EVENT_QUOTA = 256 * 1024  # bytes of an EventBridge PutEvents entry
LAMBDA_RESPONSE_QUOTA = 6 * 1024 * 1024  # bytes of a synchronous Lambda response (the API's GET /rollouts)
CHILD_STATE_MACHINE = "bench-rollout-account-child"
# The app's default (20 accounts at once, so up to 340 region steps with 17 regions each) overloads the one-process
# emulator on a 2-core machine: its answers take longer than the functions' 4 s read timeout (see the section).
BENCH_ACCOUNT_CONCURRENCY = 3


@dataclass(frozen=True)
class Largest:
    """The largest state input or output seen in one execution history."""

    bytes: int = 0
    where: str = ""  # "<event type> <state name>"


@dataclass(frozen=True)
class HistoryStats:
    events: int
    largest: Largest
    status: str
    seconds: float  # the execution's start -> stop by the engine's clock


@dataclass
class Point:
    """One rollout across ``accounts`` accounts x ``regions`` regions and what it produced."""

    accounts: int
    regions: int
    account_concurrency: int | None = None  # the rollout's accountConcurrency (None: the app's default)
    outcome: str = ""
    wall_seconds: float = 0.0  # POST /rules until GET /rollouts/{id} leaves RUNNING
    cpu_seconds: float = 0.0  # this process's CPU meanwhile (the emulator, the engine and every step share it)
    accounts_seconds: float = 0.0  # creating the member accounts with their execution role (not in wall time)
    parent: HistoryStats | None = None
    child: HistoryStats | None = None
    child_regions: int = 0
    items: dict[str, Largest] = field(default_factory=dict)  # item kind -> its largest item
    get_rollout_bytes: int = 0
    post_rules_bytes: int = 0
    finished_event_bytes: int = 0
    finished_event_targets: int = 0


# -- sizes ---------------------------------------------------------------------------------------------------------
def dynamodb_size(value: Any) -> int:
    """An attribute value's size by DynamoDB's rules: UTF-8 strings, ~1 byte per 2 digits of a number, 1 byte per
    boolean/null, 3 bytes plus 1 per element of a list or map, a map's names counted like strings."""
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, (int, float, Decimal)):
        digits = len(str(value).lstrip("-").replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, dict):
        return 3 + sum(1 + len(str(k).encode()) + dynamodb_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return 3 + sum(1 + dynamodb_size(v) for v in value)
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")


def item_size(item: dict[str, Any]) -> int:
    """A whole item's size: every attribute's name plus its value."""
    return sum(len(name.encode()) + dynamodb_size(value) for name, value in item.items())


def history_stats(events: list[dict[str, Any]], described: dict[str, Any]) -> HistoryStats:
    """Event count and the largest ``input``/``output`` any event of the history carries."""
    largest = Largest()
    state: dict[int, str] = {}  # event id -> the state it belongs to (a Task's events follow its StateEntered)
    for event in sorted(events, key=lambda e: e["id"]):
        state[event["id"]] = state.get(event.get("previousEventId", 0), "")
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            if event["type"].endswith("StateEntered"):
                state[event["id"]] = str(details.get("name", ""))
            for part in ("input", "output"):
                text = details.get(part)
                if isinstance(text, str) and len(text.encode()) > largest.bytes:
                    largest = Largest(len(text.encode()), f"{event['type']} ({state[event['id']]})")
    seconds = (described["stopDate"] - described["startDate"]).total_seconds() if described.get("stopDate") else 0.0
    return HistoryStats(len(events), largest, described["status"], seconds)


def project(small: tuple[int, int], full: tuple[int, int], to: int = PROJECTED_ACCOUNTS) -> int:
    """Linear projection of a size measured at two account counts ((accounts, bytes) each) to ``to`` accounts."""
    (a0, b0), (a1, b1) = small, full
    if a1 == a0:
        return b1
    return round(b1 + (b1 - b0) * (to - a1) / (a1 - a0))


# -- the child as its own state machine ----------------------------------------------------------------------------
_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def select(selector: dict[str, Any], state_input: dict[str, Any], item: Any) -> dict[str, Any]:
    """A Map's ItemSelector applied as Step Functions does, for the paths our ASL uses (``$.a.b``, ``$$.Map.Item.Value``)."""
    chosen: dict[str, Any] = {}
    for key, path in selector.items():
        if not key.endswith(".$"):
            chosen[key] = path
        elif path == "$$.Map.Item.Value":
            chosen[key[:-2]] = item
        elif isinstance(path, str) and _PATH.match(path):
            value: Any = state_input
            for part in path.split(".")[1:]:
                value = value[part]
            chosen[key[:-2]] = value
        else:
            raise ValueError(f"ItemSelector {key}: {path!r} is not a path this harness evaluates")
    return chosen


def child_definition(parent: dict[str, Any], map_state: str = "RolloutAccounts") -> dict[str, Any]:
    """The Distributed Map's ItemProcessor as a state machine definition of its own."""
    processor = parent["States"][map_state]["ItemProcessor"]
    if processor.get("ProcessorConfig", {}).get("Mode") != "DISTRIBUTED":
        raise ValueError(f"{map_state} is not a Distributed Map")
    return {key: value for key, value in processor.items() if key != "ProcessorConfig"}


# -- the run -------------------------------------------------------------------------------------------------------
def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    return events


def _execution_of(sfn: Any, state_machine: str, rollout_id: str) -> str:
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine):
        for execution in page["executions"]:
            if rollout_id in execution["name"]:
                return str(execution["executionArn"])
    raise LookupError(f"no execution of rollout {rollout_id}")


def _capture_finished(stack: Any) -> str:
    """An SQS queue that receives the app's Finished events (moto delivers bus events to SQS targets); its URL."""
    sqs, events = stack.client("sqs"), stack.client("events")
    url = sqs.create_queue(QueueName=f"bench-finished-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["pullthrough"], "detail-type": ["Pull Through Cache Rollout Finished"]}
    events.put_rule(Name="bench-finished", EventBusName=stack.event_bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="bench-finished", EventBusName=stack.event_bus_name, Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


def _finished_events(stack: Any, url: str) -> list[str]:
    sqs, found = stack.client("sqs"), list[str]()
    for _ in range(10):
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        if not messages and found:
            break
        found.extend(m["Body"] for m in messages)
        if not messages:
            time.sleep(0.5)
    return found


def _items(stack: Any, pk: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    table = next(iter(stack.table_names.values()))
    ddb, plain = stack.client("dynamodb"), TypeDeserializer()
    found: list[dict[str, Any]] = []
    for page in ddb.get_paginator("query").paginate(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    ):
        found.extend({k: plain.deserialize(v) for k, v in item.items()} for item in page["Items"])
    return found


def _largest(items: list[dict[str, Any]], kind: str) -> Largest:
    sizes = [(item_size(item), str(item.get("sk", ""))) for item in items]
    size, sk = max(sizes, default=(0, ""))
    return Largest(size, f"{kind} {sk}".strip())


def _measure_child(
    stack: Any, parent_arn: str, events: list[dict[str, Any]], rollout_id: str, account: str
) -> tuple[HistoryStats, int]:
    """Run the child definition for ``account`` (not yet in the rollout), exactly as the parent's Map would."""
    from pullthrough.adapters.store import RolloutStore

    sfn = stack.client("stepfunctions")
    parent = json.loads(sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"])
    entered = next(
        e["stateEnteredEventDetails"]
        for e in events
        if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == "RolloutAccounts"
    )
    state_input = json.loads(entered["input"])
    table = next(iter(stack.table_names.values()))
    store = RolloutStore(stack.client("dynamodb"), table)
    sibling = next(i for i in store.account_items(rollout_id))
    goals = json.loads(sibling["targets"])
    store.put_account_targets(rollout_id, {account: goals})
    child_input = select(parent["States"]["RolloutAccounts"]["ItemSelector"], state_input, account)
    made = sfn.create_state_machine(
        name=CHILD_STATE_MACHINE,
        definition=json.dumps(child_definition(parent)),
        roleArn=sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)["roleArn"],
        type="STANDARD",
    )
    started = sfn.start_execution(
        stateMachineArn=made["stateMachineArn"], name=f"child-{account}", input=json.dumps(child_input)
    )
    described = stack.wait_for_execution(started["executionArn"], timeout=600)
    child_events = _history(sfn, started["executionArn"])
    if described["status"] != "SUCCEEDED":
        raise RuntimeError(f"the child execution ended {described['status']}: {described.get('error')}")
    return history_stats(child_events, described), len(goals)


def _http(base: str, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
    """One unsigned request to the local API: (status, raw body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _request(prefix: str, regions: list[str], accounts: list[str], concurrency: int | None) -> dict[str, Any]:
    options = {"rollout": {"accountConcurrency": concurrency}} if concurrency else {}
    return options | {
        "upstreamRegistry": "docker-hub",
        "ecrRepositoryPrefix": prefix,
        "credentials": {"username": "bench-user", "accessToken": "bench-token"},
        "regions": regions,
        "accounts": accounts,
        "creationTemplate": {"description": "benchmark"},
    }


def measure(
    accounts: int, regions: int, *, concurrency: int | None = None, child: bool = True, log: Any = print
) -> Point:
    """One rollout of one rule to ``accounts`` fresh member accounts x the first ``regions`` aws regions, with
    ``concurrency`` as the rollout's accountConcurrency (None: the app's default)."""
    from local.stack import EmbeddedStack

    point = Point(accounts, regions, account_concurrency=concurrency)
    names = list(aws_partition_ecr_regions()[:regions])
    if len(names) < regions:
        raise ValueError(f"the aws partition has only {len(names)} ECR regions the app accepts")
    prefix = f"bench-{accounts}x{regions}"
    with EmbeddedStack(aws_port=0, api_port=0, parameters={"LogLevel": "WARNING"}) as stack:
        org = stack.organization
        assert org is not None
        started = time.monotonic()
        members = [stack.create_member_account(f"bench-{i}", org.ous["sandbox"]) for i in range(accounts + 1)]
        spare, members = members[-1], members[:-1]  # spare: the child execution's account, outside the rollout
        point.accounts_seconds = time.monotonic() - started
        log(f"{accounts} member accounts with the execution role in {point.accounts_seconds:.1f} s")
        queue = _capture_finished(stack)

        started, cpu = time.monotonic(), time.process_time()
        status, raw = _http(stack.api_url, "POST", "/rules", _request(prefix, names, members, concurrency))
        if status != 202:
            raise RuntimeError(f"POST /rules answered {status}: {raw[:2000]!r}")
        point.post_rules_bytes = len(raw)
        rollout_id = json.loads(raw)["rolloutId"]
        sfn = stack.client("stepfunctions")
        arn = _execution_of(sfn, stack.state_machine_arn, rollout_id)
        described = stack.wait_for_execution(arn, timeout=6 * 3600)
        while True:  # the rollout's status is FinishRollout's, written before the execution ends
            status, raw = _http(stack.api_url, "GET", f"/rollouts/{rollout_id}")
            shown = json.loads(raw)
            if shown["status"] != "RUNNING":
                break
            time.sleep(1)
        point.wall_seconds = time.monotonic() - started
        point.cpu_seconds = time.process_time() - cpu
        point.outcome = shown["status"]
        point.get_rollout_bytes = len(raw)  # the first page: up to 500 targets (nextToken pages the rest)
        log(f"rollout {point.outcome} in {point.wall_seconds:.1f} s ({point.accounts * point.regions} targets)")

        events = _history(sfn, arn)
        point.parent = history_stats(events, described)
        finished = _finished_events(stack, queue)
        if finished:
            point.finished_event_bytes = max(len(body.encode()) for body in finished)
            point.finished_event_targets = max(len(json.loads(b)["detail"].get("targets", [])) for b in finished)
        rollout_items = _items(stack, f"ROLLOUT#{rollout_id}")
        point.items = {
            "rollout": _largest([i for i in rollout_items if i["sk"] == "ROLLOUT"], "ROLLOUT#<id>"),
            "account": _largest([i for i in rollout_items if str(i["sk"]).startswith("ACCOUNT#")], "ROLLOUT#<id>"),
            "deployed": _largest(_items(stack, f"DEPLOYED#{prefix}"), f"DEPLOYED#{prefix}"),
            "rule": _largest([i for i in _items(stack, "RULES") if i["sk"] == prefix], "RULES"),
        }
        if child:
            point.child, point.child_regions = _measure_child(stack, arn, events, rollout_id, spare)
            log(f"child execution: {point.child.events} events, largest state {point.child.largest.bytes} B")
    return point


def point_of(saved: dict[str, Any]) -> Point:
    """A Point from its ``asdict`` JSON form."""

    def history(value: dict[str, Any] | None) -> HistoryStats | None:
        return None if value is None else HistoryStats(**(value | {"largest": Largest(**value["largest"])}))

    fields = {k: v for k, v in saved.items() if k in Point.__dataclass_fields__}
    fields["parent"], fields["child"] = history(saved.get("parent")), history(saved.get("child"))
    fields["items"] = {kind: Largest(**item) for kind, item in saved.get("items", {}).items()}
    return Point(**fields)


# -- the report section --------------------------------------------------------------------------------------------
def _kb(size: int) -> str:
    return f"{size / 1024:,.1f} KB"


def _cpu(point: Point) -> str:
    if not point.cpu_seconds:
        return ""
    share = point.cpu_seconds / point.wall_seconds
    return (
        f"The stack's process used {point.cpu_seconds:,.0f} s of CPU in that time ({share:.0%} of one core: one "
        "Python process, so at most one core's worth under the GIL; the rest of the time it waited for a core on a "
        "machine other jobs shared, or for I/O)."
    )


def _share(size: int, quota: int) -> str:
    return f"{100 * size / quota:.1f} %"


_CONCURRENCY_NOTE = (
    "At the app's default of 20 accounts at once (up to 340 region steps running together) this emulator, one "
    "Python process serving every AWS call and running every Lambda step on 2 shared cores, answered calls slower "
    "than the functions' 4 s read timeout: in the 200 x 17 run of 2026-11-30 hundreds of steps raised "
    "AwsTransientError (ReadTimeoutError) within five minutes, and the failures went past the tolerance of 0, so "
    "the rollout was rolling back (stopped there). Two defects it exposed are fixed (a timed-out conditional "
    "DynamoDB write raised AttributeError; a CreatePullThroughCacheRule whose answer was lost met "
    "PullThroughCacheRuleAlreadyExistsException on the SDK's retry and failed the target). The emulator's "
    "throughput, not the state machine, bounds this number: real Lambda runs each step in its own sandbox."
)


def section(small: Point, full: Point, seconds_total: float | None = None) -> list[str]:
    """The report's many-accounts section, from a small and a full run."""
    if full.parent is None or small.parent is None or full.child is None:
        raise ValueError("the full run needs its parent and child histories, the small one its parent history")
    n = PROJECTED_ACCOUNTS
    targets = full.accounts * full.regions
    rows: list[tuple[str, int, int, int | None, int]] = []  # label, small, full, projected (None: constant), quota

    def grows(label: str, at_small: int, at_full: int, quota: int) -> None:
        rows.append((label, at_small, at_full, project((small.accounts, at_small), (full.accounts, at_full), n), quota))

    grows("parent execution: history events", small.parent.events, full.parent.events, HISTORY_EVENTS_QUOTA)
    grows(
        "parent execution: largest state input/output (bytes)",
        small.parent.largest.bytes,
        full.parent.largest.bytes,
        STATE_PAYLOAD_QUOTA,
    )
    rows.append(
        (
            "child execution (one account): history events",
            small.child.events if small.child else 0,
            full.child.events,
            None,
            HISTORY_EVENTS_QUOTA,
        )
    )
    rows.append(
        (
            "child execution: largest state input/output (bytes)",
            small.child.largest.bytes if small.child else 0,
            full.child.largest.bytes,
            None,
            STATE_PAYLOAD_QUOTA,
        )
    )
    for kind, label in (
        ("account", "DynamoDB ROLLOUT#<id>/ACCOUNT#<account> item (bytes)"),
        ("deployed", "DynamoDB DEPLOYED#<prefix>/<account> item (bytes)"),
        ("rollout", "DynamoDB ROLLOUT#<id>/ROLLOUT item (bytes)"),
        ("rule", "DynamoDB RULES/<prefix> item (bytes)"),
    ):
        grows(label, small.items[kind].bytes, full.items[kind].bytes, ITEM_QUOTA)
    grows("GET /rollouts/{id} response (bytes)", small.get_rollout_bytes, full.get_rollout_bytes, LAMBDA_RESPONSE_QUOTA)
    grows("POST /rules 202 response (bytes)", small.post_rules_bytes, full.post_rules_bytes, LAMBDA_RESPONSE_QUOTA)
    if full.finished_event_targets < full.accounts * full.regions:  # the event lists some targets, counts the rest
        rows.append(
            (
                "Finished event (bytes, whole event; targets listed up to a cap)",
                small.finished_event_bytes,
                full.finished_event_bytes,
                None,
                EVENT_QUOTA,
            )
        )
    else:
        grows("Finished event (bytes, whole event)", small.finished_event_bytes, full.finished_event_bytes, EVENT_QUOTA)

    lines = [
        BEGIN,
        f"## 6. Many accounts: {full.accounts} accounts x {full.regions} regions (issue 12)",
        "",
        f"One rule rolled out to {full.accounts} fresh member accounts (each with PullthroughExecutionRole) x "
        f"{full.regions} aws-partition regions = {targets:,} targets: **{full.outcome}** in "
        f"**{full.wall_seconds:,.0f} s** wall time (POST /rules until GET /rollouts leaves RUNNING; the execution "
        f"itself {full.parent.seconds:,.0f} s by the engine's clock), {full.wall_seconds / targets * 1000:,.0f} ms "
        f"per target. The {small.accounts}-account run took {small.wall_seconds:,.1f} s. Creating the accounts "
        f"({full.accounts_seconds:,.0f} s) is not counted. {_cpu(full)}",
        "",
        "Run by `make bench-accounts` (python -m benchmarks.many_accounts), not by `make bench`: at this size it "
        "takes longer than all of `make bench`'s measurements together. `make bench` keeps this section as it is.",
        "",
        f"rollout.accountConcurrency: {full.account_concurrency or 'the app default (20)'}. " + _CONCURRENCY_NOTE,
        "",
        f"| measurement | {small.accounts} accounts | {full.accounts} accounts | projected to {n:,} | quota | "
        f"projected share of quota |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, at_small, at_full, projected, quota in rows:
        value = at_full if projected is None else projected
        shown = "same (capped or per account)" if projected is None else f"{projected:,}"
        share = _share(value, quota) if value <= quota else f"**{_share(value, quota)}: over the quota**"
        lines.append(f"| {label} | {at_small:,} | {at_full:,} | {shown} | {quota:,} | {share} |")
    lines += [
        "",
        f"Largest parent state: {full.parent.largest.where}; largest child state: {full.child.largest.where}. "
        f"The child was measured for one account of {full.child_regions} regions, started as the parent's "
        "Distributed Map starts it: RolloutAccounts' ItemProcessor (DefinitionSubstitutions applied) as a state "
        "machine of its own, its input the parent's ItemSelector applied to the Map's state input, the account's "
        "targets put in DynamoDB by RolloutStore.put_account_targets as pullthrough.rollouts.launch.record_rollout does (moto keeps no child "
        "histories: its parent history shows only MapRunStarted/MapRunSucceeded).",
        "",
        f"Projection: linear in accounts between the {small.accounts}- and {full.accounts}-account runs; what one "
        "child execution or one account's item holds depends on its regions only. The Finished event listed "
        f"{full.finished_event_targets:,} of {full.accounts * full.regions:,} targets (it lists up to a cap and "
        "counts the rest). "
        "Real Step Functions adds a few events to the parent (MapRunStarted/Succeeded and the Map state's own) "
        "but no per-account events: the parent's history does not grow with accounts there either.",
        "",
        END,
    ]
    return lines


def write_section(path: Path, lines: list[str]) -> Path:
    """Put the section into REPORT.md, replacing the previous one (or appended when there is none)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = "\n".join(lines) + "\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip() + "\n\n" + block
    path.write_text(text)
    return path


def kept_section(path: Path) -> list[str]:
    """The many-accounts section of an existing REPORT.md (``make bench`` rewrites the rest), or nothing."""
    text = path.read_text() if path.exists() else ""
    if BEGIN not in text or END not in text:
        return []
    return [BEGIN, *text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n").splitlines(), END]


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.many_accounts", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=200, help="member accounts of the full run (default 200)")
    parser.add_argument("--regions", type=int, default=17, help="regions in each account (default 17)")
    parser.add_argument(
        "--account-concurrency",
        type=int,
        default=BENCH_ACCOUNT_CONCURRENCY,
        help=f"the rollout's accountConcurrency (default {BENCH_ACCOUNT_CONCURRENCY}; 0: the app's default)",
    )
    parser.add_argument("--small", type=int, default=2, help="accounts of the small run the projection starts from")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where REPORT.md is (default: benchmarks/)")
    parser.add_argument("--json", type=Path, help="also write the measurements to this JSON file")
    parser.add_argument(
        "--from-json", type=Path, help="write the section from measurements saved by --json (no new run)"
    )
    args = parser.parse_args(argv)
    if not 2 <= args.small < args.accounts:
        parser.error("--small must be at least 2 (a rollout across accounts) and below --accounts")
    if not 1 <= args.regions <= len(aws_partition_ecr_regions()):
        parser.error(f"--regions must be 1-{len(aws_partition_ecr_regions())}")
    return args


def main(argv: list[str] | None = None) -> int:
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))  # the functions' layer, as the stack and Lambda put it
    args = _arguments(argv)
    started = time.monotonic()

    def log(line: str) -> None:
        print(f"[{time.monotonic() - started:7.1f} s] {line}", flush=True)

    concurrency = args.account_concurrency or None
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        small, full = point_of(saved["small"]), point_of(saved["full"])
    else:
        small = measure(args.small, args.regions, concurrency=concurrency, log=log)
        full = measure(args.accounts, args.regions, concurrency=concurrency, log=log)
    if args.json:
        args.json.write_text(json.dumps({"small": asdict(small), "full": asdict(full)}, indent=2) + "\n")
    path = write_section(args.out / "REPORT.md", section(small, full))
    log(f"wrote the many-accounts section of {path}")
    return 0 if full.outcome == "SUCCEEDED" else 1


if __name__ == "__main__":
    sys.exit(main())
