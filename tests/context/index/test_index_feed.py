"""The one path from buffer changes to an index: ordered, debounced, flushed for readers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from lsp_server.context.documents import DocumentChange, Documents, TextChange
from lsp_server.context.index.feed import QUIET_S, IndexFeed
from lsp_server.text import Position, Span


class Recorder:
    """Stands in for the index: records what it is told, on the feed's thread."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int, bool]] = []
        self.threads: set[str] = set()

    def update_document(self, change: DocumentChange) -> None:
        self.threads.add(threading.current_thread().name)
        self.seen.append((change.path.name, change.version, bool(change.edits)))


def test_a_snapshot_racing_the_events_is_applied_once_in_version_order(tmp_path: Path) -> None:
    docs = Documents()
    a, b = tmp_path / "a.rs", tmp_path / "b.rs"
    docs.open(a, "fn a() {}\n", 1)
    docs.change(a, [TextChange("x", Span(Position(0, 0), Position(0, 0)))], 2)
    sink = Recorder()
    feed = IndexFeed(sink)
    try:
        feed.follow(docs)  # the snapshot: a.rs at version 2, whole text
        # the same version again (an event the snapshot already holds), then older ones
        feed.put(DocumentChange(a, "x", 2, ()))
        feed.put(DocumentChange(a, "old", 1, ()))
        docs.change(a, [TextChange("y", Span(Position(0, 0), Position(0, 0)))], 3)
        docs.open(b, "fn b() {}\n", 1)
        feed.flush()
        assert sink.seen == [("a.rs", 2, False), ("a.rs", 3, True), ("b.rs", 1, False)]
        assert sink.threads == {"index-feed"}
        docs.close(b)
        docs.open(b, "fn b2() {}\n", 1)  # reopened: version 1 applies again after the close
        feed.flush()
        assert sink.seen[-2:] == [("b.rs", -1, False), ("b.rs", 1, False)]
    finally:
        feed.close()


def test_changes_wait_for_a_pause_unless_a_reader_flushes(tmp_path: Path) -> None:
    sink = Recorder()
    feed = IndexFeed(sink, quiet_s=60.0)
    path = tmp_path / "a.rs"
    try:
        for version in range(1, 6):
            feed.put(DocumentChange(path, f"v{version}", version, ()))
        time.sleep(0.2)
        assert sink.seen == []  # typing has not paused for quiet_s: nothing applied yet
        feed.flush()
        assert [v for _, v, _ in sink.seen] == [1, 2, 3, 4, 5]
    finally:
        feed.close()
    feed.put(DocumentChange(path, "v6", 6, ()))
    feed.flush()  # closed: returns at once and applies nothing more
    assert sink.seen[-1][1] == 5


def test_changes_apply_unasked_once_typing_pauses(tmp_path: Path) -> None:
    sink = Recorder()
    feed = IndexFeed(sink)
    try:
        feed.put(DocumentChange(tmp_path / "a.rs", "v1", 1, ()))
        deadline = time.monotonic() + 10
        while not sink.seen and time.monotonic() < deadline:
            time.sleep(QUIET_S)
        assert sink.seen == [("a.rs", 1, False)]
    finally:
        feed.close()
