"""Faults of the ledger, injected for real: a damaged file, a lock held by another process past
the busy timeout, a full disk and a read-only state directory. No row is lost: every row
expected is counted in the database at the end, or was reported as not recorded."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from file_damage import scribble_middle, truncate

from lsp_server.assistant.recording import RequestRecorder
from lsp_server.config import parse_settings
from lsp_server.ledger.prices import PriceBook
from lsp_server.ledger.savings import SavingsPolicy
from lsp_server.ledger.store import Ledger
from lsp_server.ledger.writer import LedgerWriter
from lsp_server.providers.base import Usage
from lsp_server.routing.attempts import AttemptInfo

SETTINGS = parse_settings({})
POLICY = SavingsPolicy(PriceBook(SETTINGS))
BUSY_MS = 150


def attempt(cost: float) -> AttemptInfo:
    return AttemptInfo(provider="free-model", model="m", tier="free",
                       usage=Usage(input=100, output=10), cost_usd=cost, latency_ms=5.0,
                       confidence=0.9, error=None, reasons=[])


def run_request(writer: LedgerWriter, rid: str, cost: float = 0.001) -> RequestRecorder:
    """Three rows: the request's start, one attempt, its finish."""
    recorder = RequestRecorder(writer, POLICY, request_id=rid, kind="ask", workspace="/w",
                               classification="ask:free", reasons=["r"])
    info = attempt(cost)
    recorder.attempt(info)
    recorder.finish("accepted", info, 7.0)
    return recorder


