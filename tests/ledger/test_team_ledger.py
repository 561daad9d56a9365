"""The shared ledger on a real PostgreSQL server: the same records, reports and exports as the
SQLite file, who made each row, idempotent replays, and teams kept apart."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date
from pathlib import Path

import pytest
from ledger_seed import DAY, SONNET, add, seed_day

from lsp_server.config import Settings, parse_settings
from lsp_server.errors import LedgerError
from lsp_server.ledger import render
from lsp_server.ledger.identity import redact
from lsp_server.ledger.reservations import team_spent_on
from lsp_server.ledger.store import Ledger
from lsp_server.providers.base import Usage

SEEDED = date(2025, 10, 15)


def team_settings(base: Settings, url: str, team: str = "core", user: str = "ana") -> Settings:
    raw = base.model_dump(mode="json")
    raw["ledger"] = {**raw["ledger"], "url": url, "team": team, "user": user}
    return parse_settings(raw)


def test_reports_and_exports_match_the_sqlite_ledger(tmp_path: Path, ledger_settings: Settings,
                                                     pg_url: str) -> None:
    as_ana = parse_settings({**ledger_settings.model_dump(mode="json"), "ledger": {"user": "ana"}})
    with Ledger.open(tmp_path / "l.sqlite3", as_ana, tz=UTC) as lite, \
            Ledger.open(settings=team_settings(ledger_settings, pg_url), tz=UTC) as shared:
        assert shared.shared and not lite.shared
        for ledger in (lite, shared):
            seed_day(ledger)
        for by in ("provider", "model", "task", "variant", "user"):
            team = shared.summary(SEEDED, SEEDED, by, team=True)
            assert team.scope == "team core"
            assert render.render_plain(replace(team, scope="")) == \
                render.render_plain(lite.summary(SEEDED, SEEDED, by))
        assert shared.day_totals(SEEDED) == pytest.approx(lite.day_totals(SEEDED))
        outs = []
        for ledger in (lite, shared):
            out = io.StringIO()
            ledger.export_csv(out, attempts=True)
            # request ids are random: compare the rows without them
            outs.append(sorted(line.split(",", 1)[1] for line in out.getvalue().splitlines()))
        assert outs[0] == outs[1] and len(outs[0]) > 10
        # feedback by id prefix works on both
        rid = shared.start_request(kind="explain", workspace="/w", classification="x",
                                   request_id="abcdef123456")
        assert shared.feedback("abcdef12", rating=4, rejected=True) == rid
        row = shared.request(rid)
        assert row is not None and row["rating"] == 4 and row["rejected"] == 1
        assert row["user_name"] == "ana" and len(row["machine"]) == 32


def test_per_user_spend_and_team_total(ledger_settings: Settings, pg_url: str) -> None:
    with Ledger.open(settings=team_settings(ledger_settings, pg_url, user="ana"), tz=UTC) as ana, \
            Ledger.open(settings=team_settings(ledger_settings, pg_url, user="bo"), tz=UTC) as bo:
        add(ana, DAY, [(*SONNET, 500)], "accepted", latency_ms=500, premium=0.05)
        add(bo, DAY, [(*SONNET, 500), (*SONNET, 500)], "accepted", latency_ms=500, premium=0.05)
        assert ana.spent_on(SEEDED)[0] == pytest.approx(0.05)
        assert bo.spent_on(SEEDED)[0] == pytest.approx(0.10)
        assert team_spent_on(ana, SEEDED) == pytest.approx(0.15)
        # reports and the status bar: a user's own by default, the team's on request
        assert ana.summary(SEEDED, SEEDED).requests == 1
        assert ana.summary(SEEDED, SEEDED).cost_usd == pytest.approx(0.05)
        assert ana.summary(SEEDED, SEEDED, team=True).requests == 2
        assert ana.day_totals(SEEDED)["requests"] == 1
        assert bo.day_totals(SEEDED)["spent_usd"] == pytest.approx(0.10)


def test_teams_do_not_see_each_other(ledger_settings: Settings, pg_url: str) -> None:
    with Ledger.open(settings=team_settings(ledger_settings, pg_url, team="red"), tz=UTC) as red, \
            Ledger.open(settings=team_settings(ledger_settings, pg_url, team="blue"), tz=UTC) as blue:
        add(red, DAY, [(*SONNET, 500)], "accepted", latency_ms=500, premium=0.05)
        assert red.summary(SEEDED, SEEDED, team=True).requests == 1
        assert blue.summary(SEEDED, SEEDED, team=True).requests == 0
        assert team_spent_on(blue, SEEDED) == 0.0


def test_replayed_rows_are_written_once(ledger_settings: Settings, pg_url: str) -> None:
    with Ledger.open(settings=team_settings(ledger_settings, pg_url), tz=UTC) as led:
        for _ in range(2):
            led.start_request(kind="edit", workspace="/w", classification="x",
                              request_id="r1", replay=True)
            led.record_attempt("r1", provider="sonnet", model="claude-sonnet-4-5",
                               tier="premium", usage=Usage(10, 5), cost_usd=0.01,
                               latency_ms=5, confidence=0.9, error_class=None, row_key="k1")
        with pytest.raises(LedgerError, match="already in the ledger"):
            led.start_request(kind="edit", workspace="/w", classification="x", request_id="r1")
        row = led.request("r1")
        assert row is not None and len(row["attempts"]) == 1
        assert led.spent_today() == pytest.approx(0.01)


def test_unreachable_database_is_one_clear_error(ledger_settings: Settings) -> None:
    url = "postgresql://ana:hunter2@127.0.0.1:9/nowhere"
    with pytest.raises(LedgerError) as caught:
        Ledger.open(settings=team_settings(ledger_settings, url))
    assert "hunter2" not in str(caught.value) and "ana:***@127.0.0.1:9" in str(caught.value)


def test_redact_masks_passwords() -> None:
    assert redact("postgresql://u:secret@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact("postgresql://h/db?password=secret&x=1") == "postgresql://h/db?password=***&x=1"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"
