"""Index questions answered by the Assistant with no model, for $0, recorded in the ledger."""

from __future__ import annotations

from pathlib import Path

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.config import Settings
from lsp_server.ledger.store import Ledger


async def test_rust_searches_answer_from_the_index(rust_example: Path) -> None:
    assistant = Assistant(rust_example, Settings(), environ={})
    try:
        where = await assistant.run(AssistRequest(kind="ask", instruction="where is Circle defined?"))
        assert where.outcome == "index" and where.cost_usd == 0.0 and not where.attempts
        assert where.answer is not None and "src/shapes/circle.rs:" in where.answer
        impls = await assistant.run(AssistRequest(kind="search", instruction="list the impls of Shape"))
        assert impls.answer is not None
        assert "impl Shape for Circle" in impls.answer and "impl Shape for Rectangle" in impls.answer
        callers = await assistant.run(AssistRequest(kind="ask", instruction="who calls area"))
        assert callers.answer is not None and "src/lib.rs:" in callers.answer
        missing = await assistant.run(AssistRequest(kind="ask", instruction="where is NoSuchThing defined"))
        assert missing.answer is not None and "No definition" in missing.answer
        row = Ledger.open().request(where.request_id)
        assert row is not None and row["outcome"] == "index" and row["cost_usd"] == 0.0
        assert row["premium_cost_usd"] and row["premium_cost_usd"] > 0
        assert assistant.today().requests == 4
    finally:
        await assistant.aclose()


async def test_symbol_info_at_a_position(python_example: Path) -> None:
    assistant = Assistant(python_example, Settings(), environ={})
    try:
        models = python_example / "inventory" / "models.py"
        line = next(i for i, text in enumerate(models.read_text().split("\n"), 1) if "def add" in text)
        info = assistant.symbol_info(models, line, 8)
        assert info is not None
        assert (info.name, info.kind, info.path, info.line) == ("add", "method", "inventory/models.py", line)
        assert "def add" in info.signature and info.text.lstrip().startswith("def add")
        assert assistant.symbol_info(models, line, 0) is None  # on whitespace
    finally:
        await assistant.aclose()


async def test_estimate_is_instant_data(python_example: Path) -> None:
    assistant = Assistant(python_example, Settings(), environ={})
    try:
        est = assistant.estimate("fix", python_example / "inventory" / "pricing.py", (8, 11))
        assert est.tier == "local" and est.reasons
    finally:
        await assistant.aclose()
