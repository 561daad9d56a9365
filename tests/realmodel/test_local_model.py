"""The cascade with a real local model: Gemma 3 270M on llama.cpp's OpenAI-compatible server
as the ``local`` tier of examples/rust-crate, vendor stand-ins as the higher tiers.

These assert behaviour, not the model's quality: every local answer is streamed and recorded
with real token counts (the server's own usage, sent at the end of the stream, when the answer
ran to its end; an estimate from what was sent and streamed when the router stopped it, since
the stream then ends before the count), a local answer the router stopped is never accepted and
the next tier is asked at once, and the next tier's good answer is what the user gets. Greedy
decoding (temperature 0) keeps the model's answers reproducible.

The server is llama.cpp's ``llama-server`` (tests/local_llama.py), which sends usage in a stream
when asked (``stream_options.include_usage``): a streamed answer that ran to its end is
recorded as ``measured``, with exactly the counts the server gives the same prompt not streamed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from local_llama import MODEL_ALIAS, local_model_settings
from standins import StandinServer
from standins.oracle import oracle

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.config import ModelSettings, Settings, parse_settings
from lsp_server.evaluation.suite import BUILTIN_SUITE, load_suite
from lsp_server.ledger.store import Ledger
from lsp_server.providers import Completion, Prompt, Usage, make_provider
from lsp_server.routing.attempts import AttemptInfo

pytestmark = pytest.mark.realmodel

KEY = "sk-test-not-real"
TASKS = load_suite(BUILTIN_SUITE)
DOC = next(t for t in TASKS if t.id == "rs-doc-total-area")
EXPLAIN = next(t for t in TASKS if t.id == "rs-explain-total-area")


@pytest.fixture
def crate(tmp_path: Path, rust_example: Path) -> Path:
    root = tmp_path / "rust-crate"
    shutil.copytree(rust_example, root)
    return root


@pytest.fixture
def free(monkeypatch: pytest.MonkeyPatch) -> StandinServer:
    monkeypatch.setenv("FREE_TEST_KEY", KEY)
    server = StandinServer("openai", fallback=oracle(TASKS), api_key=KEY).start()
    yield server  # type: ignore[misc]
    server.stop()


# The local tier's latency budget is opened wide: these tests are about what the router does
# with the model's text, and a shared CI machine may read the prompt slowly.
SLOW_MACHINE = {"first_token_timeout_s": {"local": 300}, "tier_timeout_s": {"local": 600}}


def lineup(llama_url: str, free: StandinServer) -> Settings:
    return parse_settings({"routing": SLOW_MACHINE, "models": [
        local_model_settings(llama_url, timeout_seconds=600),
        free.model_settings(name="free-model", tier="free", api_key_env="FREE_TEST_KEY",
                            max_retries=0, price={"input": 0.59, "output": 0.79}),
    ]})


def check_local_usage(attempt: AttemptInfo) -> None:
    """An answer that ran to its end carries the server's usage, flagged measured; one the
    router stopped after its first token carries the server's count so far (llama.cpp sends it
    with every chunk), flagged measured too, and is never accepted."""
    assert attempt.tier == "local" and attempt.error is None
    assert attempt.usage.input > 100 and attempt.usage.output > 0
    assert attempt.first_token_ms is not None and attempt.first_token_ms > 0
    assert attempt.cost_status == "measured"
    if attempt.stopped is not None:
        assert not attempt.accepted
    assert attempt.cost_usd == 0.0  # a loopback model is free unless priced


async def test_a_real_stream_carries_the_servers_own_count(llama_url: str) -> None:
    provider = make_provider(ModelSettings(**local_model_settings(llama_url)))  # type: ignore[arg-type]
    prompt = Prompt(system="Answer in one word.", instruction="What color is the sky?",
                    max_output_tokens=12)
    pieces: list[str] = []
    so_far: list[Usage | None] = []
    done: Completion | None = None
    try:
        async for item in provider.stream(prompt):
            if isinstance(item, Completion):
                done = item
            else:
                pieces.append(item.text)
                so_far.append(item.usage)
        whole = await provider.generate(prompt)
    finally:
        await provider.aclose()
    assert done is not None and done.text == "".join(pieces) and done.raw_model == MODEL_ALIAS
    assert float(done.extra["first_token_ms"]) > 0  # type: ignore[arg-type]
    # The stream's usage chunk: the server's own count, not an estimate.
    assert not done.usage_estimated and done.usage.input > 5 and 0 < done.usage.output <= 12
    # Every chunk carries the server's count so far (what an answer stopped early is billed
    # from): the whole prompt from the first chunk on, and the tokens generated growing.
    assert so_far and all(u is not None and u.input == done.usage.input for u in so_far)
    outputs = [u.output for u in so_far if u is not None]
    assert outputs == sorted(outputs) and 0 < outputs[-1] <= done.usage.output
    # The same prompt not streamed: exactly the same count and (greedy) the same text; the
    # prompt is now in the server's cache, which its usage says.
    assert not whole.usage_estimated and whole.text == done.text
    assert (whole.usage.input, whole.usage.output) == (done.usage.input, done.usage.output)
    assert whole.usage.cache_read > 0


async def test_ask_for_an_edit_stops_the_local_answer_and_applies_the_next_tiers(
        llama_url: str, free: StandinServer, crate: Path) -> None:
    told: list[str] = []
    assistant = Assistant(crate, lineup(llama_url, free))
    try:
        result = await assistant.run(
            AssistRequest(kind="ask", instruction=DOC.instruction, path=crate / "src/lib.rs",
                          line_range=(10, 12), cursor=(10, 0)), progress=told.append)
    finally:
        await assistant.aclose()
    local, answered = result.attempts
    check_local_usage(local)
    assert not local.accepted and local.stopped is not None
    assert local.usage.output < 200  # stopped long before the output limit
    assert answered.tier == "free" and answered.accepted
    assert result.outcome == "accepted" and result.tier == "free"
    assert result.changes and "/// Sum of the areas of every shape in `shapes`: each" in result.diff
    assert any(t.startswith("gemma-local (local):") and "tokens" in t for t in told)
    assert "stopped early" in free.generations[0].raw  # the next tier was told why
    row = Ledger.open().request(result.request_id)
    assert row is not None and row["attempts"][0]["input_tokens"] == local.usage.input
    assert row["attempts"][0]["cost_status"] == local.cost_status


async def test_ask_for_an_explanation_records_real_usage_and_never_accepts_a_stopped_answer(
        llama_url: str, free: StandinServer, crate: Path) -> None:
    assistant = Assistant(crate, lineup(llama_url, free))
    try:
        result = await assistant.run(
            AssistRequest(kind="ask", instruction=EXPLAIN.instruction, path=crate / "src/lib.rs",
                          line_range=(10, 12), cursor=(10, 0)))
    finally:
        await assistant.aclose()
    local = result.attempts[0]
    check_local_usage(local)
    if local.accepted:  # a complete local answer the judge trusted: measured and the only call
        assert result.tier == "local" and len(result.attempts) == 1 and free.generations == []
    else:
        assert result.tier == "free" and result.answer == EXPLAIN.reference
    row = Ledger.open().request(result.request_id)
    assert row is not None and row["attempts"][0]["output_tokens"] == local.usage.output
