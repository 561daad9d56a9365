"""Generated LSP traffic over stdio never kills the server or leaves it answering wrongly.

Each example sends a few messages: unknown methods, known methods with wrong parameter types,
positions and versions out of range, unknown and non-file URIs, huge and empty documents,
strings with lone UTF-16 surrogates, commands with missing or extra arguments, requests
cancelled right after they are sent, and frames whose body is not JSON, not UTF-8 or not a
JSON-RPC message. Every request must get a response (a result or an error), and after every
example a normal hover and code action listing must still work. The example count is bounded
for CI (``FUZZ_EXAMPLES``, default 150, the same inputs on every run); ``bench/fuzz_lsp.py``
runs it longer, with new inputs each time.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from raw_client import RawClient, frame

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ_RANDOM = os.environ.get("FUZZ_RANDOM") == "1"  # new inputs each run (the benchmark)
COMMANDS = ["agentic.ask", "agentic.explain", "agentic.runAction", "agentic.feedback",
            "agentic.showMetrics", "agentic.reindex", "agentic.unknown"]
DOC_METHODS = ["textDocument/hover", "textDocument/codeAction", "codeAction/resolve"]

Message = tuple[str, Any]  # ("request" | "notify" | "cancelled" | "raw", payload)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawClient]:
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "ws"
    shutil.copytree(EXAMPLES / "rust-crate", root)
    client = RawClient(root, base / "home")
    response = client.request("initialize", {
        "processId": None, "rootUri": root.as_uri(), "capabilities": {},
        "workspaceFolders": [{"uri": root.as_uri(), "name": "ws"}],
    }, timeout=60)
    assert "result" in response
    client.notify("initialized", {})
    assert_still_serving(client)
    yield client
    client.close()
    assert client.proc.returncode == 0


def assert_still_serving(client: RawClient) -> None:
    """A normal hover and a code action listing on the example crate still answer correctly
    (lib.rs reopened first: the generated traffic edits and closes its buffer too)."""
    lib = client.root / "src" / "lib.rs"
    client.notify("textDocument/didClose", {"textDocument": {"uri": lib.as_uri()}})
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": lib.as_uri(), "languageId": "rust", "version": 1, "text": lib.read_text()}})
    text = lib.read_text().split("\n")
    line = next(i for i, t in enumerate(text) if "fn total_area" in t)
    column = text[line].index("total_area")
    hover = client.request("textDocument/hover", {
        "textDocument": {"uri": lib.as_uri()}, "position": {"line": line, "character": column}})
    assert "total_area" in json.dumps(hover.get("result")), hover
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": lib.as_uri()},
        "range": {"start": {"line": line, "character": 0}, "end": {"line": line + 2, "character": 0}},
        "context": {"diagnostics": []}})
    assert isinstance(actions.get("result"), list) and actions["result"], actions


# -- what is generated ----------------------------------------------------------------------------

lone_surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
texts = st.one_of(st.text(max_size=40),
                  st.lists(st.one_of(st.characters(), lone_surrogates), max_size=20).map("".join))
numbers = st.one_of(st.integers(-3, 3), st.integers(-(2**31), 2**53), st.floats(allow_nan=False))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, texts),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def uris(draw: st.DrawFn) -> str:
    return draw(st.sampled_from([
        "file:///nonexistent/x.rs", "untitled:Untitled-1", "http://example.invalid/a.rs", "",
        "file://", "file:///%00", "file:///tmp/../../etc/passwd", "not a uri"]) | texts)


def positions() -> st.SearchStrategy[Any]:
    return st.one_of(st.fixed_dictionaries({"line": numbers, "character": numbers}), json_values)


def ranges() -> st.SearchStrategy[Any]:
    return st.one_of(st.fixed_dictionaries({"start": positions(), "end": positions()}), json_values)


def documents(root: Path) -> st.SearchStrategy[Any]:
    real = [(root / "src" / "lib.rs").as_uri(), (root / "src" / "units.rs").as_uri()]
    big = st.integers(1, 4).map(lambda n: "fn x() {}\n" * (50_000 * n))
    return st.one_of(st.sampled_from(real), uris()).flatmap(lambda uri: st.fixed_dictionaries({
        "uri": st.just(uri), "languageId": st.sampled_from(["rust", "python", "", "cobol"]),
        "version": numbers, "text": st.one_of(st.just(""), texts, big)}))


def messages(root: Path) -> st.SearchStrategy[Message]:
    lib = (root / "src" / "lib.rs").as_uri()
    doc_id = st.one_of(st.sampled_from([lib]), uris()).map(lambda u: {"uri": u})
    structured = st.one_of(
        st.tuples(st.sampled_from(DOC_METHODS), st.fixed_dictionaries({
            "textDocument": doc_id, "position": positions(), "range": ranges(),
            "context": st.one_of(json_values, st.just({"diagnostics": []}))})),
        st.tuples(st.just("workspace/executeCommand"), st.fixed_dictionaries({
            "command": st.sampled_from(COMMANDS),
            "arguments": st.lists(st.one_of(json_values, st.just(lib), ranges()), max_size=5)})),
        st.tuples(st.just("codeAction/resolve"), st.fixed_dictionaries({
            "title": texts, "data": st.fixed_dictionaries({
                "kind": st.sampled_from(["fix", "explain", "dance"]), "uri": doc_id,
                "range": ranges(), "version": numbers, "instruction": texts})})),
    )
    notifications = st.one_of(
        st.tuples(st.just("textDocument/didOpen"), st.fixed_dictionaries({
            "textDocument": documents(root)})),
        st.tuples(st.just("textDocument/didChange"), st.fixed_dictionaries({
            "textDocument": st.fixed_dictionaries({"uri": st.sampled_from([lib]) | uris(),
                                                   "version": numbers}),
            "contentChanges": st.lists(st.one_of(
                st.fixed_dictionaries({"range": ranges(), "text": texts}),
                st.fixed_dictionaries({"text": texts}), json_values), max_size=3)})),
        st.tuples(st.just("textDocument/didClose"), st.fixed_dictionaries({
            "textDocument": doc_id})),
        st.tuples(st.just("workspace/didChangeConfiguration"), st.fixed_dictionaries({
            "settings": st.one_of(json_values, st.fixed_dictionaries({
                "agenticOptimizer": st.dictionaries(
                    st.sampled_from(["budget", "routing", "context", "hover", "privacy"]),
                    json_values, max_size=2)}))})),
    )
    junk_method = st.tuples(texts, json_values)
    raw = st.one_of(
        st.binary(max_size=64).filter(lambda b: not b.strip().startswith((b"{", b"["))),
        st.just(b"\xff\xfe{\"jsonrpc\": \"2.0\"}"),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.just(b'{"jsonrpc": "2.0", "id": 99999}'),
        st.just(b'{"jsonrpc": "2.0", "method": 7, "id": "x"}'),
    )
    return st.one_of(
        st.tuples(st.just("request"), structured | junk_method),
        st.tuples(st.just("cancelled"), structured),
        st.tuples(st.just("notify"), notifications | junk_method),
        st.tuples(st.just("raw"), raw),
    )


# -- the test -------------------------------------------------------------------------------------

TRIED: list[int] = [0]


def send(client: RawClient, message: Message) -> int | None:
    """Send one generated message; the id a response must come back for, if any."""
    kind, payload = message
    if kind == "raw":
        client.send_raw(frame(payload))
        return None
    method, params = payload
    if kind == "notify":
        client.notify(method, params)
        return None
    msg_id = client.new_id()
    client.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    if kind == "cancelled":
        client.notify("$/cancelRequest", {"id": msg_id})
    return msg_id


# No shrinking: one example drives a live server, so shrinking a failure would take minutes;
# the failing batch is printed as drawn.
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=not FUZZ_RANDOM,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_traffic_never_kills_the_server(server: RawClient, data: st.DataObject) -> None:
    batch = data.draw(st.lists(messages(server.root), min_size=1, max_size=5))
    pending = [i for i in (send(server, m) for m in batch) if i is not None]
    for msg_id in pending:
        response = server.wait_for(msg_id, timeout=60)
        assert ("result" in response) != ("error" in response), response
    TRIED[0] += len(batch)
    assert server.proc.poll() is None
    assert_still_serving(server)


def test_a_request_whose_parameters_do_not_fit_gets_an_error(server: RawClient) -> None:
    # pygls drops such a message; the editor would wait for its answer forever.
    response = server.request("codeAction/resolve", {"data": {"kind": "fix"}})  # no title
    assert response["error"]["code"] == -32602
    assert "codeAction/resolve" in response["error"]["message"]
    response = server.request("textDocument/hover", {"textDocument": {}, "position": "here"})
    assert response["error"]["code"] == -32602
    assert_still_serving(server)


def test_the_fuzzed_server_shuts_down_cleanly(server: RawClient,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # Runs after the generated traffic (same module-scoped server): report how much was sent.
    with capsys.disabled():
        print(f"\nLSP fuzzing: {TRIED[0]} generated messages, the server kept serving")
    assert_still_serving(server)
