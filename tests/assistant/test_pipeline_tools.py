"""The tool loop end to end: the real providers against vendor stand-ins, the real index.

The needed definition is left out of the initial context on purpose (a small context budget and
a large caller): the scripted model asks for it with a tool call, the index answers at $0, and
the model answers with what it read. Every turn is a vendor request with a ledger row of its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_helpers import start_lineup
from standins import Reply
from standins.fixtures import standin  # noqa: F401
from test_ask_cli import write_config

from lsp_server.assistant import AssistRequest
from lsp_server.cli import main
from lsp_server.config import Settings
from lsp_server.ledger.store import Ledger

RATE_BODY = "return amount * 1.0825  # the county's sales tax"
ANSWER = ("`compute_total` sums the line amounts and passes the subtotal to `apply_rate`, "
          "which multiplies it by 1.0825: the total includes an 8.25% sales tax.")


def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "rates.py").write_text(
        f'"""Tax."""\n\n\ndef apply_rate(amount: float) -> float:\n    {RATE_BODY}\n')
    filler = "\n".join(
        f"def helper_{i}(value: float) -> float:\n    \"\"\"Step {i} of the report.\"\"\"\n"
        f"    return value + {i}\n" for i in range(120))
    (root / "shop" / "main.py").write_text(
        "from shop.rates import apply_rate\n\n\n"
        "def compute_total(lines: list[float]) -> float:\n"
        "    return apply_rate(sum(lines))\n\n\n" + filler + "\n")
    (root / ".env").write_text("API_TOKEN=sk-live-abcdefghijklmnopqrstuvwxyz0123456789\n")
    return root


def text_protocol(settings: Settings, *tiers: str) -> Settings:
    """``settings`` with the models of ``tiers`` set to the text protocol."""
    return settings.model_copy(update={"models": [
        m.model_copy(update={"tool_format": "text"}) if m.tier in tiers else m
        for m in settings.models]})


def ask(root: Path) -> AssistRequest:
    return AssistRequest(kind="explain", instruction="What does compute_total return exactly?",
                         path=root / "shop" / "main.py", line_range=(4, 5))


async def test_model_asks_for_a_definition_left_out_and_answers(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = workspace(tmp_path)
    local = lineup.servers["local"]
    local.add('@tool find_definition {"name": "apply_rate"}', ANSWER)
    settings = text_protocol(lineup.settings(("local",), routing={"max_tool_turns": 3},
                                             context={"budget_tokens": 256}), "local")
    progress: list[str] = []
    result = await lineup.run(root, settings, ask(root), progress.append)
    first, second = local.generations
    assert "1.0825" not in first.raw  # the definition was not in the initial context
    assert "start with @tool" in first.raw and "find_definition" in first.raw
    assert RATE_BODY in second.raw  # the tool's answer went back to the model
    # The prompt's prefix is the same on both turns: the second only appends.
    assert second.body["messages"][0] == first.body["messages"][0]
    assert second.body["messages"][-1]["content"].startswith(
        first.body["messages"][-1]["content"].split("You may look up code")[0])
    assert result.outcome == "accepted" and result.answer == ANSWER
    turn, final = result.attempts
    assert [c.name for c in turn.tool_calls] == ["find_definition"] and turn.tool_calls[0].ok
    assert turn.usage.input > 0 and turn.usage.output > 0 and turn.cost_usd == 0.0
    assert final.accepted and not final.tool_calls
    assert any("finding the definition of `apply_rate`" in p for p in progress)
    row = Ledger.open().request(result.request_id)
    assert row is not None and len(row["attempts"]) == 2  # one row per vendor request
    assert [r["tool_call_count"] for r in row["attempts"]] == [1, 0]
    assert json.loads(row["attempts"][0]["tool_calls"]) == [
        {"name": "find_definition", "args": '{"name": "apply_rate"}', "ok": True}]


async def test_refused_paths_read_nothing_and_a_loop_is_stopped(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = workspace(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text("OUTSIDE-SECRET\n")
    local = lineup.servers["local"]
    local.add('@tool read_file {"path": "../outside.txt"}\n@tool read_file {"path": ".env"}\n'
              '@tool frobnicate {"x": 1}\n@tool read_file {path: broken}',
              '@tool list_files {"glob": "*"}',
              '@tool list_files {"glob": "*"}')
    lineup.servers["free"].add(ANSWER)
    settings = text_protocol(lineup.settings(("local", "free"), routing={"max_tool_turns": 4}),
                             "local")
    result = await lineup.run(root, settings, ask(root))
    second = local.generations[1].raw
    assert "outside the workspace; refused" in second and "OUTSIDE-SECRET" not in second
    assert "excluded by privacy.exclude; refused" in second and "sk-live" not in second
    assert "unknown tool 'frobnicate'" in second and "malformed tool call" in second
    assert ".env" not in local.generations[2].raw.split("Result of list_files:")[-1]
    # The same call twice: the loop stops, the cascade escalates to the next tier.
    assert result.outcome == "accepted" and result.tier == "free"
    local_rows = [a for a in result.attempts if a.tier == "local"]
    assert len(local_rows) == 3 and local_rows[-1].stopped is not None
    assert "repeated the tool call list_files" in local_rows[-1].stopped
    assert [c.ok for c in local_rows[0].tool_calls] == [False, False, False, False]
    # What the local tier's tools found is in the free tier's prompt (none here: only refusals
    # and a listing, which is not code).
    assert "earlier attempt's tool calls" not in lineup.servers["free"].generations[0].raw


def test_ask_shows_the_tool_calls(standin, tmp_path: Path,  # noqa: F811
                                  capsys: pytest.CaptureFixture[str]) -> None:
    root = workspace(tmp_path)
    local = standin("ollama")
    config = write_config(root, [local.model_settings(name="local", max_retries=0,
                                                      tool_format="text")])
    config.write_text(config.read_text() + "[routing]\nmax_tool_turns = 2\n")
    args = ["ask", "What does compute_total return exactly?", "--project", str(root),
            "--file", "shop/main.py", "--range", "4:5"]
    local.add('@tool find_definition {"name": "apply_rate"}', ANSWER)
    assert main([*args, "--verbose"]) == 0
    err = capsys.readouterr().err
    assert "call 1: local · local · tool turn" in err
    assert 'tool find_definition(name="apply_rate")' in err
    assert "call 2: local · local · accepted" in err
    local.add('@tool read_file {"path": "/etc/passwd"}', ANSWER + " Again.")
    assert main([*args, "--json", "--kind", "explain"]) == 0
    out = json.loads(capsys.readouterr().out)
    turn, final = out["attempts"]
    assert turn["tool_calls"] == [{
        "name": "read_file", "args": {"path": "/etc/passwd"}, "ok": False,
        "result_tokens": turn["tool_calls"][0]["result_tokens"],
        "error": "error: '/etc/passwd' is outside the workspace; refused"}]
    assert final["tool_calls"] == [] and final["accepted"] is True


async def test_native_tool_calls_and_the_next_tier_gets_what_the_cheap_one_found(
        standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = workspace(tmp_path)
    free, premium = lineup.servers["free"], lineup.servers["premium"]
    free.add(Reply(text="", tool_calls=[{"name": "find_definition", "args": {"name": "apply_rate"}}]),
             Reply(text="It", stop_reason="length"))  # cut off: rejected, the cascade escalates
    premium.add(Reply(text="", tool_calls=[{"name": "find_references",
                                            "args": {"name": "apply_rate"}}]), ANSWER)
    settings = lineup.settings(("free", "premium"), routing={"max_tool_turns": 2},
                               context={"budget_tokens": 256})
    settings = settings.model_copy(update={"models": [
        m.model_copy(update={"tool_format": "native"}) for m in settings.models]})
    result = await lineup.run(root, settings, ask(root))
    assert result.outcome == "accepted" and result.tier == "premium"
    f1, f2 = free.generations
    assert "tools" in f1.body and "1.0825" not in f1.raw
    assert f2.body["messages"][-1]["role"] == "tool" and RATE_BODY in f2.body["messages"][-1]["content"]
    p1, p2 = premium.generations
    # The premium tier starts with what the free tier's tool call found, not rediscovering it.
    assert RATE_BODY in p1.raw and "earlier attempt's tool calls" in p1.raw
    results = p2.body["messages"][-1]["content"]
    assert results[0]["type"] == "tool_result" and "shop/main.py:5" in results[0]["content"]
    assert p2.body["messages"][0] == p1.body["messages"][0]  # the cached prefix is unchanged
    rows = [(a.tier, [c.name for c in a.tool_calls]) for a in result.attempts]
    assert rows == [("free", ["find_definition"]), ("free", []),
                    ("premium", ["find_references"]), ("premium", [])]
    assert all(a.cost_usd and a.cost_usd > 0 for a in result.attempts)  # each turn is billed


def native_call(tool: str, **args: object) -> Reply:
    return Reply(text="", tool_calls=[{"name": tool, "args": args}])


@pytest.mark.parametrize("tier", ["local", "budget"])  # Ollama's tools, Gemini's functions
async def test_gemini_and_ollama_call_tools_natively_by_default(standin, tmp_path: Path,  # noqa: F811
                                                                tier: str) -> None:
    lineup = start_lineup(standin)
    root = workspace(tmp_path)
    server = lineup.servers[tier]
    server.add(native_call("find_definition", name="apply_rate"), ANSWER)
    settings = lineup.settings((tier,), routing={"max_tool_turns": 3},
                               context={"budget_tokens": 256})
    result = await lineup.run(root, settings, ask(root))
    assert result.outcome == "accepted" and result.answer == ANSWER
    first, second = server.generations
    assert "1.0825" not in first.raw and "@tool" not in first.raw  # native: no text protocol
    assert RATE_BODY in second.raw and second.status == 200
    if tier == "budget":
        declared = first.body["tools"][0]["functionDeclarations"]
        model_turn, results = second.body["contents"][-2:]
        assert model_turn["parts"][0]["functionCall"]["name"] == "find_definition"
        assert model_turn["parts"][0]["thoughtSignature"]  # sent back as it came
        assert RATE_BODY in results["parts"][0]["functionResponse"]["response"]["result"]
    else:
        declared = [t["function"] for t in first.body["tools"]]
        assert second.body["messages"][-1]["role"] == "tool"
        assert second.body["messages"][-1]["tool_name"] == "find_definition"
    assert "find_definition" in [d["name"] for d in declared]
    turn, final = result.attempts
    assert [c.name for c in turn.tool_calls] == ["find_definition"] and turn.tool_calls[0].ok
    assert final.accepted


@pytest.mark.parametrize("tier", ["local", "budget"])
async def test_native_refusals_unknown_tools_malformed_calls_and_a_loop(
        standin, tmp_path: Path, tier: str) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = workspace(tmp_path)
    (tmp_path / "outside.txt").write_text("OUTSIDE-SECRET\n")
    server = lineup.servers[tier]
    refused = Reply(text="", tool_calls=[
        {"name": "read_file", "args": {"path": "../outside.txt"}},
        {"name": "read_file", "args": {"path": ".env"}},
        {"name": "frobnicate", "args": {"x": 1}}])
    # A call the vendor could not parse: Gemini's MALFORMED_FUNCTION_CALL; Ollama returns such
    # text as content, so its malformed call is one whose arguments have the wrong type.
    malformed = (Reply(text="", stop_reason="MALFORMED_FUNCTION_CALL") if tier == "budget"
                 else native_call("read_file", path=["not", "a", "path"]))
    server.add(refused, native_call("find_definition", name="apply_rate"), malformed,
               native_call("list_files", glob="*"), native_call("list_files", glob="*"))
    lineup.servers["premium"].add(ANSWER)
    settings = lineup.settings((tier, "premium"), routing={"max_tool_turns": 5})
    result = await lineup.run(root, settings, ask(root))
    second = server.generations[1].raw
    assert "outside the workspace; refused" in second and "OUTSIDE-SECRET" not in second
    assert "excluded by privacy.exclude; refused" in second and "sk-live" not in second
    assert "unknown tool 'frobnicate'" in second
    fourth = server.generations[3].raw.split("OUTSIDE")[-1]
    assert ("malformed" in fourth) if tier == "budget" else ("path" in fourth and "error" in fourth)
    assert all(r.status == 200 for r in server.generations)  # every turn went back well-formed
    rows = [a for a in result.attempts if a.tier == tier]
    assert [c.ok for c in rows[0].tool_calls] == [False, False, False]
    assert rows[2].tool_calls and not rows[2].tool_calls[0].ok
    assert rows[-1].stopped is not None and "repeated the tool call list_files" in rows[-1].stopped
    assert result.outcome == "accepted" and result.tier == "premium"


@pytest.mark.parametrize("tier", ["local", "free", "budget", "premium"])
async def test_a_request_without_tool_calls_is_the_request_it_was_without_tools(
        standin, tmp_path: Path, tier: str) -> None:  # noqa: F811
    """Tools on by default: a model that calls none gets the same prompt (plus the tool
    declarations, where it is offered tools) and costs the same."""
    lineup = start_lineup(standin)
    root = workspace(tmp_path)
    server = lineup.servers[tier]
    bodies, costs = [], []
    for routing in ({"max_tool_turns": 0}, {}):
        server.add(Reply(ANSWER, input=900, output=40))
        settings = lineup.settings((tier,), routing=routing, cache={"enabled": False})
        result = await lineup.run(root, settings, ask(root))
        assert result.outcome == "accepted" and len(result.attempts) == 1
        bodies.append(dict(server.generations[-1].body))
        costs.append(result.cost_usd)
    without, default = bodies
    if without.get("tools") == []:  # the ollama client sends an empty list for no tools
        del without["tools"]
    offered = {k: default.pop(k) for k in ("tools", "tool_choice", "toolConfig") if k in default}
    # The loopback OpenAI-compatible stand-in resolves to the text protocol: no tools under auto.
    assert bool(offered) == (tier != "free")
    assert default == without and costs[0] == costs[1]


async def test_a_request_that_offers_no_tools_sends_no_declarations(standin, tmp_path: Path) -> None:  # noqa: F811
    """Hovers ask with ``tools=False``: a model with native tool calling is sent the request
    without tool declarations, so a hover never waits for tool turns or pays for them."""
    lineup = start_lineup(standin)
    root = workspace(tmp_path)
    server = lineup.servers["premium"]
    offered = []
    for tools in (True, False):
        server.add(Reply(ANSWER, input=900, output=40))
        settings = lineup.settings(("premium",), cache={"enabled": False})
        request = AssistRequest(kind="explain", instruction="What does compute_total return?",
                                path=root / "shop" / "main.py", line_range=(4, 5), tools=tools)
        result = await lineup.run(root, settings, request)
        assert result.outcome == "accepted"
        offered.append("tools" in server.generations[-1].body)
    assert offered == [True, False]
