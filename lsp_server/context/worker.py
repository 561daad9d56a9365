"""Context building in a separate process, so its CPU time never holds the server's GIL.

Ranking, PageRank and snippet selection are pure Python and numpy: run in a thread of the
language server they hold the GIL for most of their time, and the event loop that answers the
editor (code actions, hover, didChange) waits behind them. :class:`ContextWorker` runs them in
a child process instead. The child opens the same project index from the store (the server has
just written it, so nothing is re-parsed), keeps a mirror of the editor's buffers from the
:class:`~lsp_server.context.documents.Documents` events it is sent, builds and keeps its own
ranking tables, and answers build requests in the order they were sent, so a build sees every
buffer change sent before it.

The server side never blocks its caller: messages go through a queue to a sender thread, and
replies are read by a receiver thread that completes :class:`concurrent.futures.Future` objects.
If the child cannot start or dies, :meth:`ContextWorker.build` raises :class:`WorkerUnavailableError`
and the caller builds the context in its own process as before. A child that dies is started
again once (:data:`MAX_RESTARTS`), in the background, while the caller builds in-process; one
that dies again is not restarted (no crash loop), and contexts are built in-process from then on.
"""

from __future__ import annotations

import gc
import itertools
import logging
import multiprocessing
import os
import queue
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsp_server.config import Settings, SettingsSource
from lsp_server.context.documents import Document, DocumentChange, Documents, in_order

if TYPE_CHECKING:
    from lsp_server.context.rank.builder import ContextResult
    from lsp_server.context.rank.ranking import ContextRequest

log = logging.getLogger(__name__)

# Whatever the child is doing, a build that takes longer than this is given up on (and built
# in-process by the caller).
BUILD_TIMEOUT_S = 120.0
MAX_RESTARTS = 1  # a child that died is started again this many times in a worker's life


class WorkerUnavailableError(Exception):
    """The context process is not running (not started, failed, or closed)."""


@dataclass(frozen=True, slots=True)
class _Build:
    id: int
    request: ContextRequest
    budget_tokens: int
    for_cloud: bool


@dataclass(frozen=True, slots=True)
class _Settings:
    settings: Settings


@dataclass(frozen=True, slots=True)
class _Refresh:
    pass


@dataclass(frozen=True, slots=True)
class _Reply:
    id: int
    result: ContextResult | None
    error: str | None


_STOP = None


class ContextWorker:
    """The server's handle on the context process (see the module docstring)."""

    def __init__(self, root: Path, settings: SettingsSource, documents: Documents) -> None:
        self.root = root
        self._settings = settings
        self.documents = documents
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending: dict[int, Future[ContextResult]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._alive = False
        self._closed = False
        self._restarts = 0
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    @property
    def alive(self) -> bool:
        return self._alive

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        proc = self._process
        return proc.pid if proc is not None and self._alive else None

    @property
    def restarts(self) -> int:
        """How many times a dead child was started again."""
        return self._restarts

    def start(self) -> None:
        """Spawn the child and the two pipe threads; mirror the open buffers from now on."""
        self._spawn(subscribe=True)

    def _spawn(self, *, subscribe: bool) -> None:
        # spawn, not fork: this process runs threads (the event loop's pool, the index).
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=_child_main, args=(child, self.root, self._settings.current),
                           name="agentic-context", daemon=True)
        proc.start()
        child.close()
        outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        with self._lock:
            closed = self._closed
            if not closed:
                self._process, self._conn, self._outbox = proc, parent, outbox
                self._alive = True
        if closed:  # closed while a restart was starting this child
            proc.terminate()
            proc.join(timeout=2)
            parent.close()
            return
        if subscribe:
            self._settings.subscribe(self._settings_changed)
            # Subscribe before the snapshot: the child skips any change not newer than what it
            # has, so an event that races the snapshot is applied once, in version order.
            self.documents.subscribe(self._forward)
        for path in self.documents.open_paths():
            doc = self.documents.get(path)
            if doc is not None:
                outbox.put(DocumentChange(doc.path, doc.text, doc.version, ()))
        threading.Thread(target=self._send_loop, args=(parent, outbox), name="agentic-context-send",
                         daemon=True).start()
        threading.Thread(target=self._receive_loop, args=(parent,), name="agentic-context-receive",
                         daemon=True).start()
        log.info("context process started (pid %s)", proc.pid)

    def _forward(self, change: DocumentChange) -> None:
        if self._alive:
            self._outbox.put(change)

    def build(self, request: ContextRequest, *, budget_tokens: int,
              for_cloud: bool) -> Future[ContextResult]:
        """Queue a build; the future completes with the child's result (or its failure)."""
        fut: Future[ContextResult] = Future()
        with self._lock:
            if not self._alive:
                raise WorkerUnavailableError("the context process is not running")
            build_id = next(self._ids)
            self._pending[build_id] = fut
        self._outbox.put(_Build(build_id, request, budget_tokens, for_cloud))
        return fut

    def build_now(self, request: ContextRequest, *, budget_tokens: int,
                  for_cloud: bool) -> ContextResult:
        """:meth:`build` and wait (for worker threads; the wait releases the GIL)."""
        fut = self.build(request, budget_tokens=budget_tokens, for_cloud=for_cloud)
        try:
            return fut.result(timeout=BUILD_TIMEOUT_S)
        except TimeoutError:
            raise WorkerUnavailableError("the context process did not answer in time") from None

    def _settings_changed(self, old: Settings, new: Settings) -> None:
        if self._alive:
            self._outbox.put(_Settings(new))

    def refresh(self) -> None:
        """Bring the child's index in line with the disk (after the server's own refresh)."""
        if self._alive:
            self._outbox.put(_Refresh())

    def close(self) -> None:
        with self._lock:
            was_alive, self._alive = self._alive, False
            self._closed = True
        if was_alive:
            self._outbox.put(_STOP)
        proc = self._process
        if proc is not None:
            proc.join(timeout=2)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=2)
        self._fail_pending("the context process was closed")

    # -- the pipe threads ------------------------------------------------------------------------

    def _send_loop(self, conn: Connection, outbox: queue.SimpleQueue[Any]) -> None:
        while True:
            msg = outbox.get()
            try:
                conn.send(msg)
            except (OSError, ValueError) as exc:
                self._died(conn, f"could not send to the context process: {exc}")
                return
            if msg is _STOP:
                return

    def _receive_loop(self, conn: Connection) -> None:
        while True:
            try:
                reply: _Reply = conn.recv()
            except (EOFError, OSError) as exc:
                self._died(conn, f"the context process stopped: {exc or 'end of pipe'}")
                return
            with self._lock:
                fut = self._pending.pop(reply.id, None)
            if fut is None:
                continue
            if reply.result is not None:
                fut.set_result(reply.result)
            else:
                fut.set_exception(WorkerUnavailableError(reply.error or "the build failed"))

    def _died(self, conn: Connection, reason: str) -> None:
        """The child behind ``conn`` is gone: fail its builds, and start another once."""
        with self._lock:
            if conn is not self._conn:  # a child replaced already
                return
            was_alive, self._alive = self._alive, False
            restart = was_alive and not self._closed and self._restarts < MAX_RESTARTS
            if restart:
                self._restarts += 1
            outbox, proc = self._outbox, self._process
            # Said under the lock, so whoever sees the child gone also finds it said.
            if restart:
                log.warning("%s; starting it again (contexts are built in the server process "
                            "meanwhile)", reason)
            elif was_alive:
                log.warning("%s; contexts are built in the server process from now on", reason)
        self._fail_pending(reason)
        if restart:
            threading.Thread(target=self._restart, args=(outbox, proc),
                             name="agentic-context-restart", daemon=True).start()

    def _restart(self, old_outbox: queue.SimpleQueue[Any], old: BaseProcess | None) -> None:
        old_outbox.put(_STOP)  # ends the old sender thread
        if old is not None:
            old.join(timeout=2)
            if old.is_alive():
                old.terminate()
                old.join(timeout=2)
        with self._lock:
            if self._closed:
                return
        try:
            self._spawn(subscribe=False)
        except Exception:  # no new child: contexts are built in-process, as before
            log.warning("could not start the context process again; building contexts in the "
                        "server process from now on", exc_info=True)

    def _fail_pending(self, reason: str) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(WorkerUnavailableError(reason))


