"""The CLI follows a listing's pages: ``status`` and ``rules PREFIX`` show every target, not only the first 500."""

from __future__ import annotations

from typing import Any

from pullthrough_cli.client import Api


class PagedApi(Api):
    """Answers GET from pages keyed by the nextToken asked for (no network); records each call's query."""

    def __init__(self, pages: dict[str | None, dict[str, Any]]) -> None:
        super().__init__("http://127.0.0.1:1")
        self.pages = pages
        self.asked: list[str | None] = []

    def call(self, method: str, path: str, body: Any = None, **options: Any) -> Any:
        token = (options.get("query") or {}).get("nextToken")
        self.asked.append(token)
        return dict(self.pages[token])


def test_a_rollout_is_read_to_its_last_page() -> None:
    api = PagedApi(
        {
            None: {"status": "SUCCEEDED", "targets": [{"account": "1"}], "nextToken": "a"},
            "a": {"status": "SUCCEEDED", "targets": [{"account": "2"}], "nextToken": "b"},
            "b": {"status": "SUCCEEDED", "targets": [{"account": "3"}]},
        }
    )
    shown = api.rollout("r-1")
    assert [t["account"] for t in shown["targets"]] == ["1", "2", "3"]
    assert api.asked == [None, "a", "b"] and "nextToken" not in shown


def test_a_rule_is_read_to_its_last_page_and_a_single_page_is_one_call() -> None:
    api = PagedApi({None: {"prefix": "p", "deployedTargets": [{"region": "a"}], "nextToken": "n"}})
    api.pages["n"] = {"prefix": "p", "deployedTargets": [{"region": "b"}]}
    assert [t["region"] for t in api.rule("p")["deployedTargets"]] == ["a", "b"]
    single = PagedApi({None: {"prefix": "p", "deployedTargets": []}})
    assert single.rule("p") == {"prefix": "p", "deployedTargets": []} and single.asked == [None]
