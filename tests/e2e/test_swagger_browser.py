"""The Swagger UI works in a real browser on the embedded stack: it renders every operation of the checked-in
document, and Try-it-out of POST /rules with its first example starts a rollout (202).

The browser is Debian's headless Chromium (package chromium-headless-shell, or chromium; .ci/run installs it when
absent) driven by Playwright, never a browser Playwright downloads. PULLTHROUGH_CHROMIUM names another binary.
Powertools inlines Swagger UI's script and stylesheet into the page, so the page loads nothing but itself: the test
fails on any request that leaves the stack's API.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, sync_playwright

from local.openapi_doc import DOCUMENT
from local.stack import EmbeddedStack

pytestmark = pytest.mark.e2e
BROWSERS = ("chromium-headless-shell", "chromium")
OPERATION_TIMEOUT_MS = 60_000


def _chromium() -> str:
    named = os.environ.get("PULLTHROUGH_CHROMIUM")
    found = named or next(filter(None, map(shutil.which, BROWSERS)), None)
    if not found:
        pytest.fail("no headless Chromium: apt-get install -y chromium-headless-shell (or set PULLTHROUGH_CHROMIUM)")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=_chromium())
        yield launched
        launched.close()


@pytest.fixture
def swagger(stack: EmbeddedStack, browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """The Swagger UI page of the local API, and every URL the page requested that is not the API's own."""
    page = browser.new_page()
    elsewhere: list[str] = []

    def record(request: Request) -> None:
        if not request.url.startswith(stack.api_url + "/"):
            elsewhere.append(request.url)

    page.on("request", record)
    page.goto(f"{stack.api_url}/v1/swagger")
    yield page, elsewhere
    page.close()


def _documented_operations() -> list[tuple[str, str]]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return sorted((method.upper(), path) for path, methods in document["paths"].items() for method in methods)


def test_the_page_renders_every_operation_without_leaving_the_stack(swagger: tuple[Page, list[str]]) -> None:
    # Given: the Swagger UI page in a browser
    page, elsewhere = swagger

    # When: it has rendered its operations
    page.locator(".opblock").first.wait_for(timeout=OPERATION_TIMEOUT_MS)
    methods = page.locator(".opblock .opblock-summary-method").all_inner_texts()
    paths = page.locator(".opblock .opblock-summary-path").all_inner_texts()

    # Then: one block per documented operation, and nothing was fetched from outside (no CDN, no internet)
    assert sorted(zip(methods, (path.replace("\u200b", "") for path in paths), strict=True)) == (
        _documented_operations()
    )
    assert elsewhere == []


def test_try_it_out_of_post_rules_with_the_first_example_starts_a_rollout(
    swagger: tuple[Page, list[str]], wait_rollout: Callable[..., dict[str, Any]]
) -> None:
    # Given: POST /rules opened, Try it out pressed, the first example in the body (the page's default)
    page, elsewhere = swagger
    operation = page.locator("#operations-rules-post_rule_rules_post")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    sent = json.loads(operation.locator("textarea.body-param__text").input_value())
    document = json.loads(DOCUMENT.read_text())
    examples = document["paths"]["/rules"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert sent == next(iter(examples.values()))["value"]

    # When: Execute
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=OPERATION_TIMEOUT_MS)

    # Then: 202 with a rollout the API knows (the example's credentials are placeholders the local stack accepts)
    assert status.inner_text().strip() == "202"
    answered = json.loads(
        operation.locator(".live-responses-table tbody .response-col_description pre").first.inner_text()
    )
    assert wait_rollout(answered["rolloutId"])["status"] == "SUCCEEDED"
    assert elsewhere == []
