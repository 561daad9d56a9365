"""The one path from buffer changes to an index: in version order, off the editor's path.

``didChange`` runs on the server's event loop: the buffer overlay takes the new text at once,
but re-parsing and re-extracting a large file takes milliseconds of mostly GIL-holding work.
:class:`IndexFeed` applies changes on its own thread once typing pauses for
:data:`QUIET_S` (a burst of keystrokes does not compete with the requests that follow each
one), or at once when a reader needs the index: readers :meth:`~IndexFeed.flush` first, so they
see every change made before they asked. Changes pass the version-ordering rule
(:func:`~lsp_server.context.documents.in_order`) first, so a start-up snapshot racing the
events is applied once. The server's index and the context process's index are both fed
this way.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path
from typing import Protocol

from lsp_server.context.documents import DocumentChange, Documents, in_order

# How long typing must pause before buffer changes are applied to the index unasked.
QUIET_S = 0.05


class ChangeSink(Protocol):
    """What the feed applies changes to (the project index)."""

    def update_document(self, change: DocumentChange) -> None:
        """Apply one change; log and recover, never raise."""


class IndexFeed:
    """Feeds one index from one :class:`Documents` (see the module docstring)."""

    def __init__(self, sink: ChangeSink, *, quiet_s: float = QUIET_S) -> None:
        self._sink = sink
        self._quiet_s = quiet_s
        self._queue: deque[DocumentChange] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._flushing = 0
        self._last_put = 0.0
        self._closed = False
        self._versions: dict[Path, int] = {}
        threading.Thread(target=self._run, name="index-feed", daemon=True).start()

    def follow(self, documents: Documents) -> None:
        """Hear of every change of ``documents`` from now on, after a snapshot of the open
        buffers (subscribed first: the ordering rule drops what the snapshot repeats)."""
        documents.subscribe(self.put)
        for path in documents.open_paths():
            doc = documents.get(path)
            if doc is not None:
                self.put(DocumentChange(doc.path, doc.text, doc.version, ()))

    def put(self, change: DocumentChange) -> None:
        with self._cond:
            if not self._closed:
                self._queue.append(change)
                self._last_put = time.monotonic()
                self._cond.notify_all()

    def flush(self) -> None:
        """Return once every change put so far is applied."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: self._closed or (not self._queue and not self._busy))
            finally:
                self._flushing -= 1

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()

    def _ordered(self, change: DocumentChange) -> DocumentChange | None:
        ordered = in_order(change, self._versions.get(change.path))
        if ordered is None:
            return None
        if ordered.closed:
            self._versions.pop(ordered.path, None)
        else:
            self._versions[ordered.path] = ordered.version
        return ordered

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or bool(self._queue))
                while not self._closed and not self._flushing:
                    quiet = time.monotonic() - self._last_put
                    if quiet >= self._quiet_s:
                        break
                    self._cond.wait(self._quiet_s - quiet)
                if self._closed:
                    return
                change = self._queue.popleft()
                self._busy = True
            try:
                ordered = self._ordered(change)
                if ordered is not None:
                    self._sink.update_document(ordered)  # logs and recovers, never raises
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
