"""One cold start, in a fresh interpreter: run as ``python cold_child.py '<json spec>'`` by cold_start.py.

Mode ``handler``: put the function's directory and the layer on sys.path (as Lambda puts /var/task and /opt/python),
import the handler module (noting whether that imported the metrics code), then serve one invocation. Mode
``baseline``: ``import boto3``, make an ECR and a Secrets Manager client, and make one call with each. Prints one JSON
line: seconds to import, seconds to serve, the process's own CPU seconds over both, the API operations called and
clients made after the import, peak RSS (VmHWM; ru_maxrss where there is none), and the handler's output or error.

Only the standard library is imported before the clock starts; this file imports nothing of the harness.
"""

import time

_STARTED = time.perf_counter()
_CPU_STARTED = time.process_time()

import contextlib  # noqa: E402
import importlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402


class Context:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.function_name = spec.get("function_name", "cold-start")
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.get("function_arn", "")
        self.memory_limit_in_mb = spec.get("memory", 128)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "cold-start"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _count() -> tuple[list[str], list[str]]:
    """Count API operations and clients from here on (botocore is imported by now in both modes)."""
    from botocore.client import ClientCreator
    from botocore.endpoint import Endpoint

    operations: list[str] = []
    clients: list[str] = []
    make_request, create_client = Endpoint.make_request, ClientCreator.create_client

    def counted_request(self: Any, operation_model: Any, request_dict: Any) -> Any:
        operations.append(operation_model.name)
        return make_request(self, operation_model, request_dict)

    def counted_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        clients.append(service_name)
        return create_client(self, service_name, *args, **kwargs)

    Endpoint.make_request = counted_request  # type: ignore[method-assign]
    ClientCreator.create_client = counted_client  # type: ignore[method-assign]
    return operations, clients


def handler_run(spec: dict[str, Any]) -> dict[str, Any]:
    sys.path[:0] = [spec["function_dir"], spec["layer_dir"]]
    module_name, _, attr = spec["handler"].rpartition(".")
    handler = getattr(importlib.import_module(module_name), attr)
    imported = time.perf_counter()
    imports_metrics = "pullthrough.metrics" in sys.modules
    operations, clients = _count()
    output, error = None, None
    try:
        output = handler(spec["event"], Context(spec))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    done = time.perf_counter()
    return {"init": imported - _STARTED, "invoke": done - imported, "operations": operations, "clients": clients,
            "cpu": time.process_time() - _CPU_STARTED, "output": output, "error": error,
            "imports_metrics": imports_metrics}  # fmt: skip


def metrics_run(spec: dict[str, Any]) -> dict[str, Any]:
    """What the metrics code adds to a function that already logs: its import, then writing a closed rollout's lines
    (the first time, and again), stdout captured."""
    sys.path[:0] = [spec["layer_dir"]]
    importlib.import_module("pullthrough.observability")  # every function's Logger, hence Powertools' __init__
    preloaded = "aws_lambda_powertools.metrics" in sys.modules
    before = time.perf_counter()
    metrics = importlib.import_module("pullthrough.metrics")
    imported = time.perf_counter()
    written = io.StringIO()
    with contextlib.redirect_stdout(written):
        metrics.RolloutMetrics().finished(spec["rollout"], spec["summary"], spec["finished_at"])
        first = time.perf_counter()
        metrics.RolloutMetrics().finished(spec["rollout"], spec["summary"], spec["finished_at"])
        again = time.perf_counter()
    return {"import": imported - before, "first": first - imported, "again": again - first,
            "lines": written.getvalue().count('{"_aws":') // 2, "powertools_metrics_preloaded": preloaded,
            "error": None}  # fmt: skip


def baseline_run(spec: dict[str, Any]) -> dict[str, Any]:
    import boto3

    imported = time.perf_counter()
    operations, clients = _count()
    session = boto3.session.Session()
    ecr = session.client("ecr", region_name=spec["region"])
    secrets = session.client("secretsmanager", region_name=spec["region"])
    ecr.describe_pull_through_cache_rules()
    secrets.list_secrets(MaxResults=1)
    done = time.perf_counter()
    return {"init": imported - _STARTED, "invoke": done - imported, "operations": operations, "clients": clients,
            "cpu": time.process_time() - _CPU_STARTED, "output": None, "error": None}  # fmt: skip


def peak_rss_kb() -> int:
    """This process's peak resident set size in KiB.

    Linux's ru_maxrss survives exec, so a child of a big parent would report the parent's size: VmHWM (the
    high-water mark of this program's own memory map) does not.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    spec = json.loads(sys.argv[1])
    runs = {"baseline": baseline_run, "handler": handler_run, "metrics": metrics_run}
    result = runs[spec["mode"]](spec)
    result["peak_rss_kb"] = peak_rss_kb()
    sys.stdout.write("COLD-START-RESULT " + json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
