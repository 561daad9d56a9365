"""The commands on a shared ledger, as separate processes: ``ledger migrate --to URL`` (twice:
nothing is written twice), ``metrics --team --by user``, ``ledger export --csv``, ``doctor``."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from ledger_seed import GROQ, LOCAL, MODELS, SONNET, add

from lsp_server.config import parse_settings
from lsp_server.ledger.store import Ledger


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lsp_server", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})}, check=False)


def _config(tmp_path: Path, user: str) -> Path:
    path = tmp_path / f"{user}.toml"
    path.write_text(f'[ledger]\nurl_env = "AO_TEAM_LEDGER"\nteam = "core"\nuser = "{user}"\n',
                    encoding="utf-8")
    return path


def test_migrate_report_export_and_doctor(tmp_path: Path, pg_url: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    source = tmp_path / "old.sqlite3"
    with Ledger.open(source, parse_settings({"models": MODELS, "ledger": {"user": "ana"}})) as old:
        for i in range(30):
            add(old, now, [(*LOCAL, 150), (*SONNET, 900)], "accepted", latency_ms=1000,
                premium=0.05, kind="edit" if i % 2 else "explain")
        add(old, now, [(*GROQ, 300)], "failed", latency_ms=300, premium=0.01)
        # rows written before users were recorded are attributed to the migrating user
        old.connection.execute("UPDATE requests SET user_name = ''")
        old.connection.execute("UPDATE attempts SET user_name = ''")
    env = {"AO_TEAM_LEDGER": pg_url}
    ana = _config(tmp_path, "ana")
    first = _cli("ledger", "migrate", "--ledger", str(source), "--config", str(ana), env=env)
    assert first.returncode == 0, first.stderr
    assert "Copied 31 requests (61 attempts)" in first.stderr and "0 were already there" in first.stderr
    again = _cli("ledger", "migrate", "--ledger", str(source), "--config", str(ana), env=env)
    assert again.returncode == 0 and "Copied 0 requests (0 attempts)" in again.stderr
    assert "31 were already there" in again.stderr

    # a second user records into the same database from another process
    bo_settings = parse_settings({"models": MODELS, "ledger": {"url": pg_url, "team": "core",
                                                               "user": "bo"}})
    with Ledger.open(settings=bo_settings) as bo:
        add(bo, now, [(*SONNET, 500)], "accepted", latency_ms=500, premium=0.05)

    team = _cli("metrics", "--team", "--by", "user", "--json", "--config", str(ana), env=env)
    assert team.returncode == 0, team.stderr
    data = json.loads(team.stdout)
    assert data["requests"] == 32 and data["scope"] == "team core"
    with Ledger.open(source, parse_settings({"models": MODELS})) as old:
        before = old.summary()
    assert data["cost_usd"] == round(before.cost_usd + 0.05, 6)
    assert data["by_user"]["ana"]["requests"] == 31 and data["by_user"]["bo"]["requests"] == 1
    mine = json.loads(_cli("metrics", "--json", "--config", str(ana), env=env).stdout)
    assert mine["requests"] == 31 and mine["scope"] == "user ana, team core"

    exported = _cli("ledger", "export", "--csv", "--attempts", "--config", str(ana), env=env)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == 61 + 1
    assert {r["user"] for r in rows} == {"ana", "bo"}  # who made each row

    doctor = _cli("doctor", "--json", "--config", str(ana), env=env)
    ledger = json.loads(doctor.stdout)["ledger"]
    assert ledger["kind"] == "shared" and ledger["reachable"] is True
    down = _cli("doctor", "--config", str(ana),
                env={"AO_TEAM_LEDGER": "postgresql://ana:s3cret@127.0.0.1:9/x"})
    assert "Ledger (shared (ledger.url)):\n  -- postgresql://ana:***@127.0.0.1:9/x" in down.stdout
    assert "s3cret" not in down.stdout + down.stderr


def test_team_report_needs_a_shared_ledger(tmp_path: Path) -> None:
    done = _cli("metrics", "--team", "--ledger", str(tmp_path / "l.sqlite3"))
    assert done.returncode != 0 and "needs" not in done.stdout
    assert "metrics --team reads a team's shared ledger" in done.stderr
