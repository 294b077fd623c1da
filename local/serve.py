"""``python -m local.serve [--verbose]`` (``make local``, ``make local VERBOSE=1``): serve the API and the AWS
emulator on loopback until Ctrl-C or SIGTERM. It prints one line per step and per event; the functions' JSON logs
go to a file (its path is printed), or with ``--verbose`` to the terminal too."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from local import bus_log, samples
from local.organization import ADMIN_ROLE
from local.run_log import RunLog
from local.settings import ACCOUNT_ID, HOME_REGION, StackError
from local.stack import EmbeddedStack
from local.template_reader import TemplateError

SAMPLE = {
    "upstreamRegistry": "docker-hub",
    "credentials": {"username": "demo-user", "accessToken": "demo-placeholder-token"},
    "regions": ["us-east-1", "eu-west-1"],
}


def banner(stack: EmbeddedStack, seeded: list[str], log_file: Path | None = None) -> str:
    """What is where, and how to try it."""
    api, aws = stack.api_url, stack.endpoint_url
    logs = f"  the functions' JSON logs and metrics: {log_file}" if log_file else "  (--verbose: JSON logs below)"
    return "\n".join(
        [
            "pullthrough local stack is up (state lives in memory: it is gone when this stops)",
            f"  API       {api}   (unsigned requests, loopback only; also under /v1)",
            f"  emulator  {aws}   (moto: any dummy credentials, account {ACCOUNT_ID}, home region {HOME_REGION})",
            f"  registry  http://127.0.0.1:{stack.registry_port}   (ECR's pull path: docs/local-registry.md)",
            "  seeded for events/*.json:",
            *(f"    {line}" for line in seeded),
            *(f"  {line}" for line in (stack.organization.summary() if stack.organization else [])),
            f"    each member but the '(no role)' one has {stack.execution_role_name} (target-account.yaml); look into",
            "    one as its administrator: aws sts assume-role --role-arn "
            f"arn:aws:iam::<member>:role/{ADMIN_ROLE} --role-session-name me",
            "  below: one line per step and per app event (Rollout Started/Finished, Rule Rejected, Drift Detected)",
            logs,
            "",
            "Try:",
            f"  export PULLTHROUGH_API_URL={api}",
            "  .venv/bin/pullthrough apply -f events/rule_request_docker_hub.json --wait",
            f"  curl -s -X POST {api}/rules -H 'content-type: application/json' \\",
            f"       -d '{json.dumps(SAMPLE)}'",
            f"  curl -s {api}/rollouts/<rolloutId>",
            f"  curl -s {api}/rules/docker-hub",
            f"  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws --endpoint-url {aws} --region eu-west-1 \\",
            "       ecr describe-pull-through-cache-rules",
            f"  Swagger UI: {api}/swagger",
            "  then pull through the rule (skopeo; the password from the emulator's GetAuthorizationToken):",
            f"  skopeo inspect --tls-verify=false --creds AWS:$(aws --endpoint-url {aws} --region {HOME_REGION} \\",
            f"       ecr get-login-password) docker://127.0.0.1:{stack.registry_port}/docker-hub/library/alpine:3.20",
            "",
            "Ctrl-C to stop.",
        ]
    )


class Stopped(BaseException):  # not an Exception: no `except Exception` on the way may swallow it
    """SIGTERM or Ctrl-C while the stack was starting: start() cleans up what it started and re-raises this."""


class StopSignals:
    """SIGTERM and SIGINT (Ctrl-C) stop ``make local`` whenever they come, as often as they come.

    The handler never takes a lock: it runs in the main thread between two bytecodes, possibly while that thread
    holds the very lock it would need (``Event.set`` inside ``Event.wait`` deadlocked). It records the signal in a
    plain attribute; only the first signal during start-up raises, so that start-up is abandoned (and cleaned up)
    rather than finished first; any later one, and every one while serving or stopping, only records.
    """

    POLL_SECONDS = 0.2

    def __init__(self) -> None:
        self.received: int | None = None
        self.starting = True

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        first = self.received is None
        self.received = signum
        if first and self.starting:
            self.starting = False
            raise Stopped

    def serving(self) -> None:
        """Start-up is over: from now on a signal only asks the main loop to stop."""
        self.starting = False

    def wait(self) -> None:
        """Return once a signal came (``time.sleep`` takes no lock, and a signal cuts it short)."""
        while self.received is None:
            time.sleep(self.POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    signals = StopSignals()
    signals.install()
    log_file = Path(tempfile.gettempdir()) / f"pullthrough-local-{os.getpid()}.log"
    run_log = RunLog(sys.stdout, log_file, verbose=options.verbose)
    stack: EmbeddedStack | None = None
    try:
        stack = EmbeddedStack()
        stack.start()  # cleans up what it started when a signal (Stopped) or a failure interrupts it
        run_log.install()
        seeded = samples.seed(stack)
        bus_log.install(stack)
        signals.serving()
        if signals.received is None:
            print(banner(stack, seeded, None if options.verbose else log_file), file=run_log.console, flush=True)
            run_log.showing = True
        signals.wait()
    except Stopped:
        pass
    except (StackError, TemplateError) as error:
        print(f"local stack: {error}", file=sys.stderr)
        return 2
    finally:
        signals.serving()
        if stack is not None:
            print("\nstopping...", file=sys.stderr)
            stack.stop()  # safe after a start() that cleaned up after itself
            samples.unseed()
        run_log.uninstall()
    return 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print the functions' JSON logs too")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
