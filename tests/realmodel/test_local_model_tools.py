"""The tool loop with a real local model: Gemma 3 270M on llama.cpp's OpenAI-compatible server
(the plain-text tool protocol: a local server's tool support depends on how it was started),
a vendor stand-in as the next tier.

Whatever the model does with the tools, the loop runs end to end inside its bounds: every turn
is a vendor request recorded with its tokens, no attempt takes more tool turns than
``routing.max_tool_turns`` nor more tokens than ``routing.max_attempt_tokens``, and every tool
call the model made was answered from the index (or refused) without a model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from local_llama import local_model_settings
from standins import StandinServer
from standins.oracle import oracle

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.config import parse_settings
from lsp_server.evaluation.suite import BUILTIN_SUITE, load_suite
from lsp_server.ledger.store import Ledger

pytestmark = pytest.mark.realmodel

KEY = "sk-test-not-real"
TASKS = load_suite(BUILTIN_SUITE)
EXPLAIN = next(t for t in TASKS if t.id == "rs-explain-total-area")
TURNS, TOKENS = 2, 6000
# Asked plainly to look the definition up first (Gemma 3 270M, greedy, has answered directly
# so far: the one-turn path; the multi-turn paths are pinned with stand-ins).
LOOK_UP = ' First look it up; reply with this line:\n@tool find_definition {"name": "total_area"}'


@pytest.fixture
def free(monkeypatch: pytest.MonkeyPatch) -> StandinServer:
    monkeypatch.setenv("FREE_TEST_KEY", KEY)
    server = StandinServer("openai", fallback=oracle(TASKS), api_key=KEY).start()
    yield server  # type: ignore[misc]
    server.stop()


async def test_the_loop_runs_end_to_end_within_its_bounds(
        llama_url: str, free: StandinServer, tmp_path: Path, rust_example: Path) -> None:
    crate = tmp_path / "rust-crate"
    shutil.copytree(rust_example, crate)
    settings = parse_settings({
        "routing": {"first_token_timeout_s": {"local": 300}, "tier_timeout_s": {"local": 600},
                    "max_tool_turns": TURNS, "max_attempt_tokens": TOKENS},
        "context": {"budget_tokens": 1024},
        "models": [
            # The text protocol is asked for: under "auto" a local server gets no tools.
            local_model_settings(llama_url, max_output_tokens=96, tool_format="text",
                                 timeout_seconds=600),
            free.model_settings(name="free-model", tier="free", api_key_env="FREE_TEST_KEY",
                                max_retries=0, price={"input": 0.59, "output": 0.79}),
        ]})
    told: list[str] = []
    assistant = Assistant(crate, settings)
    try:
        result = await assistant.run(AssistRequest(
            kind="explain", instruction=EXPLAIN.instruction + LOOK_UP,
            path=crate / "src/lib.rs", line_range=(10, 12), cursor=(10, 0)), progress=told.append)
    finally:
        await assistant.aclose()
    local = [a for a in result.attempts if a.tier == "local"]
    assert 1 <= len(local) <= TURNS + 1  # tool turns, then an answer (or a stop)
    for attempt in local:
        assert attempt.error is None and attempt.usage.input > 100 and attempt.usage.output > 0
    assert sum(a.usage.input + a.usage.output for a in local[:-1]) <= TOKENS
    assert sum(len(a.tool_calls) > 0 for a in local) <= TURNS
    for attempt in local[:-1]:
        assert attempt.tool_calls  # every turn but the last asked for tools
    for attempt in local:  # the server's own count, at the end or so far when stopped
        assert attempt.cost_status == ("estimated" if attempt.first_token_ms is None
                                       else "measured")
    assert result.outcome == "accepted"
    assert result.tier == "local" or result.answer == EXPLAIN.reference
    row = Ledger.open().request(result.request_id)
    assert row is not None and len(row["attempts"]) == len(result.attempts)
    # What the model did with the tools (shown with -s; the assertions hold either way).
    print("local calls:", [(len(a.tool_calls), a.stopped, a.reasons) for a in local])
