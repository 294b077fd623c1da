"""The local API: a threaded HTTP server on loopback that stands in for API Gateway (REST, proxy integration).

Each request becomes an API Gateway REST proxy event (payload v1) for the route's function, whose handler runs in
this process (loaded like the Lambda runner loads it); its proxy response goes back as the HTTP response.
Routes come from the template's ``Type: Api`` events. ``{name}`` matches one path segment (``%2F`` inside it is
decoded into the path parameter), ``{name+}`` the rest of the path. Requests may carry the stage prefix (``/v1``).
A signed call is authorized as API Gateway does (local/api_auth.py: signature, then execute-api:Invoke); an
unsigned one passes. Unknown paths get a 404 JSON body; a handler that raises gets a 500 JSON body, and the
traceback goes to stderr.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.api_auth import ApiAuthorizer, Caller, Refused
from local.invocation_scope import FunctionScope, entered
from local.lambda_runner import FunctionCode, LambdaContext, load_handler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """METHOD path (API Gateway syntax) -> the function that serves it."""

    method: str
    path: str
    function_name: str
    function_arn: str
    code: FunctionCode
    memory_mb: int = 128
    timeout_s: float = 29.0
    scope: FunctionScope | None = None  # the function's environment and identity (None: the process's)

    def pattern(self) -> re.Pattern[str]:
        parts = []
        for segment in self.path.strip("/").split("/"):
            greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
            single = re.fullmatch(r"\{(\w+)\}", segment)
            if greedy:
                parts.append(f"(?P<{greedy.group(1)}>.+)")
            elif single:
                parts.append(f"(?P<{single.group(1)}>[^/]+)")
            else:
                parts.append(re.escape(segment))
        return re.compile("^/" + "/".join(parts) + "/?$")


def match(routes: list[Route], method: str, raw_path: str) -> tuple[Route | None, dict[str, str], list[str]]:
    """(route, decoded path parameters, allowed methods of the path); route None when nothing fits."""
    allowed: list[str] = []
    for route in routes:
        found = route.pattern().match(raw_path)
        if not found:
            continue
        if route.method in (method, "ANY"):
            return route, {k: unquote(v) for k, v in found.groupdict().items()}, []
        allowed.append(route.method)
    return None, {}, sorted(set(allowed))


def api_path(raw_path: str) -> str:
    """The path as API Gateway gives it to the function: decoded, except that an encoded "/" stays ``%2F``."""
    return "/".join(unquote(segment).replace("/", "%2F") for segment in raw_path.split("/"))


def proxy_event(
    *,
    route: Route,
    method: str,
    raw_path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    path_parameters: dict[str, str],
    stage: str,
    account_id: str,
    source_ip: str,
    caller: Caller | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event (v1); ``caller``: who signed it (AWS_IAM authorization), None if unsigned."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    params = parse_qsl(query, keep_blank_values=True)
    qs: dict[str, str] = {}
    mqs: dict[str, list[str]] = {}
    for name, value in params:
        qs[name] = value
        mqs.setdefault(name, []).append(value)
    try:
        text: str | None = body.decode("utf-8") if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    path = api_path(raw_path)
    now = time.time()
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": qs or None,
        "multiValueQueryStringParameters": mqs or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "body": text,
        "isBase64Encoded": encoded,
        "requestContext": {
            "accountId": account_id,
            "apiId": "local",
            "domainName": single.get("Host", "127.0.0.1"),
            "httpMethod": method,
            "identity": {
                "sourceIp": source_ip,
                "userAgent": single.get("User-Agent"),
                **(
                    {"userArn": caller.arn, "accountId": caller.account, "accessKey": caller.access_key}
                    if caller
                    else {}
                ),
            },
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourcePath": route.path,
            "stage": stage,
        },
    }


class _Handler(BaseHTTPRequestHandler):
    server: ApiHTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _reply(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        names = {name.lower() for name, _ in headers}
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if "content-type" not in names and body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any], extra: list[tuple[str, str]] | None = None) -> None:
        self._reply(status, json.dumps(payload).encode(), [("Content-Type", "application/json"), *(extra or [])])

    def _serve(self) -> None:
        split = urlsplit(self.path)
        raw_path = split.path or "/"
        stage_prefix = f"/{self.server.stage}"
        if raw_path == stage_prefix or raw_path.startswith(stage_prefix + "/"):
            raw_path = raw_path[len(stage_prefix) :] or "/"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        route, params, allowed = match(self.server.routes, self.command, raw_path)
        if route is None:
            if allowed:
                self._json(
                    405, {"message": f"{self.command} is not allowed on {raw_path}"}, [("Allow", ", ".join(allowed))]
                )
            else:
                self._json(404, {"message": f"no route for {self.command} {raw_path}"})
            return
        try:
            caller = self.server.authorizer.authorize(
                self.command, self.path, raw_path, list(self.headers.items()), body
            )
        except Refused as refused:
            self._json(403, {"message": refused.message}, [("x-amzn-ErrorType", "AccessDeniedException")])
            return
        event = proxy_event(
            route=route,
            method=self.command,
            raw_path=raw_path,
            query=split.query,
            headers=list(self.headers.items()),
            body=body,
            path_parameters=params,
            stage=self.server.stage,
            account_id=self.server.account_id,
            source_ip=self.client_address[0],
            caller=caller,
        )
        context = LambdaContext(route.function_name, route.function_arn, route.memory_mb, route.timeout_s, "")
        try:
            with entered(route.scope):
                response = load_handler(route.code)(event, context)
        except Exception:
            print(f"[local api] {self.command} {raw_path} failed:\n{traceback.format_exc()}", file=sys.stderr)
            self._json(500, {"message": "internal error"})
            return
        self._proxy_response(response)

    def _proxy_response(self, response: Any) -> None:
        if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
            print(f"[local api] malformed proxy response: {type(response).__name__}", file=sys.stderr)
            self._json(502, {"message": "Internal server error"})
            return
        body = response.get("body") or ""
        data = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode("utf-8")
        multi: dict[str, list[Any]] = response.get("multiValueHeaders") or {}
        headers = [(k, str(v)) for k, values in multi.items() for v in values]
        seen = {k.lower() for k in multi}
        headers += [(k, str(v)) for k, v in (response.get("headers") or {}).items() if k.lower() not in seen]
        self._reply(response["statusCode"], data, headers)


class ApiHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # binds over TIME_WAIT after a restart; a port with a listener still fails
    request_queue_size = 128  # socketserver's default of 5 resets bursts of concurrent clients

    def __init__(
        self, address: tuple[str, int], routes: list[Route], stage: str, account_id: str, authorizer: ApiAuthorizer
    ) -> None:
        self.routes = routes
        self.stage = stage
        self.account_id = account_id
        self.authorizer = authorizer
        super().__init__(address, _Handler)


class ApiServer:
    """The local API on ``host:port`` (port 0: any free port) until ``stop()``."""

    def __init__(
        self,
        routes: list[Route],
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        stage: str = "v1",
        account_id: str,
        region: str = "us-east-1",
    ) -> None:
        self._host = host
        authorizer = ApiAuthorizer(account=account_id, region=region, stage=stage)
        self._httpd = ApiHTTPServer((host, port), routes, stage, account_id, authorizer)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="local-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()
