"""The documents overlay applies editor changes exactly, in every position encoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_server.context.documents import ByteEdit, DocumentChange, Documents, TextChange, in_order
from lsp_server.errors import EditApplyError
from lsp_server.text import Position, Span, offset_at, position_at


def _span(l1: int, c1: int, l2: int, c2: int) -> Span:
    return Span(Position(l1, c1), Position(l2, c2))


def test_unsaved_text_wins_over_disk(tmp_path: Path) -> None:
    f = tmp_path / "a.rs"
    f.write_text("fn a() {}\n")
    docs = Documents()
    assert docs.text(f) == "fn a() {}\n"
    docs.open(f, "fn b() {}\n", 1)
    assert docs.text(f) == "fn b() {}\n"
    docs.close(f)
    assert docs.text(f) == "fn a() {}\n"


def test_incremental_changes_apply_in_order_and_report_byte_edits(tmp_path: Path) -> None:
    seen: list[DocumentChange] = []
    docs = Documents()
    docs.subscribe(seen.append)
    f = tmp_path / "m.py"
    docs.open(f, "x = 1\ny = 2\n", 1)
    docs.change(f, [TextChange("42", _span(1, 4, 1, 5)), TextChange("z = 3\n", _span(2, 0, 2, 0))], 2)
    assert docs.text(f) == "x = 1\ny = 42\nz = 3\n"
    assert docs.version(f) == 2
    edit = seen[-1].edits[0]
    assert (edit.start_byte, edit.old_end_byte, edit.new_end_byte) == (10, 11, 12)
    assert edit.start_point == (1, 4) and edit.new_end_point == (1, 6)


def test_utf16_positions_count_surrogate_pairs(tmp_path: Path) -> None:
    docs = Documents(encoding="utf-16")
    f = tmp_path / "e.py"
    docs.open(f, "s = '😀é'\n", 1)
    # '😀' is two UTF-16 units: character 7 is just after it.
    docs.change(f, [TextChange("!", _span(0, 7, 0, 7))], 2)
    assert docs.text(f) == "s = '😀!é'\n"
    edit = docs.change(f, [TextChange("", _span(0, 7, 0, 8))], 3).edits[0]
    assert docs.text(f) == "s = '😀é'\n"
    assert edit.start_byte == len("s = '😀".encode())


def test_utf8_and_utf32_encodings() -> None:
    text = "aé😀b\n"
    assert offset_at(text, Position(0, 3), "utf-8") == 2  # a(1) é(2)
    assert offset_at(text, Position(0, 3), "utf-32") == 3
    assert position_at(text, 3, "utf-16") == Position(0, 4)
    assert position_at(text, 3, "utf-8") == Position(0, 7)


def test_full_replacement_reports_no_incremental_edits(tmp_path: Path) -> None:
    docs = Documents()
    f = tmp_path / "f.rs"
    docs.open(f, "a", 1)
    event = docs.change(f, [TextChange("b", None)], 2)
    assert event.edits == () and docs.text(f) == "b"


def test_positions_past_the_end_clamp(tmp_path: Path) -> None:
    docs = Documents()
    f = tmp_path / "g.py"
    docs.open(f, "ab\ncd", 1)
    docs.change(f, [TextChange("X", _span(0, 99, 0, 99))], 2)
    assert docs.text(f) == "abX\ncd"
    docs.change(f, [TextChange("Y", _span(9, 0, 9, 0))], 3)
    assert docs.text(f) == "abX\ncdY"


def test_random_edits_keep_line_starts_and_byte_edits_exact(tmp_path: Path) -> None:
    """Incremental line starts and tree-sitter points equal a recomputation from scratch."""
    import random

    from lsp_server.text import line_starts, position_at

    rng = random.Random(7)
    alphabet = ["a", "é", "😀", "\n", "\r", "\r\n", " "]
    docs = Documents(encoding="utf-16")
    f = tmp_path / "r.txt"
    text = "".join(rng.choice(alphabet) for _ in range(200))
    docs.open(f, text, 1)
    for version in range(2, 400):
        cur = docs.text(f) or ""
        a, b = sorted(rng.randrange(len(cur) + 1) for _ in range(2))
        insert = "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))
        span = Span(position_at(cur, a), position_at(cur, b))
        event = docs.change(f, [TextChange(insert, span)], version)
        # The offsets the positions name may differ from a, b when they split a surrogate
        # pair or a CRLF; recompute the expected text from the positions themselves.
        starts = line_starts(cur)
        sa, sb = offset_at(cur, span.start, "utf-16", starts), offset_at(cur, span.end, "utf-16", starts)
        expected = cur[:sa] + insert + cur[sb:]
        assert docs.text(f) == expected
        doc = docs._docs[f.absolute()]
        assert doc.starts == line_starts(expected)
        edit = event.edits[0]
        assert edit.new_end_byte == len(expected[: sa + len(insert)].encode())
        head = expected[: sa + len(insert)]
        last = head.rfind("\n") + 1
        assert edit.new_end_point == (head.count("\n"), len(head[last:].encode()))
        before = cur[:sa]
        assert edit.start_point == (before.count("\n"), len(before[before.rfind("\n") + 1 :].encode()))


def _change(version: int, *, edits: bool = False, closed: bool = False) -> DocumentChange:
    edit = ByteEdit(0, 0, 1, (0, 0), (0, 0), (0, 1))
    return DocumentChange(Path("/w/a.rs"), f"text {version}", version, (edit,) if edits else (),
                          closed=closed)


def test_the_version_ordering_rule() -> None:
    # newer versions apply; a repeat or an older one (a snapshot racing an event) is skipped
    newer = _change(3, edits=True)
    assert in_order(newer, 2) is newer
    assert in_order(_change(3), 3) is None
    assert in_order(_change(2, edits=True), 3) is None
    # edits against a version the copy never saw become the whole text
    first = in_order(_change(5, edits=True), None)
    assert first is not None and first.edits == () and first.text == "text 5" and first.version == 5
    # a whole-text change needs no rewriting; a close always applies
    whole = _change(1)
    assert in_order(whole, None) is whole
    closed = _change(-1, closed=True)
    assert in_order(closed, 7) is closed


def test_text_for_an_edit_is_never_read_through_replacement_characters(tmp_path: Path) -> None:
    latin1 = tmp_path / "legacy.rs"
    latin1.write_bytes(b"// caf\xe9\nfn f() {}\n")
    docs = Documents()
    assert docs.text(latin1) == "// caf\ufffd\nfn f() {}\n"  # fine for reading context
    with pytest.raises(EditApplyError, match=r"legacy.rs is not UTF-8 text \(byte 0xe9 on line 1\)"):
        docs.text_for_edit(latin1)
    docs.open(latin1, "// café\nfn f() {}\n", 1)  # the editor decoded it: its buffer is the text
    assert docs.text_for_edit(latin1) == "// café\nfn f() {}\n"
    assert docs.text_for_edit(tmp_path / "missing.rs") is None
