"""Ledger writes on one thread, in order, kept in memory while the ledger cannot take them.

The pipeline runs on the server's event loop, and a ledger write can wait out SQLite's busy
timeout (10 s) when another process holds the file. :class:`LedgerWriter` takes each write as a
closure, queues it, and one thread applies the queue in order on its own connection, so the
start, attempts and finish of a request land in the order they were made and the loop never
waits. Each row carries the moment it was made, not the moment it is written.

When a write fails because the ledger is unavailable (locked past the busy timeout, read-only,
disk full, damaged, or it cannot be opened at all) the writes stay queued, at most ``limit``
of them, and are tried again when the next write comes or after ``retry_s``; the user is told
once per such episode (:meth:`take_notice`). Writes beyond the limit are not kept and are
counted as lost. A write the ledger refuses for good (a constraint, an unknown request), or
that fails with an error nobody foresaw, is logged and counted as lost too; the rows after it
are still written. Should the thread itself stop, every waiter is released and the user told.

The day's spend read for the budget (:meth:`spent_today`) is the ledger's figure plus the cost
of the attempts still queued, so it never misses a write made before it. A write that commits
while the figure is read may be counted twice for that moment: the budget errs on the safe side.
The team budget (:meth:`team_limit`) counts the queued attempts the same way. On a shared
ledger the figure comes from the database, so the writer thread reads it (after each pass and
every ``REFRESH_S``) and :meth:`spent_today` answers from that reading: a network query never
runs on the caller's thread, which is the server's event loop.

With a shared ledger there is a ``spool`` (:mod:`lsp_server.ledger.spool`): the rows that could
not be written are moved there, in order, instead of being held in memory, so they outlive the
process and no limit drops them; the spool is replayed before anything else once the ledger
answers again (also at the next start). Spooled rows count as written for :meth:`settled`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from lsp_server.errors import LedgerError, LedgerUnavailableError
from lsp_server.ledger.spool import RowOp, Spool
from lsp_server.ledger.store import Ledger
from lsp_server.ledger.team import TeamBudget, TeamGuard

log = logging.getLogger(__name__)

KEPT_LIMIT = 10_000  # queued writes kept while the ledger is unavailable
RETRY_S = 2.0  # how soon an unavailable ledger is tried again without a new write
REFRESH_S = 10.0  # how often a shared ledger's day spend is read again while idle

Write = Callable[[Ledger], object]


@dataclass(frozen=True, slots=True)
class _Op:
    request_id: str
    write: Write
    moment: datetime
    cost_usd: float  # what this write adds to the day's spend


class LedgerWriter:
    """Applies ledger writes in order on one thread (see the module docstring).

    ``reader`` returns the ledger the day's spend is read from (opening it on first use); the
    thread writes through another connection to the same file (:meth:`Ledger.another`),
    opened again while that fails.
    """

    def __init__(self, reader: Callable[[], Ledger], *, limit: int = KEPT_LIMIT,
                 retry_s: float = RETRY_S, spool: Spool | None = None) -> None:
        self._reader = reader
        self._spool = spool
        self.spooled = 0  # rows moved to the spool (this run)
        self.replayed = 0  # rows written from the spool (this run)
        self._limit = limit
        self._retry_s = retry_s
        self._cv = threading.Condition()
        self._queue: deque[_Op] = deque()
        self._ledger: Ledger | None = None
        self._failing: str | None = None  # why the last pass could not write
        self._told = False  # the user was told about this episode
        self._notices: list[str] = []
        self._waiters: list[tuple[str, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._closing = False
        self._busy = False
        self._passes = 0  # tries begun
        self.written = 0
        self.lost = 0
        self._team = TeamGuard(reader, self.waiting_cost)
        self._known: tuple[date, float] | None = None  # a shared ledger's day spend, as read
        self._refreshed = -REFRESH_S  # monotonic time of that reading
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()
        if spool is not None and len(spool):  # rows kept by an earlier run: replay them now
            with self._cv:
                self._cv.notify_all()

    # -- the caller's side -------------------------------------------------------------------

    def submit(self, request_id: str, write: Write, *, cost_usd: float = 0.0,
               moment: datetime | None = None) -> datetime:
        """Queue one write of ``request_id``; returns the moment it records."""
        op = _Op(request_id, write, moment or datetime.now(UTC), cost_usd)
        with self._cv:
            if self._closing:
                raise LedgerError("the ledger writer is closed")
            if len(self._queue) >= self._limit:
                self.lost += 1
                if self.lost == 1:
                    self._notices.append(
                        f"the ledger could not be written and {self._limit} rows are already "
                        "waiting; further requests are answered but not recorded")
                    log.error("ledger: %s rows waiting; dropping further rows", self._limit)
                return op.moment
            self._queue.append(op)
            self._cv.notify_all()
        return op.moment

    async def settled(self, request_id: str) -> None:
        """Return once the writes of ``request_id`` are written, or kept because the ledger is
        unavailable (never blocks the event loop)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cv:
            if not self._pending(request_id) or self._failing:
                return
            self._waiters.append((request_id, loop, future))
        await future

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued write is written (True), or a try that began after this
        call found the ledger unavailable (False)."""
        with self._cv:
            begun = self._passes
            self._cv.notify_all()
            return self._cv.wait_for(
                lambda: self._all_written() or not self._thread.is_alive() or (
                    self._failing is not None and not self._busy and self._passes > begun),
                timeout
            ) and self._all_written()

    def _all_written(self) -> bool:
        return not self._queue and not self._spool_waiting()

    def take_notice(self) -> str | None:
        """What the user should be told about the ledger, once; else None."""
        team = self._team.take_notice()
        with self._cv:
            if team:
                self._notices.append(team)
            if not self._notices:
                return None
            notice = "; ".join(self._notices)
            self._notices.clear()
            return notice

    def team_limit(self, request_id: str, cap_usd: float | None) -> TeamBudget | None:
        """The team budget for one request's calls (None without ``budget.team_daily_usd``)."""
        return None if cap_usd is None else TeamBudget(self._team, request_id, cap_usd)

    def waiting_cost(self) -> float:
        """USD of the attempts queued and not written yet, made today."""
        with self._cv:
            queued = list(self._queue)
        if not queued and (self._spool is None or not len(self._spool)):
            return 0.0
        reader = self._reader()
        today = reader.today()
        return (sum(op.cost_usd for op in queued if reader.day_of(op.moment) == today)
                + self._spooled_cost(reader))

    def spent_today(self) -> float:
        """USD spent today: the ledger's figure and the attempts not written yet."""
        if self._spool is not None:
            return self._shared_spent_today()
        with self._cv:
            queued = list(self._queue)
        try:
            reader = self._reader()
        except LedgerError as exc:
            log.info("ledger: cannot read today's spend (%s); counting this process's only", exc)
            return sum(op.cost_usd for op in queued)
        try:
            stored = reader.spent_today()
        except LedgerError as exc:  # opened before, unreachable now: the unwritten rows count
            log.info("ledger: cannot read today's spend (%s); counting this process's only", exc)
            stored = 0.0
        today = reader.today()
        return (stored + sum(op.cost_usd for op in queued if reader.day_of(op.moment) == today)
                + self._spooled_cost(reader))

    def _shared_spent_today(self) -> float:
        """A shared ledger's day spend as the writer thread last read it, plus the rows not
        written yet (queued or spooled); days in the system's zone, as the server's ledger."""
        with self._cv:
            queued = list(self._queue)
            known = self._known
        today = date.today()
        stored = known[1] if known is not None and known[0] == today else 0.0
        waiting = sum(op.cost_usd for op in queued if _local_day(op.moment) == today)
        spooled = 0.0
        if self._spool is not None:
            with contextlib.suppress(Exception):  # an unreadable spool adds nothing provable
                spooled = self._spool.cost_on(today, _local_day)
        return stored + waiting + spooled

    def _refresh(self) -> None:
        """Read a shared ledger's day spend (on the writer thread)."""
        self._refreshed = time.monotonic()
        try:
            ledger = self._open()
            if not ledger.shared:
                return
            figure = (ledger.today(), ledger.spent_today())
        except LedgerError:
            return  # unreachable: the last reading stands, the rows waiting are added
        with self._cv:
            self._known = figure

    def _spooled_cost(self, reader: Ledger) -> float:
        if self._spool is None:
            return 0.0
        try:
            return self._spool.cost_on(reader.today(), reader.day_of)
        except Exception:  # a spool that cannot be read adds nothing it could prove
            return 0.0

    @property
    def queued(self) -> int:
        with self._cv:
            return len(self._queue)

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued (one last try), then stop; what is left is counted as lost."""
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._thread.join(timeout)
        with self._cv:
            left = len(self._queue)
            self._queue.clear()
            self.lost += left
            self._wake_waiters()
        if left:
            log.error("ledger: %d rows could not be written before closing (%s)", left,
                      self._failing)
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        if self._spool is not None:
            self._spool.close()

    # -- the thread ---------------------------------------------------------------------------

    def _pending(self, request_id: str) -> bool:
        return any(op.request_id == request_id for op in self._queue)

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # a bug here must not leave requests waiting on a dead thread
            log.exception("ledger: the writer thread stopped")
            with self._cv:
                self._busy = False
                self._failing = f"the ledger writer stopped ({type(exc).__name__}: {exc})"
                self._notices.append(f"{self._failing}; requests are still answered but not "
                                     "recorded until the server is restarted")
                self._wake_waiters()
                self._cv.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._closing and not self._queue and not self._spool_waiting():
                    if self._spool is not None and (
                            time.monotonic() - self._refreshed >= REFRESH_S):
                        break
                    self._cv.wait(self._retry_s if self._spool is not None else None)
                if not self._queue and not self._spool_waiting():
                    if self._closing:
                        return
                    idle = True
                else:
                    idle = False
            if idle:  # a shared ledger's periodic reading
                self._refresh()
                continue
            with self._cv:
                closing = self._closing
                batch = list(self._queue)
                self._busy = True
                self._passes += 1
            done, failure = self._apply(batch)
            if failure is None and self._spool is not None:
                self._refresh()  # before the written rows leave the queue: never under-counted
            with self._cv:
                for _ in range(done):
                    self._queue.popleft()
                if failure is not None:
                    self._to_spool()
                self._busy = False
                self._note(failure)
                self._wake_waiters()
                self._cv.notify_all()
                if closing:
                    return
                if failure is not None:
                    self._wait_to_retry()

    def _wait_to_retry(self) -> None:
        """Wait for a new write, or ``retry_s`` (called under the condition)."""
        before = len(self._queue)
        self._cv.wait_for(lambda: self._closing or len(self._queue) != before, self._retry_s)

    def _spool_waiting(self) -> bool:
        """Whether spooled rows wait to be written (under the condition)."""
        if self._spool is None:
            return False
        try:
            return len(self._spool) > 0
        except Exception:
            return False

    def _to_spool(self) -> None:
        """Move the queued rows into the spool, in order, up to the first that cannot be
        kept there (under the condition); on a spool failure they stay in memory."""
        if self._spool is None:
            return
        moving: list[_Op] = []
        for op in self._queue:
            if not isinstance(op.write, RowOp):
                break
            moving.append(op)
        if not moving:
            return
        try:
            self._spool.add([(op.write, op.cost_usd, op.moment) for op in moving
                             if isinstance(op.write, RowOp)])
        except LedgerError as exc:
            log.warning("ledger: %s; the rows stay in memory", exc)
            return
        for _ in moving:
            self._queue.popleft()
        self.spooled += len(moving)

    def _replay(self, ledger: Ledger) -> str | None:
        """Write the spooled rows, oldest first; why not all could be, or None."""
        if self._spool is None:
            return None
        while True:
            rows = self._spool.head()
            if not rows:
                return None
            for seq, op in rows:
                try:
                    op(ledger)
                except LedgerUnavailableError as exc:
                    self._reopen_later()
                    return str(exc)
                except LedgerError as exc:
                    log.warning("ledger: a spooled row of request %s was refused: %s",
                                op.request_id, exc)
                    with self._cv:
                        self.lost += 1
                except Exception:  # a bug in this row's write: the row is lost, not the rest
                    log.exception("ledger: a spooled row of request %s could not be written",
                                  op.request_id)
                    with self._cv:
                        self.lost += 1
                else:
                    with self._cv:
                        self.replayed += 1
                self._spool.remove(seq)

    def _apply(self, batch: list[_Op]) -> tuple[int, str | None]:
        """Write the spool, then ``batch`` in order; how many of the batch are done (written or
        refused for good), and why the rest could not be written."""
        try:
            ledger = self._open()
        except LedgerError as exc:
            return 0, str(exc)
        failure = self._replay(ledger)
        if failure is not None:
            return 0, failure
        done = 0
        for op in batch:
            try:
                op.write(ledger)
            except LedgerUnavailableError as exc:
                self._reopen_later()
                return done, str(exc)
            except LedgerError as exc:  # refused for good: retrying would never succeed
                log.warning("ledger: a row of request %s was refused: %s", op.request_id, exc)
                with self._cv:
                    self.lost += 1
            except Exception:  # a bug in this row's write: the row is lost, not the rest
                log.exception("ledger: a row of request %s could not be written", op.request_id)
                with self._cv:
                    self.lost += 1
            else:
                with self._cv:
                    self.written += 1
            done += 1
        return done, None

    def _open(self) -> Ledger:
        if self._ledger is None:
            reader = self._reader()  # opened first: a damaged file is set aside there
            self._ledger = reader.another()
            with self._cv:
                self._notices.extend(n for n in (reader.rebuilt, self._ledger.rebuilt) if n)
        return self._ledger

    def _reopen_later(self) -> None:
        """Drop the connection after a failure: one opened while the file was read-only, or
        that hit a full disk, stays unable to write; the next try opens a new one."""
        if self._ledger is not None:
            with contextlib.suppress(LedgerError, sqlite3.Error):
                self._ledger.close()
            self._ledger = None

    def _note(self, failure: str | None) -> None:
        """Track the episode of failures (called under the condition)."""
        if failure is None:
            if self._failing is not None:
                log.warning("ledger: written again; the rows kept meanwhile are written")
            self._failing, self._told = None, False
            return
        self._failing = failure
        if not self._told:
            self._told = True
            message = (f"{failure}. Requests are still answered; their ledger rows are kept in "
                       f"memory (up to {self._limit}) and written when the ledger can take them")
            self._notices.append(message)
            log.warning("ledger: %s", message)

    def _wake_waiters(self) -> None:
        """Resolve the waiters whose writes are done, or all of them while failing (under the
        condition)."""
        keep = []
        for request_id, loop, future in self._waiters:
            if self._failing or not self._pending(request_id) or not self._thread.is_alive():
                _call_soon(loop, future)
            else:
                keep.append((request_id, loop, future))
        self._waiters = keep


def _call_soon(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _local_day(moment: datetime) -> date:
    return moment.astimezone().date()
