"""The editors read the server's payloads by the names ``lsp_server/wire.py`` gives them.

A renamed or misspelled field on either side would only show up in an editor as a status bar
that never updates or a feedback command that never finds "the last result". Here:

- ``vscode-extension/src/wire.ts`` mirrors the wire: each interface has exactly the fields of the
  TypedDict of the same name (optional where the TypedDict's key is), nested payloads by the same
  names; each argument tuple has the NamedTuple's fields in order. The extension reads payloads
  only through ``received<Interface>(...)`` (so the compiler holds the reads to the interface);
  every such read is checked here too.
- The Neovim plugin reads payloads through variables named for them (``spend``, ``result``,
  ``metrics``, ``stats``); every field it reads must exist in that payload's TypedDict.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple, get_args, get_type_hints, is_typeddict

import pytest

from lsp_server import wire

REPO = Path(__file__).resolve().parents[2]
TS_WIRE = REPO / "vscode-extension" / "src" / "wire.ts"
TS_READERS = [REPO / "vscode-extension" / "src" / n for n in ("results.ts", "status.ts", "extension.ts")]
LUA = REPO / "editors" / "neovim" / "agentic-optimizer.lua"
DOC = REPO / "docs" / "editors.md"

# The Neovim plugin's variable for each payload.
LUA_PAYLOADS = {"spend": "SpendParams", "result": "ResultJson", "metrics": "MetricsResult",
                "stats": "ReindexResult"}
# What the server sends and gets back unchanged, which clients need not read.
OPAQUE = {"ActionData"}
# LSP's own shapes, documented by the LSP specification.
LSP_SHAPES = {"Position", "Range"}


def typeddicts() -> dict[str, type]:
    return {name: obj for name, obj in vars(wire).items() if is_typeddict(obj)}


def argument_tuples() -> dict[str, type[NamedTuple]]:
    return {name: obj for name, obj in vars(wire).items()
            if isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields")}


def nested(hint: Any) -> set[str]:
    """Names of the TypedDicts a type hint refers to (``list[Attempt]`` → {"Attempt"})."""
    if is_typeddict(hint):
        return {hint.__name__}
    found: set[str] = set()
    for arg in get_args(hint):
        found |= nested(arg)
    return found


class TsField(NamedTuple):
    optional: bool
    type: str


def ts_interfaces(source: str) -> dict[str, dict[str, TsField]]:
    out: dict[str, dict[str, TsField]] = {}
    for name, body in re.findall(r"export interface (\w+) \{\n(.*?)\n\}", source, re.S):
        fields = re.findall(r"^\s+(\w+)(\??): (.+);$", body, re.M)
        assert fields, f"interface {name}: no fields read"
        out[name] = {f: TsField(bool(q), t) for f, q, t in fields}
    return out


def ts_tuples(source: str) -> dict[str, list[str]]:
    return {name: re.findall(r"(\w+): ", body)
            for name, body in re.findall(r"export type (\w+) = \[(.*)\];", source)}


def ts_reads(source: str) -> list[tuple[str, str]]:
    """(interface, field) for every field read from ``received<Interface>(...)``: through a
    variable bound to it, or at once (``received<X>(v)?.field``)."""
    reads = re.findall(r"received<(\w+)>\([^()]*\)\??\.(\w+)", source)
    for var, iface in re.findall(r"const (\w+) = received<(\w+)>\(", source):
        reads += [(iface, f) for f in re.findall(rf"(?<![.\w]){var}\??\.(\w+)", source)]
    return reads


def lua_reads(source: str) -> list[tuple[str, str]]:
    code = "\n".join(line.split("--", 1)[0] for line in source.splitlines())
    names = "|".join(LUA_PAYLOADS)
    pattern = rf"(?<![.\w])({names})(?:\.(\w+)|\[['\"](\w+)['\"]\])"
    return [(LUA_PAYLOADS[var], dot or key) for var, dot, key in re.findall(pattern, code)]


def unknown_fields(reads: list[tuple[str, str]]) -> list[str]:
    known = typeddicts()
    return sorted({f"{payload}.{field}" for payload, field in reads
                   if payload not in known or field not in get_type_hints(known[payload])})


def test_ts_interfaces_mirror_the_typeddicts() -> None:
    interfaces = ts_interfaces(TS_WIRE.read_text(encoding="utf-8"))
    known = typeddicts()
    assert set(interfaces) == set(known) - OPAQUE
    for name, fields in interfaces.items():
        hints = get_type_hints(known[name])
        assert set(fields) == set(hints), f"{name}: wire.ts and wire.py differ"
        optional = {f for f, ts in fields.items() if ts.optional}
        assert optional == set(known[name].__optional_keys__), f"{name}: optional fields differ"
        for field, ts in fields.items():
            refers = set(re.findall(r"\b[A-Z]\w*", ts.type)) & set(interfaces)
            assert refers == nested(hints[field]), f"{name}.{field}: nested payloads differ"


def test_ts_argument_tuples_mirror_the_named_tuples() -> None:
    tuples = ts_tuples(TS_WIRE.read_text(encoding="utf-8"))
    assert tuples, "wire.ts declares no argument tuples"
    named = argument_tuples()
    for name, labels in tuples.items():
        assert name in named, f"wire.ts {name}: no such NamedTuple in lsp_server/wire.py"
        assert labels == list(named[name]._fields), f"{name}: arguments differ"


@pytest.mark.parametrize("path", TS_READERS, ids=lambda p: p.name)
def test_ts_reads_only_wire_fields(path: Path) -> None:
    assert unknown_fields(ts_reads(path.read_text(encoding="utf-8"))) == []


def test_the_extension_reads_what_it_needs() -> None:
    reads = set()
    for path in TS_READERS:
        reads |= set(ts_reads(path.read_text(encoding="utf-8")))
    assert {("SpendParams", "request_id"), ("ResultJson", "request_id"),
            ("ResolvedActionData", "request_id"), ("MetricsResult", "text")} <= reads


def test_neovim_reads_only_wire_fields() -> None:
    reads = lua_reads(LUA.read_text(encoding="utf-8"))
    for payload in LUA_PAYLOADS.values():
        assert any(p == payload for p, _ in reads), f"the plugin reads no field of {payload}"
    assert ("SpendParams", "request_id") in reads
    assert unknown_fields(reads) == []


def test_a_misspelled_field_is_caught() -> None:
    lua = "local function f(spend)\n  return spend.spent_usd, spend.saved_usdd, spend['requets']\nend\n"
    assert unknown_fields(lua_reads(lua)) == ["SpendParams.requets", "SpendParams.saved_usdd"]
    ts = "const p = received<SpendParams>(x);\nreturn p.requestId ?? received<ResultJson>(y)?.cost;"
    assert unknown_fields(ts_reads(ts)) == ["ResultJson.cost", "SpendParams.requestId"]


def test_nested_payloads_are_found() -> None:
    hints = get_type_hints(wire.ResultJson)
    assert nested(hints["attempts"]) == {"Attempt"}
    assert nested(get_type_hints(wire.Attempt)["usage"]) == {"Usage"}
    assert nested(hints["answer"]) == set()


def test_the_guide_lists_every_payload_field() -> None:
    """docs/editors.md has a table per payload under "#### `Name`", one row per field."""
    doc = DOC.read_text(encoding="utf-8")
    for name, td in typeddicts().items():
        if name in LSP_SHAPES:
            continue
        section = re.search(rf"^#### `{name}`\n(.*?)(?=^#|\Z)", doc, re.S | re.M)
        assert section, f"docs/editors.md has no section for {name}"
        rows = re.findall(r"^\| `(\w+)` \|", section.group(1), re.M)
        assert rows == list(get_type_hints(td)), f"docs/editors.md {name}: fields differ"


def test_the_readme_lists_the_ask_json_fields() -> None:
    """README's `ask` row names every field `ask --json` prints (the commands' ResultJson)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `agentic-optimizer ask "))
    listed = set(re.findall(r"`(\w+)`", row.split("`--json` prints one object", 1)[1]))
    fields = {f for td in (wire.ResultJson, wire.Attempt, wire.Usage) for f in get_type_hints(td)}
    assert listed == fields
