"""``agentic-optimizer eval`` end to end on stand-ins: the figures come from the hidden checks,
not from the router's confidence, and a wrong answer the router accepted is counted as one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from standins import StandinServer
from standins.oracle import oracle

from lsp_server.cli import main
from lsp_server.evaluation.suite import BUILTIN_SUITE, load_suite

TASKS = load_suite(BUILTIN_SUITE)
ONLY = ["rs-explain-total-area", "py-discount-validate", "py-where-stock"]


def _config(tmp_path: Path, local: StandinServer, premium: StandinServer) -> Path:
    config = tmp_path / "eval.toml"
    config.write_text(
        "[[models]]\n"
        f'name = "local-model"\nprovider = "ollama"\nmodel = "m"\ntier = "local"\n'
        f'base_url = "{local.root_url}"\nmax_retries = 0\n'
        "[[models]]\n"
        f'name = "premium-model"\nprovider = "openai"\nmodel = "p"\ntier = "premium"\n'
        f'base_url = "{premium.url}"\napi_key_env = "EVAL_TEST_KEY"\nmax_retries = 0\n'
        "price = { input = 3.0, output = 15.0 }\n")
    return config


def _eval(tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    args = ["eval", "--project", str(tmp_path), "--config", str(config), "--json"]
    for task in ONLY:
        args += ["--only", task]
    code = main(args)
    return code, json.loads(capsys.readouterr().out)


def test_escalated_tasks_are_solved_by_the_hidden_checks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EVAL_TEST_KEY", "sk-test-not-real")
    with StandinServer("ollama", fallback="") as local, \
            StandinServer("openai", fallback=oracle(TASKS), api_key="sk-test-not-real") as premium:
        code, summary = _eval(tmp_path, _config(tmp_path, local, premium), capsys)
    assert code == 0
    overall = summary["overall"]
    assert (overall["tasks"], overall["solved"], overall["wrong_accepted"]) == (3, 3, 0)
    tiers = {t["tier"]: t for t in summary["tiers"]}
    assert tiers["index"]["solved"] == 1  # the search never reached a model
    assert tiers["local"]["accepted"] == 0 and tiers["local"]["calls"] == 2
    assert tiers["premium"]["solved"] == 2 and tiers["premium"]["cost_usd"] > 0
    assert overall["all_premium_cost_usd"] > 0 and overall["latency"]["p50_ms"] > 0
    edit = next(t for t in summary["tasks"] if t["id"] == "py-discount-validate")
    assert edit["tier"] == "premium" and edit["detail"] == "the hidden check passed"


def test_a_wrong_answer_the_router_accepted_is_counted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EVAL_TEST_KEY", "sk-test-not-real")
    with StandinServer("ollama", fallback="") as local, \
            StandinServer("openai", fallback=oracle(TASKS, wrong=True),
                          api_key="sk-test-not-real") as premium:
        code, summary = _eval(tmp_path, _config(tmp_path, local, premium), capsys)
    assert code == 1
    explained = next(t for t in summary["tasks"] if t["id"] == "rs-explain-total-area")
    assert explained["tier"] == "premium" and explained["wrong_accepted"]
    assert summary["overall"]["wrong_accepted"] == 1  # the edit was refused, not accepted
