"""The local context follows the local model's measured speed; a cloud model's never does.

The local tier is the Ollama stand-in (answering with prose where an edit is expected, so the
cascade escalates to the free tier's stand-in); the local model's speed is what the ledger
recorded for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pipeline_helpers import Lineup, copy_example, start_lineup
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.context.tokens import count_tokens
from lsp_server.ledger.store import Ledger
from lsp_server.providers.base import Usage

GOOD_EDIT = """src/lib.rs
```rust
<<<<<<< SEARCH
pub fn total_area(shapes: &[Box<dyn Shape>]) -> f64 {
=======
/// Adds up the area of each shape: the total area covered by `shapes`.
pub fn total_area(shapes: &[Box<dyn Shape>]) -> f64 {
>>>>>>> REPLACE
```
"""


def _request(root: Path) -> AssistRequest:
    return AssistRequest(kind="ask", instruction="add a doc comment explaining what this "
                         "function computes", path=root / "src/lib.rs", line_range=(10, 12))


async def _run(lineup: Lineup, root: Path) -> tuple[int, int]:
    """One request; the tokens of the prompt the local and the free model were sent."""
    lineup.servers["local"].add("I think this is a function. Let me tell you a story.")
    lineup.servers["free"].add(GOOD_EDIT)
    settings = lineup.settings(("local", "free"), ledger={"store_prompts": True},
                               cache={"enabled": False},
                               routing={"first_token_timeout_s": {"local": 60.0}})
    assistant = Assistant(root, settings, environ=lineup.environ)
    try:
        result = await assistant.run(_request(root))
    finally:
        await assistant.aclose()
    assert [a.tier for a in result.attempts] == ["local", "free"]
    row = Ledger.open().request(result.request_id)
    assert row is not None
    local, cloud = row["prompts"]
    return count_tokens(local["prompt"]), count_tokens(cloud["prompt"])


def _slow_local_calls(count: int = 4) -> None:
    """Calls of the local model as a loaded CPU makes them: 2,000 prompt tokens read in 200 s
    before the first token (10 tokens/s)."""
    with Ledger.open() as ledger:
        t = datetime.now(UTC) - timedelta(hours=1)
        for i in range(count):
            rid = ledger.start_request(kind="edit", workspace="/w", classification="simple",
                                       now=t)
            ledger.record_attempt(rid, provider="local-model", model="local", tier="local",
                                  usage=Usage(input=2000, output=20), cost_usd=0.0,
                                  latency_ms=201_000.0, confidence=0.0, error_class=None,
                                  first_token_ms=200_000.0, stopped="no edit header",
                                  now=t + timedelta(minutes=i))


async def test_slow_measured_local_calls_shrink_the_local_context_only(
        standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("rust-crate", tmp_path)
    local_before, cloud_before = await _run(lineup, root)
    _slow_local_calls()
    local_after, cloud_after = await _run(lineup, root)
    # 10 tokens/s for half of a 60 s first-token budget: the context builder's floor
    assert local_after < local_before
    assert local_after < 1000 < local_before
    assert cloud_after == cloud_before
    # what the sizing learned from is in the ledger: the local attempts' first-token times
    with Ledger.open() as ledger:
        timings = ledger.call_speeds("local-model")
    assert sum(1 for t in timings if t.first_token_ms == 200_000.0) == 4
    assert any(t.first_token_ms is not None and t.first_token_ms < 200_000.0 for t in timings)


STORY = "Once upon a time there was a function that computed many things for everyone. " * 30


@pytest.mark.parametrize("store", [False, True])
async def test_a_stopped_answer_is_recorded_with_its_first_token_time_and_partial_text(
        standin, tmp_path: Path, store: bool) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    lineup.servers["local"].add(STORY)
    lineup.servers["free"].add(GOOD_EDIT)
    settings = lineup.settings(("local", "free"), ledger={"store_prompts": store},
                               cache={"enabled": False})
    root = copy_example("rust-crate", tmp_path)
    assistant = Assistant(root, settings, environ=lineup.environ)
    try:
        result = await assistant.run(_request(root))
    finally:
        await assistant.aclose()
    assert result.outcome == "accepted" and result.tier == "free"
    row = Ledger.open().request(result.request_id)
    assert row is not None
    local, cloud = row["attempts"]
    assert local["stopped"] is not None and result.attempts[0].stopped == local["stopped"]
    assert local["first_token_ms"] is not None and local["first_token_ms"] > 0
    assert cloud["stopped"] is None and cloud["first_token_ms"] is not None
    if not store:
        assert row["prompts"] == []
        return
    kept = row["prompts"][0]["response"]
    # what the model wrote up to the stop: a start of its answer, not all of it
    assert kept and STORY.startswith(kept) and len(kept) < len(STORY)
    assert row["prompts"][1]["response"] == GOOD_EDIT
