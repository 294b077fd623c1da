"""``python -m local.openapi_doc`` (``make docs``): the OpenAPI document the API serves, written to docs/openapi.json.

The document comes from the API function itself, answering ``GET /v1/swagger?format=json`` as API Gateway would
hand it over, so the checked-in file is exactly what a deployed or local API serves (a test keeps it current).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from local.api_server import Route, proxy_event
from local.lambda_runner import FunctionCode, LambdaContext, load_handler

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "openapi.json"
_ACCOUNT = "123456789012"
_ARN = f"arn:aws:lambda:us-east-1:{_ACCOUNT}:function:pullthrough-api"


def served_document() -> dict[str, Any]:
    """The document GET /v1/swagger?format=json answers with."""
    code = FunctionCode(ROOT / "functions" / "api")
    route = Route("GET", "/swagger", "pullthrough-api", _ARN, code)
    event = proxy_event(
        route=route,
        method="GET",
        raw_path="/swagger",
        query="format=json",
        headers=[("Host", "127.0.0.1")],
        body=b"",
        path_parameters={},
        stage="v1",
        account_id=_ACCOUNT,
        source_ip="127.0.0.1",
    )
    answer = load_handler(code)(event, LambdaContext("pullthrough-api", _ARN, 256, 29.0, "us-east-1"))
    if answer.get("statusCode") != 200:
        raise RuntimeError(f"GET /swagger?format=json answered {answer.get('statusCode')}: {answer.get('body')}")
    document: dict[str, Any] = json.loads(answer["body"])
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    layer = str(ROOT / "layers" / "common")  # the functions' layer, on sys.path as Lambda puts it there
    if layer not in sys.path:
        sys.path.insert(0, layer)
    DOCUMENT.parent.mkdir(exist_ok=True)
    DOCUMENT.write_text(render(served_document()))
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
