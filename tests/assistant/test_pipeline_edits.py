"""Edits through the cascade: the edits engine verifies each answer; broken ones escalate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_helpers import KEY, copy_example, start_lineup
from standins.fixtures import standin  # noqa: F401

from lsp_server.assistant import Assistant, AssistRequest
from lsp_server.cli import main
from lsp_server.ledger.store import Ledger

NEW_BODY = (
    "def discounted(value: float, percent: float) -> float:\n"
    "    if not 0 <= percent <= 100:\n"
    '        raise ValueError("percent must be between 0 and 100")\n'
    "    return value * (1 - percent / 100)\n"
)
GOOD_LOCAL = f"REPLACE discounted IN inventory/pricing.py\n```python\n{NEW_BODY}```\n"
BROKEN_LOCAL = (
    "REPLACE discounted IN inventory/pricing.py\n```python\n"
    "def discounted(value: float, percent: float) -> float:\n"
    "    if not 0 <= percent <= 100\n"
    "        raise ValueError(\n"
    "    # ... rest unchanged\n```\n"
)
GOOD_PREMIUM = (
    "inventory/pricing.py\n<<<<<<< SEARCH\n"
    "def discounted(value: float, percent: float) -> float:\n"
    "    return value * (1 - percent / 100)\n"
    "=======\n" + NEW_BODY + ">>>>>>> REPLACE\n"
)
INSTRUCTION = "Make discounted reject a percent outside 0 to 100 with a ValueError."


def fix_request(root: Path) -> AssistRequest:
    return AssistRequest(kind="fix", instruction=INSTRUCTION, path=root / "inventory" / "pricing.py",
                         line_range=(13, 14))


async def test_good_local_edit_is_accepted_without_escalation(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    before = (root / "inventory" / "pricing.py").read_text()
    lineup.servers["local"].add(GOOD_LOCAL)
    assistant = Assistant(root, lineup.settings(), environ=lineup.environ)
    try:
        result = await assistant.run(fix_request(root))
    finally:
        await assistant.aclose()
    assert result.outcome == "accepted" and result.tier == "local", result.notes
    assert result.confidence is not None and result.confidence >= 0.85
    assert [c.path for c in result.changes] == ["inventory/pricing.py"]
    assert NEW_BODY in result.changes[0].new_text
    assert "+    if not 0 <= percent <= 100:" in result.diff
    assert lineup.cloud_bodies() == ""
    assert (root / "inventory" / "pricing.py").read_text() == before  # run() never writes


async def test_broken_local_edit_escalates_and_the_premium_edit_is_used(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    lineup.servers["local"].add(BROKEN_LOCAL)
    lineup.servers["premium"].add(GOOD_PREMIUM)
    assistant = Assistant(root, lineup.settings(("local", "premium")), environ=lineup.environ)
    try:
        result = await assistant.run(fix_request(root))
    finally:
        await assistant.aclose()
    assert result.outcome == "accepted" and result.tier == "premium", result.notes
    local, premium = result.attempts
    assert local.confidence is not None and local.confidence < 0.85 and local.reasons
    assert premium.confidence is not None and premium.confidence >= 0.85
    assert NEW_BODY in result.changes[0].new_text
    escalated = lineup.servers["premium"].generations[0].raw
    assert "was not accepted" in escalated
    row = Ledger.open().request(result.request_id)
    assert row is not None and [a["tier"] for a in row["attempts"]] == ["local", "premium"]
    assert row["attempts"][0]["confidence"] == pytest.approx(local.confidence)


async def test_no_broken_edit_is_accepted_when_every_tier_fails(standin, tmp_path: Path) -> None:  # noqa: F811
    lineup = start_lineup(standin)
    root = copy_example("python-pkg", tmp_path)
    for tier in ("local", "premium"):
        lineup.servers[tier].add(BROKEN_LOCAL)
    assistant = Assistant(root, lineup.settings(("local", "premium")), environ=lineup.environ)
    try:
        result = await assistant.run(fix_request(root))
    finally:
        await assistant.aclose()
    assert result.outcome == "rejected" and result.changes == [] and result.diff == ""
    assert any("no answer reached the confidence threshold" in n for n in result.notes)


def test_cli_apply_writes_the_verified_edit(standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                            capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example("python-pkg", tmp_path)
    local = standin("ollama", GOOD_LOCAL)
    (root / "agentic-optimizer.toml").write_text(
        "[[models]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in
                                   local.model_settings(name="local").items()) + "\n")
    monkeypatch.setenv("STANDIN_UNUSED", KEY)
    rc = main(["ask", INSTRUCTION, "--project", str(root), "--file", "inventory/pricing.py",
               "--range", "13:14", "--apply", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["applied"] is True and out["diff"]
    assert NEW_BODY in (root / "inventory" / "pricing.py").read_text()


def test_cli_apply_keeps_crlf_line_endings(standin, tmp_path: Path,  # noqa: F811
                                           capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example("python-pkg", tmp_path)
    target = root / "inventory" / "pricing.py"
    target.write_bytes(target.read_bytes().replace(b"\n", b"\r\n"))
    local = standin("ollama", GOOD_LOCAL)
    (root / "agentic-optimizer.toml").write_text(
        "[[models]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in
                                   local.model_settings(name="local").items()) + "\n")
    rc = main(["ask", INSTRUCTION, "--project", str(root), "--file", "inventory/pricing.py",
               "--range", "13:14", "--apply"])
    capsys.readouterr()
    data = target.read_bytes()
    assert rc == 0
    assert NEW_BODY.replace("\n", "\r\n").encode() in data
    assert data.count(b"\n") == data.count(b"\r\n")
