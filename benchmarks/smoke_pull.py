"""The smoke pull's cost per target, measured once: the same rollout of the sample docker-hub rule to three regions
with and without ``smokePull``, under the latency model (benchmarks.latency_model), on the embedded stack.

    .venv/bin/python -m benchmarks.smoke_pull

Prints, per variant, the wall time of the rollout (median of ROUNDS) and the AWS calls the emulator received; the
difference is what the SmokePull step adds: one Lambda invoke per target, GetAuthorizationToken in the target's
region, and one manifest GET on the registry endpoint (which the latency model does not price: it serves the
pull-through path itself, first pulls included, from loopback).
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.request
from collections import Counter
from typing import Any

from benchmarks.latency_model import LatencyModel
from local.stack import EmbeddedStack
from local.template_reader import ROOT

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
ROUNDS = 3


def _call(stack: EmbeddedStack, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(stack.api_url + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def _rollout(stack: EmbeddedStack, body: dict[str, Any]) -> tuple[float, Counter[str]]:
    mark = len(stack.requests.operations)
    began = time.monotonic()
    started = _call(stack, "POST", "/rules", body)
    while (view := _call(stack, "GET", f"/rollouts/{started['rolloutId']}"))["status"] == "RUNNING":
        time.sleep(0.05)
    took = time.monotonic() - began
    assert view["status"] == "SUCCEEDED", view
    return took, Counter(op.split(".")[-1] for op in stack.requests.since(mark))


def main() -> None:
    sample = json.loads((ROOT / "events" / "rule_request_docker_hub.json").read_text())
    with EmbeddedStack(aws_port=0, api_port=0, parameters={"LogLevel": "WARNING"}) as stack:
        stack.set_latency_model(LatencyModel(home=stack.region).call_ms)
        for variant, extra in (("without", {}), ("with", {"smokePull": {"image": "library/alpine:3.20"}})):
            times, calls = [], Counter[str]()
            for n in range(ROUNDS + 1):  # the first round warms the clients and is not counted
                body = sample | {"ecrRepositoryPrefix": f"bench-{variant}-{n}", "regions": REGIONS} | extra
                took, calls = _rollout(stack, body)
                if n:
                    times.append(took)
            print(f"{variant} smokePull: median {statistics.median(times):.2f} s over {ROUNDS}, calls {dict(calls)}")


if __name__ == "__main__":
    main()
