"""boto3 clients per (service, region, account), cached for warm invocations and safe to create from many threads.

Endpoints follow boto3's own settings (AWS_ENDPOINT_URL...), which is how the local stack points the very same
code at the emulator. In a target account other than the home one, clients act through that account's
``PullthroughExecutionRole`` (``EXECUTION_ROLE_NAME``): one assumed-role session per (account, session name, caller),
named after the rollout and carrying a source identity for CloudTrail, renewed before its credentials expire. The
caller is the credentials that assumed it (``_caller``): one per process on Lambda; locally, where every function runs
in one process, each function's own, so each function's own sts:AssumeRole grant is what lets it in.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from pullthrough.adapters.errors import TRANSIENT_CODES
from pullthrough.exceptions import AwsTransientError, ExecutionRoleUnavailable
from pullthrough.regions import home_region

# A hung call must end as an SDK error (AwsTransientError: the state machine retries it, the API answers 503) well
# before the function's own timeout. Worst case 2 attempts x (2 s connect + 4 s read) + one backoff (at most 1 s, plus
# 5 s when AWS sends Retry-After) = 18 s, with 10 s to spare in a 29-30 s function: tests/contract/test_sdk_timeouts.py.
# total_max_attempts counts the first attempt; the older "max_attempts" counts retries only (2 there means 3 attempts).
# A client's connection pool (botocore's default 10) bounds the calls it can have in flight: the drift sweep records
# up to 50 reports (ECR's rules per region) with one client at once. Connections are opened only as calls need them.
MAX_POOL_CONNECTIONS = 50
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 2},
    connect_timeout=2,
    read_timeout=4,
    max_pool_connections=MAX_POOL_CONNECTIONS,
    user_agent_extra="pullthrough",
)
# ValidatePullThroughCacheRule waits on the upstream registry (ECR asks it), which 4 s cuts off when it is slow but
# working: a longer read, one attempt (the state machine retries an AwsTransientError). 2 s + 15 s + 10 s headroom
# fits ValidateRule's 30 s: tests/contract/test_sdk_timeouts.py.
SLOW_READ_CONFIG = CLIENT_CONFIG.merge(Config(read_timeout=15, retries={"mode": "standard", "total_max_attempts": 1}))
_lock = threading.Lock()
# (service, region, read_only, account or None for home, session name, caller, slow reads) -> client
ClientKey = tuple[str, str, bool, str | None, str, str, bool]
SessionKey = tuple[str, str, str]  # (account, session name, caller)
_clients: dict[ClientKey, Any] = {}
_made_with: dict[ClientKey, boto3.session.Session] = {}  # the session of each client
DEFAULT_EXECUTION_ROLE = "PullthroughExecutionRole"
SOURCE_IDENTITY = "pullthrough"
SESSION_SECONDS = 3600
RENEW_BEFORE_SECONDS = 300
MAX_ASSUMED_SESSIONS = 32  # (account, session) pairs kept warm (~1.6 MB each); the drift sweep reads 16 at a time
# Calls a read-only client lets through: reads, and ECR's ValidatePullThroughCacheRule (it changes nothing).
READ_PREFIXES = ("Describe", "Get", "List", "BatchGet", "Validate")


class WriteRefused(Exception):
    """A read-only (plan) client was asked to change something; the call was never sent."""


def _refuse_writes(model: Any, **_: Any) -> None:
    if not model.name.startswith(READ_PREFIXES):
        raise WriteRefused(f"{model.service_model.service_name}:{model.name} refused: a plan writes nothing")


_session: boto3.session.Session | None = None
# (account, session name, caller) -> (session, when its credentials expire)
_assumed: dict[SessionKey, tuple[boto3.session.Session, float]] = {}
# (account, session name, caller) -> the lock its AssumeRole call holds, while one is under way
_assuming: dict[SessionKey, threading.Lock] = {}

#: Called with each new session before its first client is made, and the role it acts as: None for the function's
#: own role, else the target account's execution role ARN. Empty on Lambda; the embedded stack registers its IAM
#: check here (a botocore event handler that checks each call against the acting role's policies).
session_hooks: list[Callable[[boto3.session.Session, str | None], None]] = []


def home_account() -> str | None:
    """The account the app is deployed in (``HOME_ACCOUNT_ID``; None when not configured: every call is home)."""
    return os.environ.get("HOME_ACCOUNT_ID") or None


def execution_role_arn(account: str) -> str:
    """The execution role pullthrough assumes in ``account`` (template parameter ExecutionRoleName)."""
    partition = os.environ.get("PARTITION", "aws")
    name = os.environ.get("EXECUTION_ROLE_NAME", DEFAULT_EXECUTION_ROLE)
    return f"arn:{partition}:iam::{account}:role/{name}"


def _caller() -> str:
    """Whose credentials assume execution roles now: the access key of the environment (the function's role)."""
    return os.environ.get("AWS_ACCESS_KEY_ID", "")


def is_home(account: str | None) -> bool:
    return account is None or account == home_account()


def client(
    service: str,
    region: str,
    *,
    read_only: bool = False,
    account: str | None = None,
    session_name: str = "pullthrough",
    slow_reads: bool = False,
) -> Any:
    """A cached client of ``service`` in ``region`` (boto3 sessions are not thread-safe: one lock guards creation).

    ``read_only``: a separate client that raises WriteRefused before sending any call but a read. ``account``: a
    target account; other than the home one, the client acts through its execution role, in a session named
    ``session_name`` (the rollout id). ``slow_reads``: a separate client for calls that wait on a third party
    (SLOW_READ_CONFIG). Raises ExecutionRoleUnavailable when the role cannot be assumed.
    """
    where = None if is_home(account) else account
    caller = _caller() if where else ""
    key = (service, region, read_only, where, session_name if where else "", caller, slow_reads)
    found = _cached(key)
    if found is not None:
        return found
    session = _home_session() if where is None else _assumed_session(where, session_name)
    with _lock:
        found = _cached(key)  # made by another thread meanwhile
        if found is not None:
            return found
        config = SLOW_READ_CONFIG if slow_reads else CLIENT_CONFIG
        made = session.client(service, region_name=region, config=config)  # type: ignore[call-overload]
        if read_only:
            made.meta.events.register("before-call", _refuse_writes)
        # Cached only while its session is the current one: renewed or dropped since this thread got it, the
        # client serves this call (its credentials are still good for minutes) and is not kept.
        if where is None or _valid_assumed((where, session_name, caller)) is session:
            _clients[key] = made
            _made_with[key] = session
        return made


def _cached(key: ClientKey) -> Any:
    """The cached client for ``key``, if it was made with its account's current session (None otherwise)."""
    found = _clients.get(key)
    if found is None or key[3] is None:
        return found
    current = _valid_assumed((key[3], key[4], key[5]))
    return found if current is not None and _made_with.get(key) is current else None


def _home_session() -> boto3.session.Session:
    """The function's own session (its role), made once."""
    global _session
    with _lock:
        if _session is None:
            _session = boto3.session.Session()
            for hook in list(session_hooks):
                hook(_session, None)
        return _session


def _valid_assumed(key: SessionKey) -> boto3.session.Session | None:
    cached = _assumed.get(key)
    return cached[0] if cached is not None and cached[1] > time.time() else None


def _assumed_session(account: str, session_name: str) -> boto3.session.Session:
    """A session acting as ``account``'s execution role, reused until shortly before its credentials expire.

    The AssumeRole call holds only this (account, session)'s lock, never the one that guards every client: a slow
    or hung STS answer for one account (up to 18 s) must not stop threads working in other accounts.
    """
    key = (account, session_name, _caller())
    home = _home_session()
    with _lock:
        if (found := _valid_assumed(key)) is not None:
            return found
        assuming = _assuming.setdefault(key, threading.Lock())
        sts = home.client("sts", region_name=home_region(), config=CLIENT_CONFIG)
    with assuming:  # one AssumeRole per (account, session), however many threads need it at once
        try:
            with _lock:
                if (found := _valid_assumed(key)) is not None:
                    return found
            granted = _assume(sts, account, session_name)
            with _lock:
                session = _session_as(home, granted, execution_role_arn(account))
                _forget_sessions(keep=MAX_ASSUMED_SESSIONS - 1)
                _assumed[key] = (session, _expires(granted) - RENEW_BEFORE_SECONDS)
                return session
        finally:
            with _lock:
                if _assuming.get(key) is assuming:  # not the lock of a later attempt
                    del _assuming[key]


def _assume(sts: Any, account: str, session_name: str) -> dict[str, Any]:
    """The execution role's credentials in ``account``.

    Raises ExecutionRoleUnavailable when STS refuses them (no role, no trust, STS disabled in the region: no retry
    helps), AwsTransientError when STS throttles, fails (5xx) or cannot be reached in time (retried by the caller).
    """
    role_arn = execution_role_arn(account)
    role = role_arn.rsplit("/", 1)[-1]
    try:
        return dict(
            sts.assume_role(
                RoleArn=role_arn,
                RoleSessionName=session_name[:64],
                SourceIdentity=SOURCE_IDENTITY,
                DurationSeconds=SESSION_SECONDS,
            )["Credentials"]
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in TRANSIENT_CODES or status >= 500:
            raise AwsTransientError(f"AssumeRole of {role} in {account}: {code or status}") from error
        raise ExecutionRoleUnavailable(f"{role} cannot be assumed in {account} ({code or 'refused'})") from None
    except BotoCoreError as error:  # connection and read timeouts, after botocore's own retry
        raise AwsTransientError(f"AssumeRole of {role} in {account}: {type(error).__name__}") from error


def _session_as(home: boto3.session.Session, granted: dict[str, Any], role_arn: str) -> boto3.session.Session:
    """A session with ``granted`` credentials. Called with ``_lock`` held."""
    # One botocore data loader for every session: each would otherwise parse the service models again (~9 MB a
    # session, against a 256 MB function).
    core = botocore.session.Session()
    core.register_component("data_loader", home._session.get_component("data_loader"))
    session = boto3.session.Session(
        aws_access_key_id=granted["AccessKeyId"],
        aws_secret_access_key=granted["SecretAccessKey"],
        aws_session_token=granted["SessionToken"],
        botocore_session=core,
    )
    for hook in list(session_hooks):
        hook(session, role_arn)
    return session


def _expires(granted: dict[str, Any]) -> float:
    expiration = granted["Expiration"]
    return float(expiration.timestamp()) if hasattr(expiration, "timestamp") else time.time() + 900


def _forget_sessions(keep: int) -> None:
    """Drop expired assumed sessions, then the oldest beyond ``keep``, with their clients: a warm function serves
    rollout after rollout (a session each), and the drift sweep every account, so the cache must not grow forever.
    A session being renewed has expired, so the clients made with its old credentials go too. Called with ``_lock``
    held."""
    now = time.time()
    stale = [key for key, (_, expires) in _assumed.items() if expires <= now]
    stale += [key for key in _assumed if key not in stale][: max(0, len(_assumed) - len(stale) - keep)]
    for account, name, caller in stale:
        del _assumed[(account, name, caller)]
        for key in [k for k in _clients if k[3:6] == (account, name, caller)]:
            del _clients[key]
            _made_with.pop(key, None)


def reset() -> None:
    """Forget cached clients and sessions (tests, and the local stack after changing endpoints)."""
    global _session
    with _lock:
        _clients.clear()
        _made_with.clear()
        _assumed.clear()
        _assuming.clear()
        _session = None
