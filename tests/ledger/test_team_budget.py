"""The team cap under concurrent servers: four processes reserving against one PostgreSQL
ledger never together pass the cap by more than the estimation error of the calls in flight."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest

from lsp_server.config import parse_settings
from lsp_server.ledger.reservations import team_spent_on
from lsp_server.ledger.store import Ledger

WORKER = Path(__file__).with_name("team_worker.py")
ESTIMATE = 0.01
CAP = 0.50  # room for 50 calls; the four processes ask for 4 x 30


def test_team_cap_holds_across_processes(pg_url: str) -> None:
    with Ledger.open(settings=parse_settings({"ledger": {"url": pg_url, "team": "core"}}),
                     tz=UTC):
        pass  # migrate once before the processes race (they would queue on the lock anyway)
    procs = [subprocess.Popen([sys.executable, str(WORKER), pg_url, f"user{i}", "30",
                               str(ESTIMATE), str(CAP)], stdout=subprocess.PIPE, text=True)
             for i in range(4)]
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        results.append(json.loads(out))
    made = sum(r["made"] for r in results)
    spent = sum(r["spent"] for r in results)
    assert sum(r["refused"] for r in results) == 120 - made
    # every call reserved its estimate: at most CAP/ESTIMATE calls were let through, and the
    # real spend passes the cap by at most the error (10%) of the calls in flight (one each)
    assert made <= round(CAP / ESTIMATE)
    assert spent <= CAP + 4 * 0.1 * ESTIMATE
    assert made >= round(CAP / ESTIMATE) - 4  # the cap was used, not refused early
    settings = parse_settings({"ledger": {"url": pg_url, "team": "core"}})
    with Ledger.open(settings=settings) as ledger:  # the workers' zone: the system's
        day = ledger.today()
        assert team_spent_on(ledger, day) == pytest.approx(spent)  # every reservation settled
        assert ledger.summary(team=True).requests == made  # every row from every process stored
