"""Where the rules API is, and whether requests to it are signed.

The URL comes from ``--api-url``, else ``PULLTHROUGH_API_URL``, else ``--stack NAME`` (the deployed stack's
CloudFormation output ApiUrl, which ends in /v1/). Requests to a loopback host (``make local``) go unsigned; any
other host gets SigV4 (service execute-api) with credentials from botocore's normal chain: environment, profiles,
SSO, container and instance roles, session tokens included.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pullthrough_cli.errors import USAGE, CliError

if TYPE_CHECKING:  # botocore takes a second to import: only the commands that call the API load it
    from botocore.session import Session

API_URL_ENV = "PULLTHROUGH_API_URL"
API_URL_OUTPUT = "ApiUrl"
# https://{api-id}.execute-api.{region}.amazonaws.com[.cn]/{stage}/
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def is_loopback(url: str) -> bool:
    """True for http(s)://localhost, 127.0.0.0/8 and [::1]: the local API, which takes unsigned requests."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def region_of(url: str) -> str | None:
    """The region of an API Gateway default endpoint URL; None for any other host (e.g. a custom domain)."""
    found = _EXECUTE_API_HOST.match((urlsplit(url).hostname or "").lower())
    return found.group(1) if found else None


def check_url(url: str) -> str:
    """``url`` when it is an absolute http(s) URL; CliError (usage) otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"API URL {url!r} is not an http(s) URL", USAGE)
    if parts.scheme == "http" and not is_loopback(url):
        raise CliError(f"API URL {url!r}: use https for anything but a loopback address", USAGE)
    return url


def stack_api_url(session: Session, stack: str, region: str | None) -> str:
    """The ApiUrl output of CloudFormation stack ``stack`` (DescribeStacks, with the caller's credentials)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        cloudformation: Any = session.create_client("cloudformation", region_name=region)
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        raise CliError(f"stack {stack!r}: {error.response.get('Error', {}).get('Message', error)}") from None
    except BotoCoreError as error:
        raise CliError(f"stack {stack!r}: {error}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (stacks[0].get("Outputs") or [])} if stacks else {}
    if API_URL_OUTPUT not in outputs:
        raise CliError(f"stack {stack!r} has no {API_URL_OUTPUT} output: is it a pullthrough stack?", USAGE)
    return str(outputs[API_URL_OUTPUT])


def resolve(api_url: str | None, stack: str | None, session: Session, region: str | None) -> str:
    """The API's base URL from the options, the environment or the stack (in that order)."""
    if api_url and stack:
        raise CliError("give --api-url or --stack, not both", USAGE)
    url = api_url or (None if stack else os.environ.get(API_URL_ENV))
    if url:
        return check_url(url)
    if stack:
        return check_url(stack_api_url(session, stack, region))
    raise CliError(
        f"where is the API? Give --api-url URL, set {API_URL_ENV} (make local: http://127.0.0.1:3000), "
        "or --stack NAME (the deployed stack's ApiUrl output)",
        USAGE,
    )
