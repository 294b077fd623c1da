"""``python -m local.serve`` (``make local``): serve the API and the AWS emulator on loopback until Ctrl-C."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

from local import bus_log, samples
from local.organization import ADMIN_ROLE
from local.settings import ACCOUNT_ID, HOME_REGION, StackError
from local.stack import EmbeddedStack
from local.template_reader import TemplateError

SAMPLE = {
    "upstreamRegistry": "docker-hub",
    "credentials": {"username": "demo-user", "accessToken": "demo-placeholder-token"},
    "regions": ["us-east-1", "eu-west-1"],
}


def banner(stack: EmbeddedStack, seeded: list[str]) -> str:
    """What is where, and how to try it."""
    api, aws = stack.api_url, stack.endpoint_url
    return "\n".join(
        [
            "pullthrough local stack is up (state lives in memory: it is gone when this stops)",
            f"  API       {api}   (unsigned requests, loopback only; also under /v1)",
            f"  emulator  {aws}   (moto: any dummy credentials, account {ACCOUNT_ID}, home region {HOME_REGION})",
            "  seeded for events/*.json:",
            *(f"    {line}" for line in seeded),
            *(f"  {line}" for line in (stack.organization.summary() if stack.organization else [])),
            f"    each member but the '(no role)' one has {stack.execution_role_name} (target-account.yaml); look into",
            "    one as its administrator: aws sts assume-role --role-arn "
            f"arn:aws:iam::<member>:role/{ADMIN_ROLE} --role-session-name me",
            "  the app's events (Rollout Started/Finished, Rule Rejected, Drift Detected) are printed below",
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
            "",
            "Ctrl-C to stop.",
        ]
    )


def main() -> int:
    stop = threading.Event()

    def _terminate(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _terminate)
    try:
        stack = EmbeddedStack().start()
    except (StackError, TemplateError) as error:
        print(f"local stack: {error}", file=sys.stderr)
        return 2
    try:
        seeded = samples.seed(stack)
        bus_log.install(stack)
        print(banner(stack, seeded), flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping...", file=sys.stderr)
        stack.stop()
        samples.unseed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