# -- the child process ---------------------------------------------------------------------------


class _Mirror(Documents):
    """The child's copy of the editor's buffers, fed whole :class:`DocumentChange` events.

    Each event carries the full new text and the byte edits from the previous version, so the
    child's index re-parses incrementally exactly as the server's does.
    """

    def apply(self, change: DocumentChange) -> None:
        path = change.path
        with self._lock:
            doc = self._docs.get(path)
            if change.closed and doc is None:
                return
            ordered = in_order(change, doc.version if doc is not None else None)
            if ordered is None:
                return
            if ordered.closed:
                del self._docs[path]
            else:
                self._docs[path] = Document(path, ordered.text, ordered.version)
        self._notify(ordered)


def _child_main(conn: Connection, root: Path, settings: Settings) -> None:
    # stdout is the server's protocol stream: nothing in this process may write to it.
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="agentic-context %(levelname)s %(name)s: %(message)s")
    from lsp_server.context.index.feed import IndexFeed
    from lsp_server.context.index.project import ProjectIndex
    from lsp_server.context.rank.builder import build_context
    from lsp_server.context.rank.ranking import tables_for

    docs = _Mirror()
    source = SettingsSource(settings)
    index = ProjectIndex.open(root, settings=source, documents=docs, workers=1)
    # No quiet period here: this process answers no editor, so a change is applied as soon as
    # it arrives, while the server is busy with the keystroke anyway, rather than later, when
    # the server may be answering a hover.
    feed = IndexFeed(index, quiet_s=0.0)
    feed.follow(docs)
    index.refresh()
    warmed = False
    while True:
        # Build the ranking tables while nothing is asked, so the first request finds them.
        if not warmed and not conn.poll(0):
            with tables_for(index):
                warmed = True
            # The index and tables live as long as the process: keep full collections off them.
            gc.collect()
            gc.freeze()
            continue
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg is _STOP:
            break
        if isinstance(msg, DocumentChange):
            docs.apply(msg)
        elif isinstance(msg, _Build):
            try:
                feed.flush()  # the build sees every change sent before it
                result = build_context(index, msg.request, budget_tokens=msg.budget_tokens,
                                       settings=source.current, for_cloud=msg.for_cloud)
                reply = _Reply(msg.id, result, None)
            except Exception as exc:  # the server falls back to building it itself
                logging.getLogger(__name__).exception("context build failed")
                reply = _Reply(msg.id, None, f"{type(exc).__name__}: {exc}")
            conn.send(reply)
        elif isinstance(msg, _Settings):
            source.replace(msg.settings)
        elif isinstance(msg, _Refresh):
            index.refresh()
    feed.close()
    index.close()
