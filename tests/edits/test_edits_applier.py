"""The applier: parsed edits become exact text edits on the text as read, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsp_server.config import Settings, parse_settings
from lsp_server.edits import (
    DefinitionReplace,
    SearchReplace,
    TextEdit,
    apply_detailed,
    apply_edits,
    disk_reader,
    unified_diff,
)
from lsp_server.errors import EditApplyError, UnsafeEditError

ROOT = Path("/nonexistent-workspace")  # the applier reads through read_text; safety only resolves
DEFAULTS = Settings()

PY = '''\
import math


class Circle:
    """A circle."""

    def __init__(self, r):
        self.r = r

    @property
    def area(self):
        # pi r squared
        return math.pi * self.r ** 2


def area(shape):
    return shape.area
'''

RS = '''\
pub struct Circle {
    r: f64,
}

impl Circle {
    /// The area.
    #[inline]
    pub fn area(&self) -> f64 {
        3.14 * self.r * self.r
    }
}

pub fn area(c: &Circle) -> f64 {
    c.area()
}
'''


def apply_one(files: dict[str, str], *edits: SearchReplace | DefinitionReplace) -> dict[str, str]:
    """The new text of each changed file."""
    return {c.path: c.new_text for c in apply_edits(edits, files.get, root=ROOT, settings=DEFAULTS)}


# --- search/replace -----------------------------------------------------------------------


def test_exact_replace_changes_only_that_line_and_trims_the_text_edit() -> None:
    edit = SearchReplace("geo.py", "    def __init__(self, r):\n        self.r = r\n",
                         "    def __init__(self, r):\n        self.r = float(r)\n")
    [change] = apply_edits([edit], {"geo.py": PY}.get, root=ROOT, settings=DEFAULTS)
    assert change.new_text == PY.replace("self.r = r\n", "self.r = float(r)\n")
    start = PY.index("        self.r = r\n")
    assert change.edits == [TextEdit("geo.py", start, start + len("        self.r = r\n"),
                                     "        self.r = float(r)\n")]
    assert change.old_text == PY and not change.created


def test_misindented_block_is_reindented_to_the_file() -> None:
    edit = SearchReplace("geo.py", "def __init__(self, r):\n    self.r = r\n",
                         "def __init__(self, r):\n    assert r >= 0\n    self.r = r\n")
    applied = apply_detailed([edit], {"geo.py": PY}.get, root=ROOT, settings=DEFAULTS)
    assert applied.changes[0].new_text == PY.replace(
        "        self.r = r\n", "        assert r >= 0\n        self.r = r\n")
    assert applied.anchors[0].method == "whitespace"


def test_crlf_file_keeps_crlf() -> None:
    crlf = PY.replace("\n", "\r\n")
    new = apply_one({"geo.py": crlf}, SearchReplace("geo.py", "import math\n", "import math\nimport sys\n"))
    assert new["geo.py"] == crlf.replace("import math\r\n", "import math\r\nimport sys\r\n")


def test_last_line_without_newline_stays_without() -> None:
    new = apply_one({"a.py": "x = 1\ny = 2"}, SearchReplace("a.py", "y = 2\n", "y = 3\n"))
    assert new == {"a.py": "x = 1\ny = 3"}


def test_form_feed_line_is_replaced_with_its_line_end() -> None:
    text = "a = 1\n\x0c\ndef f():\n    pass\n"
    new = apply_one({"a.py": text}, SearchReplace("a.py", "a = 1\n\x0c\n", "a = 2\n"))
    assert new == {"a.py": "a = 2\ndef f():\n    pass\n"}


def test_several_edits_across_files_and_anchors_in_answer_order() -> None:
    edits = [
        SearchReplace("b.py", "b = 1\n", "b = 2\n"),
        SearchReplace("a.py", "z = 3\n", "z = 4\n"),
        SearchReplace("a.py", "x = 1\n", "x = 0\n"),
    ]
    files = {"a.py": "x = 1\ny = 2\nz = 3\n", "b.py": "b = 1\n"}
    applied = apply_detailed(edits, files.get, root=ROOT, settings=DEFAULTS)
    assert {c.path: c.new_text for c in applied.changes} == {"b.py": "b = 2\n", "a.py": "x = 0\ny = 2\nz = 4\n"}
    assert [(a.path, a.start) for a in applied.anchors] == [("b.py", 0), ("a.py", 12), ("a.py", 0)]


def test_adjacent_edits_apply_and_overlapping_edits_refuse_everything() -> None:
    files = {"a.py": "x = 1\ny = 2\nz = 3\n"}
    adjacent = [SearchReplace("a.py", "x = 1\n", "x = 9\n"), SearchReplace("a.py", "y = 2\n", "y = 9\n")]
    assert apply_one(files, *adjacent) == {"a.py": "x = 9\ny = 9\nz = 3\n"}
    overlapping = [SearchReplace("a.py", "x = 1\ny = 2\n", "q\n"), SearchReplace("a.py", "y = 2\nz = 3\n", "r\n")]
    with pytest.raises(EditApplyError, match="edits 1 and 2 change overlapping lines"):
        apply_edits(overlapping, files.get, root=ROOT, settings=DEFAULTS)


def test_one_bad_anchor_refuses_the_whole_answer() -> None:
    edits = [SearchReplace("a.py", "x = 1\n", "x = 2\n"), SearchReplace("a.py", "nothing_like_this()\n", "\n")]
    with pytest.raises(EditApplyError, match=r"a\.py: the SEARCH text is not in the file"):
        apply_edits(edits, {"a.py": "x = 1\n"}.get, root=ROOT, settings=DEFAULTS)


def test_ambiguous_anchor_is_refused() -> None:
    with pytest.raises(EditApplyError, match="matches 2 times"):
        apply_edits([SearchReplace("a.py", "pass\n", "return\n")], {"a.py": "pass\npass\n"}.get,
                    root=ROOT, settings=DEFAULTS)


def test_replacing_with_identical_text_makes_no_text_edit() -> None:
    [change] = apply_edits([SearchReplace("a.py", "x = 1\n", "x = 1\n")], {"a.py": "x = 1\n"}.get,
                           root=ROOT, settings=DEFAULTS)
    assert change.edits == [] and change.new_text == change.old_text


# --- creating files -----------------------------------------------------------------------


def test_empty_search_creates_a_missing_file() -> None:
    applied = apply_detailed([SearchReplace("pkg/new.py", "", "X = 1\n")], {}.get, root=ROOT, settings=DEFAULTS)
    [change] = applied.changes
    assert (change.path, change.old_text, change.new_text, change.created) == ("pkg/new.py", "", "X = 1\n", True)
    assert change.edits == [TextEdit("pkg/new.py", 0, 0, "X = 1\n")]
    assert applied.anchors[0].method == "create"
    assert unified_diff(applied.changes).startswith("--- /dev/null\n+++ b/pkg/new.py\n")


def test_empty_search_fills_an_empty_file_but_not_a_full_one() -> None:
    assert apply_one({"a.py": "\n"}, SearchReplace("a.py", "", "X = 1\n")) == {"a.py": "X = 1\n"}
    with pytest.raises(EditApplyError, match="the file exists; an empty SEARCH can only create a file"):
        apply_one({"a.py": "y = 0\n"}, SearchReplace("a.py", "", "X = 1\n"))


def test_search_in_a_missing_file_is_refused() -> None:
    with pytest.raises(EditApplyError, match="no such file"):
        apply_one({}, SearchReplace("a.py", "x = 1\n", "x = 2\n"))


# --- whole definitions --------------------------------------------------------------------


def test_python_method_keeps_its_decorator_and_indentation() -> None:
    body = "def area(self):\n    return math.pi * self.r * self.r\n"
    new = apply_one({"geo.py": PY}, DefinitionReplace("geo.py", "Circle.area", body))
    assert new["geo.py"] == PY.replace(
        "    def area(self):\n        # pi r squared\n        return math.pi * self.r ** 2\n",
        "    def area(self):\n        return math.pi * self.r * self.r\n",
    )


def test_python_replacement_with_decorator_replaces_the_decorator() -> None:
    body = "@functools.cached_property\ndef area(self):\n    return 0\n"
    new = apply_one({"geo.py": PY}, DefinitionReplace("geo.py", "Circle.area", body))
    assert "    @functools.cached_property\n    def area(self):\n        return 0\n" in new["geo.py"]
    assert "@property" not in new["geo.py"]


def test_rust_method_keeps_doc_and_attribute_unless_replaced() -> None:
    body = "pub fn area(&self) -> f64 {\n    std::f64::consts::PI * self.r * self.r\n}\n"
    new = apply_one({"src/lib.rs": RS}, DefinitionReplace("src/lib.rs", "Circle::area", body))
    assert new["src/lib.rs"] == RS.replace(
        "        3.14 * self.r * self.r\n", "        std::f64::consts::PI * self.r * self.r\n")
    with_doc = "/// Pi r squared.\n" + body
    new = apply_one({"src/lib.rs": RS}, DefinitionReplace("src/lib.rs", "Circle::area", with_doc))
    assert "    /// Pi r squared.\n    pub fn area" in new["src/lib.rs"]
    assert "/// The area." not in new["src/lib.rs"] and "#[inline]" not in new["src/lib.rs"]


def test_unqualified_name_that_matches_two_definitions_is_refused() -> None:
    with pytest.raises(EditApplyError, match=r"'area' names 2 definitions \(Circle::area, area\); qualify it"):
        apply_one({"src/lib.rs": RS}, DefinitionReplace("src/lib.rs", "area", "fn area() {}\n"))


def test_unknown_definition_and_unsupported_language_are_refused() -> None:
    with pytest.raises(EditApplyError, match="no definition named 'volume'"):
        apply_one({"geo.py": PY}, DefinitionReplace("geo.py", "volume", "def volume(): pass\n"))
    with pytest.raises(EditApplyError, match="only be replaced in Rust or Python"):
        apply_one({"a.txt": "x\n"}, DefinitionReplace("a.txt", "x", "y\n"))


# --- safety and size ----------------------------------------------------------------------


def test_unsafe_path_and_oversized_edit_are_refused() -> None:
    with pytest.raises(UnsafeEditError, match="outside the workspace root"):
        apply_one({"../x.py": "a\n"}, SearchReplace("../x.py", "a\n", "b\n"))
    small = parse_settings({"edits": {"max_edit_bytes": 8}})
    with pytest.raises(UnsafeEditError, match=r"over edits\.max_edit_bytes = 8"):
        apply_edits([SearchReplace("a.py", "a\n", "0123456789\n")], {"a.py": "a\n"}.get, root=ROOT, settings=small)


def test_no_edits_is_an_error() -> None:
    with pytest.raises(EditApplyError, match="holds no edits"):
        apply_edits([], {}.get, root=ROOT, settings=DEFAULTS)


def test_disk_reader_keeps_line_ends_and_reports_missing_and_binary(tmp_path: Path) -> None:
    (tmp_path / "crlf.py").write_bytes(b"x = 1\r\n")
    (tmp_path / "bin.dat").write_bytes(b"\xff\xfe\x00")
    read = disk_reader(tmp_path)
    assert read("crlf.py") == "x = 1\r\n"
    assert read("missing.py") is None
    with pytest.raises(EditApplyError, match=r"bin.dat: cannot be read as UTF-8 text \(UnicodeDecodeError\)"):
        read("bin.dat")


# --- properties ---------------------------------------------------------------------------

# Any characters but line ends: form feeds and Unicode separators are inside a line.
_LINE = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12)
_TEXTS = st.lists(_LINE, min_size=1, max_size=12)


@st.composite
def _unique_search(draw: st.DrawFn) -> tuple[str, str, str]:
    lines = draw(_TEXTS)
    first = draw(st.integers(0, len(lines) - 1))
    last = draw(st.integers(first, len(lines) - 1))
    text = "".join(line + "\n" for line in lines)
    search = "".join(line + "\n" for line in lines[first : last + 1])
    replace = "".join(line + "\n" for line in draw(st.lists(_LINE, max_size=4)))
    return text, search, replace


@settings(max_examples=200, deadline=None)
@given(_unique_search(), st.booleans())
def test_unique_search_replaces_exactly_that_occurrence(case: tuple[str, str, str], crlf: bool) -> None:
    text, search, replace = case
    # Anchors match whole lines and may overlap ("0\n0\n" is twice in "0\n0\n0\n").
    at_line_starts = [i for i in range(len(text)) if text.startswith(search, i)
                      and (i == 0 or text[i - 1] == "\n")]
    if not search.strip() or len(at_line_starts) != 1:
        return  # blank or repeated anchors are other tests' business
    i = text.index(search)
    expected = text[:i] + replace + text[i + len(search):]
    if crlf:
        text, expected = text.replace("\n", "\r\n"), expected.replace("\n", "\r\n")
    applied = apply_detailed([SearchReplace("f.txt", search, replace)], {"f.txt": text}.get,
                             root=ROOT, settings=DEFAULTS)
    assert applied.anchors[0].method == "exact"
    assert applied.changes[0].new_text == expected
