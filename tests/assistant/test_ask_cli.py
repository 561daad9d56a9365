"""``agentic-optimizer ask`` end to end: stand-ins for the models, the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_helpers import KEY, copy_example
from standins import Reply
from standins.fixtures import standin  # noqa: F401

from lsp_server.cli import main

ANSWER = "`discounted` returns the value reduced by the given percentage of itself."


def write_config(root: Path, models: list[dict[str, object]]) -> Path:
    lines: list[str] = []
    for m in models:
        lines.append("[[models]]")
        for key, value in m.items():
            if isinstance(value, dict):
                continue
            lines.append(f"{key} = {json.dumps(value)}")
        price = m.get("price")
        if isinstance(price, dict):
            lines.append("[models.price]")
            lines += [f"{k} = {v}" for k, v in price.items()]
    path = root / "agentic-optimizer.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_json_output_has_the_documented_keys(standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example("python-pkg", tmp_path)
    local = standin("ollama", Reply(text="It", stop_reason="length"))
    premium = standin("anthropic", Reply(text=ANSWER, input=900, output=40), api_key=KEY)
    monkeypatch.setenv("STANDIN_ANTHROPIC_KEY", KEY)
    write_config(root, [
        local.model_settings(name="local", max_retries=0),
        premium.model_settings(name="sonnet", max_retries=0, price={"input": 3.0, "output": 15.0}),
    ])
    rc = main(["ask", "What does discounted return?", "--project", str(root),
               "--file", "inventory/pricing.py", "--range", "13:14", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    for key in ("request_id", "kind", "answer", "diff", "applied", "cost_usd", "premium_cost_usd",
                "attempts"):
        assert key in out
    assert out["answer"] == ANSWER and out["applied"] is False and out["diff"] == ""
    assert out["cost_usd"] == pytest.approx((900 * 3.0 + 40 * 15.0) / 1e6)
    first, second = out["attempts"]
    assert (first["provider"], first["tier"], second["provider"], second["tier"]) == (
        "local", "local", "sonnet", "premium")
    for attempt in out["attempts"]:
        assert set(attempt["usage"]) == {"input", "output", "cache_read", "cache_write"}
        for key in ("model", "confidence", "reasons", "cost_usd", "latency_ms", "error"):
            assert key in attempt
    assert second["usage"]["input"] == 900 and second["usage"]["output"] == 40


def test_plain_output_prints_the_answer_and_a_summary(standin, tmp_path: Path,  # noqa: F811
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example("python-pkg", tmp_path)
    local = standin("ollama", ANSWER)
    config = tmp_path / "elsewhere.toml"
    config.write_text(write_config(root, [local.model_settings(name="local")]).read_text())
    (root / "agentic-optimizer.toml").unlink()
    rc = main(["ask", "Explain what discounted does", "--project", str(root), "--config", str(config),
               "--file", str(root / "inventory" / "pricing.py"), "--range", "13"])
    captured = capsys.readouterr()
    assert rc == 0
    assert captured.out.strip() == ANSWER
    assert "accepted: local" in captured.err and "cost $0" in captured.err


def test_search_works_with_no_model_and_other_requests_say_how_to_enable_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example("python-pkg", tmp_path)
    (root / "agentic-optimizer.toml").write_text(
        '[[models]]\nname = "gone"\nprovider = "openai"\nmodel = "m"\ntier = "free"\n'
        'base_url = "http://127.0.0.1:9/v1"\napi_key_env = "NO_SUCH_KEY_VAR"\nmax_retries = 0\n'
        'connect_timeout_seconds = 0.5\n')
    rc = main(["ask", "where is Stock defined?", "--project", str(root)])
    captured = capsys.readouterr()
    assert rc == 0 and "inventory/models.py:" in captured.out
    rc = main(["ask", "Explain what discounted does", "--project", str(root),
               "--file", "inventory/pricing.py", "--range", "13:14"])
    captured = capsys.readouterr()
    assert rc != 0
    assert "Traceback" not in captured.err
    assert "NO_SUCH_KEY_VAR" in captured.err or "no model answered" in captured.err


def test_no_model_at_all_is_one_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example("python-pkg", tmp_path)
    from lsp_server.providers import discovery

    monkeypatch.setattr(discovery, "probe_ollama", lambda *a, **k: None)  # no Ollama either
    rc = main(["ask", "Explain what discounted does", "--project", str(root)])
    captured = capsys.readouterr()
    assert rc == 2 and "Traceback" not in captured.err
    assert "ollama pull" in captured.err and "API key" in captured.err


def test_dry_run_makes_no_call(standin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                               capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example("python-pkg", tmp_path)
    local = standin("ollama")
    premium = standin("anthropic", api_key=KEY)
    monkeypatch.setenv("STANDIN_ANTHROPIC_KEY", KEY)
    write_config(root, [
        local.model_settings(name="local"),
        premium.model_settings(name="sonnet", price={"input": 3.0, "output": 15.0}),
    ])
    rc = main(["ask", "add a docstring to discounted", "--project", str(root),
               "--file", "inventory/pricing.py", "--range", "13:14", "--dry-run", "--json"])
    plan = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert plan["tier"] == "local" and plan["mode"] == "edit" and plan["reasons"]
    assert "inventory/pricing.py" in plan["context"]["files"] and plan["context"]["tokens"] > 0
    tiers = {t["tier"]: t for t in plan["tiers"]}
    assert tiers["local"]["cost_usd"] == 0.0 and tiers["premium"]["cost_usd"] > 0
    assert local.generations == [] and premium.generations == []
    rc = main(["ask", "add a docstring to discounted", "--project", str(root),
               "--file", "inventory/pricing.py", "--range", "13:14", "--dry-run"])
    text = capsys.readouterr().out
    assert rc == 0 and "start tier: local" in text and "estimated cost per tier" in text


def test_bad_range_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example("python-pkg", tmp_path)
    rc = main(["ask", "fix it", "--project", str(root), "--file", "inventory/pricing.py",
               "--range", "9:3"])
    err = capsys.readouterr().err
    assert rc == 2 and "--range" in err and "Traceback" not in err


def test_a_file_that_is_not_utf8_is_refused_for_edits_before_any_call(
        standin, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    root = copy_example("python-pkg", tmp_path)
    latin1 = root / "inventory" / "legacy.py"
    latin1.write_bytes(b"# caf\xe9\ndef price():\n    return 1\n")
    local = standin("ollama", Reply(text="irrelevant"))
    write_config(root, [local.model_settings(name="local", max_retries=0)])
    rc = main(["ask", "Make price return 2.", "--project", str(root), "--kind", "rewrite",
               "--file", "inventory/legacy.py", "--range", "2:3", "--apply"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "legacy.py is not UTF-8 text (byte 0xe9 on line 1)" in err and "Traceback" not in err
    assert local.requests == []  # refused before any model was asked
    assert latin1.read_bytes() == b"# caf\xe9\ndef price():\n    return 1\n"
    # a question about the file still works: it is read for context, never edited
    rc = main(["ask", "What does price return?", "--project", str(root), "--kind", "explain",
               "--file", "inventory/legacy.py", "--range", "2:3"])
    assert rc in (0, 1) and "Traceback" not in capsys.readouterr().err


def test_a_binary_file_is_never_sent_as_the_selection(
        standin, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    root = copy_example("rust-crate", tmp_path)
    (root / "src" / "blob.rs").write_bytes(bytes(range(256)) * 12)
    local = standin("ollama", Reply(text="irrelevant"))
    write_config(root, [local.model_settings(name="local", max_retries=0)])
    rc = main(["ask", "explain this code", "--project", str(root), "--kind", "explain",
               "--file", "src/blob.rs", "--range", "1:40"])
    err = capsys.readouterr().err
    assert rc == 2 and "src/blob.rs looks like a binary file" in err and "Traceback" not in err
    assert local.requests == []
