"""The shared database stopped mid-run and started again: rows made meanwhile go to the local
spool, are replayed when it answers (in this run, or by the next process), none is lost and
none written twice; the team budget is judged from the last known total meanwhile."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from postgres_cluster import Cluster, start_cluster, wait_until

from lsp_server.config import Settings, parse_settings
from lsp_server.errors import LedgerError
from lsp_server.ledger.reservations import team_spent_on
from lsp_server.ledger.spool import RowOp, Spool
from lsp_server.ledger.store import Ledger
from lsp_server.ledger.writer import LedgerWriter


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A cluster of this test's own: it is stopped and started."""
    made = start_cluster()
    try:
        yield made
    finally:
        made.remove()


def _reader(settings: Settings) -> Callable[[], Ledger]:
    """Opens the ledger on first use and keeps it, as the server's session does."""
    lock = threading.Lock()
    opened: list[Ledger] = []

    def reader() -> Ledger:
        with lock:
            if not opened:
                opened.append(Ledger.open(settings=settings))
            return opened[0]

    return reader


def _request(writer: LedgerWriter, rid: str, cost: float) -> None:
    now = datetime.now(UTC).isoformat()
    writer.submit(rid, RowOp("start", rid, {"kind": "ask", "workspace": "/w",
                                            "classification": "ask:premium", "reasons": [],
                                            "variant": None, "higher_tier": False, "now": now}))
    writer.submit(rid, RowOp("attempt", rid, {
        "provider": "sonnet", "model": "claude-sonnet-4-5", "tier": "premium",
        "usage": [1000, 200, 0, 0], "cost_usd": cost, "latency_ms": 900.0, "confidence": 0.9,
        "error_class": None, "reasons": [], "cost_status": "measured", "prompt": None,
        "response": None, "now": now, "row_key": f"{rid}-1", "reservation": f"{rid}/sonnet"}),
        cost_usd=cost)
    writer.submit(rid, RowOp("finish", rid, {"outcome": "accepted", "cost_usd": cost,
                                             "premium_cost_usd": cost, "latency_ms": 900.0,
                                             "answered_by": ["sonnet", "claude-sonnet-4-5",
                                                             "premium"], "now": now}))


def _counts(settings: Settings) -> tuple[int, int, float]:
    with Ledger.open(settings=settings) as led:
        with led.reading() as db:
            requests = db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
            attempts = db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
        return int(requests), int(attempts), team_spent_on(led, led.today())


def test_database_stopped_mid_run_and_restarted(cluster: Cluster) -> None:
    url = cluster.new_database("outage")
    settings = parse_settings({"ledger": {"url": url, "team": "core", "user": "ana"},
                               "budget": {"team_daily_usd": 1.0}})
    spool = Spool.for_settings(settings)
    assert spool is not None
    writer = LedgerWriter(_reader(settings), retry_s=0.1, spool=spool)
    for i in range(20):
        _request(writer, f"before-{i:03d}", 0.01)
    assert writer.flush(30)
    guard = writer.team_limit("probe", 1.0)
    assert guard is not None
    assert _counts(settings) == (20, 20, pytest.approx(0.20))

    cluster.stop()
    for i in range(30):
        _request(writer, f"during-{i:03d}", 0.01)
    assert not writer.flush(30)  # not written: kept in the spool
    assert wait_until(lambda: len(spool) == 90 and writer.queued == 0, 30)
    notice = writer.take_notice()
    assert notice is not None and ("unreachable" in notice or "cannot" in notice)
    assert writer.take_notice() is None  # said once
    # the team budget, judged alone: last known $0.20 plus this machine's $0.30 unwritten
    assert writer.waiting_cost() == pytest.approx(0.30)
    # this user's spend: the last figure read from the ledger plus the rows it has not taken
    assert writer.spent_today() == pytest.approx(0.50)
    with pytest.raises(LedgerError):
        _counts(settings)

    cluster.start()
    assert wait_until(lambda: writer.flush(1) and len(spool) == 0, 60)
    assert _counts(settings) == (50, 50, pytest.approx(0.50))
    assert writer.replayed == 90 and writer.lost == 0

    # stopped again; this process ends before it comes back: the next one replays the spool
    cluster.stop()
    for i in range(10):
        _request(writer, f"after-{i:03d}", 0.02)
    assert wait_until(lambda: len(spool) == 30 and writer.queued == 0, 30)
    writer.close(30)
    assert writer.lost == 0
    cluster.start()
    again = Spool.for_settings(settings)
    assert again is not None and len(again) == 30
    second = LedgerWriter(_reader(settings), retry_s=0.1, spool=again)
    try:
        assert wait_until(lambda: second.flush(1) and len(again) == 0, 60)
        assert second.replayed == 30
    finally:
        second.close(30)
    assert _counts(settings) == (60, 60, pytest.approx(0.70))


def test_team_budget_offline_uses_the_last_known_total(cluster: Cluster, tmp_path: Path) -> None:
    url = cluster.new_database("offline_budget")
    settings = parse_settings({"ledger": {"url": url, "team": "core", "user": "ana"}})
    spool = Spool.for_settings(settings)
    writer = LedgerWriter(_reader(settings), retry_s=0.1, spool=spool)
    try:
        limit = writer.team_limit("r1", 0.10)
        assert limit is not None
        import asyncio

        assert asyncio.run(limit.reserve("m", 0.06)) is None  # $0.06 reserved of $0.10
        cluster.stop()
        # the reservation is the last known total: $0.03 more fits, $0.05 does not
        assert asyncio.run(limit.reserve("m2", 0.03)) is None
        refused = asyncio.run(limit.reserve("m3", 0.05))
        assert refused is not None and "judged offline" in refused
        notice = writer.take_notice()
        assert notice is not None and "team budget is enforced from the last known" in notice
    finally:
        writer.close(5)
        cluster.start()
