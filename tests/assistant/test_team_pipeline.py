"""Two editors on one shared ledger (PostgreSQL): one team budget across them, the real
pipeline and providers against vendor stand-ins on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import GOOD_EXPLANATION, copy_example, start_lineup
from standins import Reply
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.config import Settings, parse_settings
from lsp_server.errors import ConfigError
from lsp_server.ledger.reservations import team_spent_on
from lsp_server.ledger.store import Ledger

EDITOR = Path(__file__).with_name("team_editor.py")
DESIGN = "How should we redesign the pricing architecture across the whole project?"


def _team(lineup: Any, url: str, user: str, **sections: Any) -> Settings:
    return lineup.settings(("local", "premium"), ledger={"url": url, "team": "core", "user": user},
                           **sections)  # type: ignore[no-any-return]


async def test_two_editors_share_one_team_budget(standin, tmp_path: Path, pg_url: str,  # noqa: F811
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    budget = {"daily_usd": 5.0, "team_daily_usd": 0.010}
    # $0.006 for the first call: 1000 tokens in at $3/M, 200 out at $15/M.
    lineup.servers["premium"].add(Reply(text=GOOD_EXPLANATION, input=1000, output=200))
    lineup.servers["local"].add(GOOD_EXPLANATION + " (local)")
    ana = Assistant(root, _team(lineup, pg_url, "ana", budget=budget), environ=lineup.environ)
    monkeypatch.setenv("AGENTIC_OPTIMIZER_HOME", str(tmp_path / "bo-state"))  # another machine
    bo = Assistant(root, _team(lineup, pg_url, "bo", budget=budget), environ=lineup.environ)
    try:
        first = await ana.run(AssistRequest(kind="ask", instruction=DESIGN))
        assert first.tier == "premium" and first.cost_usd == pytest.approx(0.006)
        # bo has spent nothing and is far under his own $5, but the team has $0.004 left
        second = await bo.run(AssistRequest(kind="ask", instruction=DESIGN + " Briefly."))
    finally:
        await ana.aclose()
        await bo.aclose()
    assert lineup.calls("premium") == 1
    assert second.outcome == "accepted" and second.tier == "local" and second.cost_usd == 0.0
    assert any("team budget reached" in n and "local/free" in n for n in second.notes)
    settings = _team(lineup, pg_url, "bo")
    with Ledger.open(settings=settings) as shared:
        report = shared.summary(team=True)
        assert report.requests == 2 and report.cost_usd == pytest.approx(0.006)
        assert team_spent_on(shared, shared.today()) == pytest.approx(0.006)  # settled
        users = {r["user_name"] for r in (shared.request(first.request_id),
                                          shared.request(second.request_id)) if r}
        assert users == {"ana", "bo"}


def _editor(settings: Settings, root: Path, instruction: str, environ: dict[str, str],
            state: Path) -> dict[str, Any]:
    """Run one request in another process (another machine: its own state directory)."""
    done = subprocess.run(
        [sys.executable, str(EDITOR), json.dumps(settings.model_dump(mode="json")), str(root),
         instruction, json.dumps(environ)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "AGENTIC_OPTIMIZER_HOME": str(state)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


async def test_shared_cache_hits_across_processes_within_a_team(
        standin, tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["premium"].add(Reply(text=GOOD_EXPLANATION, input=1000, output=200))
    shared = {"shared": True}
    ana = _team(lineup, pg_url, "ana", cache=shared)
    first = _editor(ana, root, DESIGN, lineup.environ, tmp_path / "ana")
    assert first["tier"] == "premium" and first["cached"] == [False]
    bo = _team(lineup, pg_url, "bo", cache=shared)
    second = _editor(bo, root, DESIGN, lineup.environ, tmp_path / "bo")
    assert second["outcome"] == "cache_hit" and second["cached"] == [True]
    assert second["answer"] == GOOD_EXPLANATION and second["cost_usd"] == 0.0
    assert lineup.calls("premium") == 1
    # another team on the same database does not see it
    lineup.servers["premium"].add(Reply(text=GOOD_EXPLANATION + " Other.", input=1000, output=200))
    other = lineup.settings(("local", "premium"), cache=shared,
                            ledger={"url": pg_url, "team": "other", "user": "cy"})
    third = _editor(other, root, DESIGN, lineup.environ, tmp_path / "cy")
    assert third["cached"] == [False] and lineup.calls("premium") == 2


def test_shared_cache_needs_a_shared_ledger() -> None:
    with pytest.raises(ConfigError, match=r"cache\.shared = true needs a shared ledger"):
        parse_settings({"cache": {"shared": True}})
