"""lsp_server.wire: what editors send is parsed into the typed payloads or refused with one
readable ConfigError; a result serialises to the documented keys; every field is documented."""

from __future__ import annotations

import ast
import inspect
from typing import Any, get_type_hints

import pytest

from lsp_server import wire
from lsp_server.assistant import AssistResult, DaySpend
from lsp_server.errors import ConfigError
from lsp_server.providers.base import Usage
from lsp_server.routing.attempts import AttemptInfo

URI = "file:///ws/src/lib.rs"
RANGE = {"start": {"line": 3, "character": 0}, "end": {"line": 5, "character": 2}}
DIAG = {"message": "unused variable", "source": "rustc", "code": "unused_variables",
        "range": RANGE}
DATA = {"kind": "fix", "instruction": "Fix it", "uri": URI, "range": RANGE, "version": 4,
        "diagnostics": [DIAG]}


def test_arguments_parse_into_the_typed_payloads() -> None:
    assert wire.parse_ask_args([URI, RANGE, " add a test "]) == (URI, RANGE, "add a test")
    assert wire.parse_explain_args([URI, RANGE]).range == RANGE
    assert wire.parse_run_action_args([DATA]).data == DATA
    # A message alone (a client that builds the data itself), and a numeric code, are accepted.
    loose = wire.parse_action_data({**DATA, "diagnostics": ["unused", {"message": "m", "code": 7}]})
    assert loose["diagnostics"] == [
        {"message": "unused", "source": None, "code": None, "range": None},
        {"message": "m", "source": None, "code": "7", "range": None}]
    assert wire.parse_action_data({k: v for k, v in DATA.items()
                                   if k not in ("version", "diagnostics")})["diagnostics"] == []
    assert wire.parse_feedback_args(["abc123", "accept"]) == ("abc123", "accept")
    assert wire.parse_feedback_args(["abc123", 3]).verdict == 3
    assert wire.parse_feedback_args(["abc123", "4"]).verdict == 4
    wire.parse_no_args(wire.REINDEX, [])


@pytest.mark.parametrize(("parse", "args", "message"), [
    (wire.parse_ask_args, [URI, RANGE], "agentic.ask expects (uri, range, instruction): got 2"),
    (wire.parse_ask_args, [None, RANGE, "x"], "the first argument is a document URI"),
    (wire.parse_ask_args, [URI, "1:2", "x"], "expected an LSP range {start, end}, got '1:2'"),
    (wire.parse_ask_args, [URI, {"start": {"line": True, "character": 0}, "end": RANGE["end"]},
                           "x"], "expected an LSP position"),
    (wire.parse_ask_args, [URI, {"start": RANGE["end"], "end": RANGE["start"]}, "x"],
     "the range ends before it starts"),
    (wire.parse_explain_args, [URI, {"start": {"line": -1, "character": 0}, "end": RANGE["end"]}],
     "expected an LSP position"),
    (wire.parse_run_action_args, ["data"], "expected a code action's data object"),
    (wire.parse_run_action_args, [{**DATA, "kind": "dance"}], "unknown action kind 'dance'"),
    (wire.parse_run_action_args, [{**DATA, "version": "4"}], "version is a number or null"),
    (wire.parse_run_action_args, [{**DATA, "diagnostics": "x"}], "diagnostics are a list"),
    (wire.parse_run_action_args, [{**DATA, "diagnostics": [1]}],
     "diagnostic is a message or an object with one"),
    (wire.parse_run_action_args, [{**DATA, "diagnostics": [{**DIAG, "code": [1]}]}],
     "a diagnostic's code is a string, a number or null"),
    (wire.parse_feedback_args, ["abc123", 6], "got the verdict 6"),
    (wire.parse_feedback_args, ["abc123", "great"], "got the verdict 'great'"),
    (wire.parse_feedback_args, ["abc123", "²"], "got the verdict '²'"),
    (wire.parse_feedback_args, ["abc123", True], "got the verdict True"),
    (wire.parse_feedback_args, [7, "accept"], "the request id is a string"),
])
def test_bad_arguments_raise_one_readable_config_error(parse: Any, args: list[Any],
                                                      message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(args)
    assert message in str(caught.value)


def _result() -> AssistResult:
    attempt = AttemptInfo(provider="local", model="qwen", tier="local", confidence=0.4,
                          reasons=["no edit"], usage=Usage(100, 20, 10, 0), cost_usd=0.0,
                          latency_ms=12.345, error=None)
    return AssistResult(request_id="r1", kind="fix", answer=None, changes=[], diff="--- a\n",
                        attempts=[attempt], cost_usd=0.0, premium_cost_usd=0.0012,
                        elapsed_ms=40.06, tier="local", model="qwen", confidence=0.4,
                        notes=["n"], outcome="rejected")


def test_result_json_has_exactly_the_typed_keys() -> None:
    out = wire.result_json(_result())
    hints = get_type_hints(wire.ResultJson)
    assert set(out) == set(hints) - {"applied"}
    assert set(wire.result_json(_result(), applied=False)) == set(hints)
    (attempt,) = out["attempts"]
    assert set(attempt) == set(get_type_hints(wire.Attempt))
    assert attempt["usage"] == {"input": 100, "output": 20, "cache_read": 10, "cache_write": 0}
    assert attempt["latency_ms"] == 12.3 and out["elapsed_ms"] == 40.1


def test_spend_params_carry_the_request_id() -> None:
    today = DaySpend(spent_usd=0.5, premium_usd=2.0, saved_usd=1.5, requests=3)
    assert wire.spend_params(today, "r1") == {"spent_usd": 0.5, "premium_usd": 2.0,
                                              "saved_usd": 1.5, "requests": 3, "request_id": "r1"}
    assert set(wire.spend_params(today, None)) == set(get_type_hints(wire.SpendParams))


def test_every_field_has_a_docstring() -> None:
    tree = ast.parse(inspect.getsource(wire))
    undocumented = []
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for stmt, after in zip(cls.body, [*cls.body[1:], None], strict=True):
            if isinstance(stmt, ast.AnnAssign) and not (
                isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                undocumented.append(f"{cls.name}.{ast.unparse(stmt.target)}")
    assert undocumented == []