def counts(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        requests = conn.execute("SELECT COUNT(*) FROM requests WHERE outcome IS NOT NULL").fetchone()[0]
        attempts = conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
    finally:
        conn.close()
    return int(requests), int(attempts)


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "ledger.sqlite3"


@pytest.fixture
def writer_for(ledger_path: Path) -> Iterator[Callable[..., LedgerWriter]]:
    made: list[tuple[LedgerWriter, Ledger]] = []

    def make(limit: int = 1000) -> LedgerWriter:
        reader = Ledger.open(ledger_path, SETTINGS, busy_timeout_ms=BUSY_MS)
        writer = LedgerWriter(lambda: reader, limit=limit, retry_s=0.05)
        made.append((writer, reader))
        return writer

    yield make
    for writer, reader in made:
        writer.close(30)
        reader.close()


# -- damaged -------------------------------------------------------------------------------


def _seed(path: Path, n: int) -> None:
    with Ledger.open(path, SETTINGS) as ledger:
        for i in range(n):
            rid = ledger.start_request(kind="ask", workspace="/w" * 50, classification="ask:free",
                                       reasons=["a reason long enough to fill pages"] * 5)
            ledger.finish_request(rid, outcome="accepted", cost_usd=0.0, premium_cost_usd=None,
                                  latency_ms=float(i))


@pytest.mark.parametrize("damage", [truncate, scribble_middle], ids=["truncated", "middle"])
def test_a_damaged_ledger_is_copied_aside_and_a_fresh_one_started(
    damage: Callable[[Path], None], ledger_path: Path,
    writer_for: Callable[..., LedgerWriter],
) -> None:
    _seed(ledger_path, 200)
    damage(ledger_path)
    damaged = ledger_path.read_bytes()

    writer = writer_for()
    run_request(writer, "a" * 16)
    assert writer.flush(10)
    notice = writer.take_notice()
    assert notice is not None and "damaged" in notice and "copied to" in notice
    assert writer.take_notice() is None  # said once
    (aside,) = ledger_path.parent.glob("ledger.sqlite3.damaged-*")
    assert aside.read_bytes() == damaged  # copied before anything touched it
    assert counts(ledger_path) == (1, 1)  # the fresh ledger holds the new request
    assert (writer.written, writer.lost) == (3, 0)


# -- locked by another process -------------------------------------------------------------


def with_one_request(writer: LedgerWriter) -> LedgerWriter:
    """The writer, once one request is written (the ledger file exists, in WAL mode)."""
    run_request(writer, "0" * 16)
    assert writer.flush(10)
    return writer


@contextmanager
def held(path: Path) -> Iterator[None]:
    """Another connection (as another process would) holds the ledger's write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_rows_wait_out_a_lock_held_past_the_busy_timeout(
    ledger_path: Path, writer_for: Callable[..., LedgerWriter]
) -> None:
    writer = with_one_request(writer_for())

    with held(ledger_path):
        for i in range(1, 5):
            run_request(writer, f"{i:016d}", cost=0.25)
        assert not writer.flush(10)  # the ledger is unavailable: rows are kept
        notice = writer.take_notice()
        assert notice is not None and "locked" in notice and "kept in memory" in notice
        assert "Traceback" not in notice and "\n" not in notice
        assert writer.queued == 12 and writer.lost == 0
        # the budget sees the spend that is still waiting to be written
        assert writer.spent_today() == pytest.approx(0.001 + 4 * 0.25)
        run_request(writer, "5" * 16)  # more requests while locked: told only once
        assert not writer.flush(10)
        assert writer.take_notice() is None

    run_request(writer, "6" * 16)  # the next write brings the kept ones with it
    assert writer.flush(10)
    expected_requests = 7
    assert counts(ledger_path) == (expected_requests, expected_requests)
    assert (writer.written, writer.lost) == (3 * expected_requests, 0)
    assert writer.spent_today() == pytest.approx(0.001 * 3 + 4 * 0.25)


def test_beyond_the_limit_rows_are_reported_as_not_recorded(
    ledger_path: Path, writer_for: Callable[..., LedgerWriter]
) -> None:
    writer = with_one_request(writer_for(limit=4))
    with held(ledger_path):
        run_request(writer, "1" * 16)  # 3 rows kept
        assert not writer.flush(10)
        run_request(writer, "2" * 16)  # 1 kept, 2 not
        notice = writer.take_notice()
        assert notice is not None and "not recorded" in notice
    assert writer.flush(10)
    # request 2's attempt and finish were not kept: its start row is written without an outcome
    assert counts(ledger_path) == (2, 2)
    assert (writer.written, writer.lost) == (3 + 3 + 1, 2)


async def test_settled_does_not_wait_for_a_locked_ledger_twice(
    ledger_path: Path, writer_for: Callable[..., LedgerWriter]
) -> None:
    writer = with_one_request(writer_for())
    with held(ledger_path):
        first = run_request(writer, "1" * 16)
        assert await asyncio.wait_for(first.settled(), 10) is not None  # told
        second = run_request(writer, "2" * 16)
        # the ledger is known to be unavailable: the request is not held up again
        assert await asyncio.wait_for(second.settled(), BUSY_MS / 1000 / 3) is None
    assert writer.flush(10)
    assert counts(ledger_path) == (3, 3)


# -- a full disk and a read-only state directory (a tmpfs in a user namespace) -----------------

_SCRIPT = textwrap.dedent('''
    import json, os, subprocess, sys
    sys.path[:0] = json.loads(sys.argv[2])
    mnt = sys.argv[1]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt], check=True)
    from test_ledger_faults import SETTINGS, counts, run_request
    from pathlib import Path
    from lsp_server.ledger.store import Ledger
    from lsp_server.ledger.writer import LedgerWriter
    path = Path(mnt) / "state" / "ledger.sqlite3"
    reader = Ledger.open(path, SETTINGS, busy_timeout_ms=150)
    writer = LedgerWriter(lambda: reader, retry_s=0.05)
    out = {}
    run_request(writer, "0" * 16)
    out["free"] = writer.flush(10)
    filler = Path(mnt) / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    for i in range(1, 40):  # enough rows to need a new page of the WAL
        run_request(writer, f"{i:016d}", cost=0.5)
    out["full_flushed"] = writer.flush(10)
    out["full_notice"] = writer.take_notice()
    out["full_queued"] = writer.queued
    filler.unlink()
    run_request(writer, "a" * 16)
    out["freed_flushed"] = writer.flush(10)
    out["after_full"] = counts(path)
    writer.close(10)
    reader.close()
    subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)  # nothing open on it now
    opened = []

    def read_only_reader():
        if not opened:
            opened.append(Ledger.open(path, SETTINGS, busy_timeout_ms=150))
        return opened[0]

    second = LedgerWriter(read_only_reader, retry_s=0.05)
    run_request(second, "b" * 16)
    out["ro_flushed"] = second.flush(10)
    out["ro_notice"] = second.take_notice()
    out["ro_queued"] = second.queued
    out["ro_spent"] = second.spent_today()
    subprocess.run(["mount", "-o", "remount,rw", mnt], check=True)
    run_request(second, "c" * 16)
    out["rw_flushed"] = second.flush(10)
    second.close(10)
    opened[0].close()
    out["end"] = counts(path)
    out["written"] = writer.written + second.written
    out["lost"] = writer.lost + second.lost
    print(json.dumps(out))
''')


def test_a_full_disk_and_a_read_only_state_directory(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-Urm", "true"], capture_output=True).returncode:
        pytest.skip("no user namespaces here to mount a small tmpfs in")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    paths = [str(Path(__file__).parent), *sys.path]
    proc = subprocess.run(
        [unshare, "-Urm", sys.executable, "-c", _SCRIPT, str(mnt), json.dumps(paths)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["free"] is True
    assert out["full_flushed"] is False and out["full_queued"] > 0
    assert "full" in out["full_notice"] and "kept in memory" in out["full_notice"]
    assert out["freed_flushed"] is True and out["after_full"] == [41, 41]
    assert out["ro_flushed"] is False and out["ro_queued"] == 3
    assert "cannot" in out["ro_notice"] and "kept in memory" in out["ro_notice"]
    assert out["ro_spent"] == 0.001  # the kept attempt still counts for the budget
    assert out["rw_flushed"] is True
    assert out["end"] == [43, 43]  # every request that was run is in the ledger
    assert (out["written"], out["lost"]) == (3 * 43, 0)


# -- a write that fails in a way nobody foresaw --------------------------------------------------


async def test_a_row_that_fails_unexpectedly_is_lost_alone_and_nobody_waits_for_it(
    ledger_path: Path, writer_for: Callable[..., LedgerWriter]
) -> None:
    writer = writer_for()

    def broken(_: Ledger) -> None:
        raise RuntimeError("a bug in this row's write")

    writer.submit("1" * 16, broken)
    recorder = run_request(writer, "1" * 16)
    await asyncio.wait_for(recorder.settled(), 10)
    assert writer.flush(10)
    assert counts(ledger_path) == (1, 1)  # the rows after the broken one were written
    assert (writer.written, writer.lost) == (3, 1)


async def test_a_writer_thread_that_stops_releases_its_waiters_and_says_so() -> None:
    go = threading.Event()

    def reader() -> Ledger:
        go.wait(10)  # until a request waits for its rows
        raise RuntimeError("not a ledger error")  # escapes the writer's own handling

    writer = LedgerWriter(reader, retry_s=0.05)
    try:
        writer.submit("1" * 16, lambda led: None)
        waiting = asyncio.get_running_loop().create_task(writer.settled("1" * 16))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        go.set()
        await asyncio.wait_for(waiting, 5)  # released when the thread stops, by the thread
        notice = writer.take_notice()
        assert notice is not None and "writer stopped" in notice and "not recorded" in notice
        await asyncio.wait_for(writer.settled("1" * 16), 1)
        assert not writer.flush(0.5)
    finally:
        writer.close(1)
