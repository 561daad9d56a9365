"""The stand-in as a separate process: URL on the first line, scriptable over HTTP, and the
provider works against it (as editor tests and benchmarks use it)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lsp_server.config import ModelSettings
from lsp_server.providers import Prompt, Usage, make_provider

STANDINS_PARENT = Path(__file__).resolve().parents[1]


@pytest.fixture
def process(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    script = tmp_path / "replies.json"
    script.write_text(json.dumps({"replies": [{"text": "scripted", "input": 99, "output": 1}],
                                  "fallback": {"text": "fallback"}}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "standins", "--vendor", "openai", "--port", "0", "--script", str(script),
         "--api-key", "k-123"],
        cwd=STANDINS_PARENT, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


async def test_a_separate_process_serves_scripts_and_reports_its_log(process: tuple[str, subprocess.Popen[str]]) -> None:
    url, _ = process
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    model = ModelSettings(name="proc", provider="openai", model="gpt-5.4-mini", tier="budget", base_url=url,
                          api_key_env="PROC_KEY")
    provider = make_provider(model, {"PROC_KEY": "k-123"})
    try:
        first = await provider.generate(Prompt(system="s", instruction="one"))
        second = await provider.generate(Prompt(system="s", instruction="two"))
        root = url.removesuffix("/v1")
        httpx.post(f"{root}/_standin/replies", json=[{"text": "queued later", "output": 2}])
        third = await provider.generate(Prompt(system="s", instruction="three"))
    finally:
        await provider.aclose()
    assert (first.text, first.usage) == ("scripted", Usage(input=99, output=1))
    assert second.text == "fallback" and third.text == "queued later"
    log = httpx.get(f"{root}/_standin/requests").json()
    assert [r["body"]["messages"][-1]["content"] for r in log] == ["one", "two", "three"]
    assert all(r["headers"]["authorization"] == "***" and r["key_ok"] for r in log)
    httpx.post(f"{root}/_standin/reset")
    assert httpx.get(f"{root}/_standin/requests").json() == []
