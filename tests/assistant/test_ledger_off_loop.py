"""A ledger locked by another process does not hold up the event loop: code actions are listed
while the request's rows wait for the lock, and the rows are written once it clears."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from pipeline_helpers import GOOD_EXPLANATION, KEY, copy_example, start_lineup
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.config import parse_settings
from lsp_server.ledger.prices import PriceBook
from lsp_server.ledger.store import Ledger

ANSWER = (
    "`total_value` walks the stock's quantities and multiplies each SKU's unit price by the "
    "quantity on hand, summing the products into one float."
)


def explain(root: Path, instruction: str = "Explain what this function computes.") -> AssistRequest:
    return AssistRequest(kind="explain", instruction=instruction,
                         path=root / "inventory" / "pricing.py", line_range=(8, 10))


async def test_code_actions_are_listed_while_the_ledger_is_locked(
        standin, tmp_path: Path) -> None:  # noqa: F811
    model = standin("anthropic", api_key=KEY)
    model.add(ANSWER)
    model.add(ANSWER)
    settings = parse_settings({"models": [model.model_settings(
        name="premium-model", model="claude-sonnet-4-5", tier="premium", max_retries=0)]})
    root = copy_example("python-pkg", tmp_path)
    assistant = Assistant(root, settings, environ={"STANDIN_ANTHROPIC_KEY": KEY})
    pricing = root / "inventory" / "pricing.py"
    try:
        free = await assistant.run(explain(root))  # the ledger exists, and is free
        assert free.outcome == "accepted"
        writer = assistant.ledger_writer
        assert writer.queued == 0

        other = sqlite3.connect(Ledger.default_path(), isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another process holds the ledger (busy timeout: 10 s)
        try:
            task = asyncio.create_task(assistant.run(explain(root, "What does this compute?")))
            while writer.queued == 0:  # the request has reached the ledger
                await asyncio.sleep(0.005)
            listed = assistant.estimate("explain", pricing, (8, 10))  # what a listing computes
            await asyncio.sleep(0)  # and the loop turns
            assert listed.tier is not None
            # the request's rows are still waiting for the lock: the listing did not wait
            assert writer.queued > 0 and not task.done()
            assert writer.take_notice() is None  # the busy timeout has not run out either
        finally:
            other.execute("ROLLBACK")
            other.close()
        locked = await asyncio.wait_for(task, 30)
    finally:
        await assistant.aclose()
    assert locked.outcome == "accepted"
    assert not any(note.startswith("ledger:") for note in locked.notes)
    with Ledger.open() as ledger:
        for result in (free, locked):
            row = ledger.request(result.request_id)
            assert row is not None and row["outcome"] == "accepted"
            assert len(row["attempts"]) == 1  # expected rows: start, one attempt, finish
    assert (writer.written, writer.lost) == (6, 0)


async def test_the_price_snapshot_is_loaded_off_the_event_loop(
        standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    loaded_on: list[threading.Thread] = []
    real = PriceBook.preload

    def preload(self: PriceBook) -> None:
        loaded_on.append(threading.current_thread())
        real(self)

    monkeypatch.setattr(PriceBook, "preload", preload)
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["free"].add(GOOD_EXPLANATION)
    assistant = Assistant(root, lineup.settings(("free",)), environ=lineup.environ)
    try:
        result = await assistant.run(explain(root))
    finally:
        await assistant.aclose()
    assert result.outcome == "accepted" and result.cost_usd > 0
    assert loaded_on and threading.main_thread() not in loaded_on  # the loop runs on main
