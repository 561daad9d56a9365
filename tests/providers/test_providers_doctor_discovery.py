"""`doctor` lists every model with its reachability; discovery uses exactly the configured
models, or the environment's when none are configured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from standins import StandinServer

from lsp_server.cli import main
from lsp_server.config import Settings, parse_settings
from lsp_server.providers import Provider, make_provider
from lsp_server.providers.discovery import DEFAULT_MODELS, discover, ollama_url, pick_ollama_model


def _toml(models: list[dict[str, Any]]) -> str:
    out = []
    for m in models:
        out.append("[[models]]")
        out += [f"{k} = {json.dumps(v)}" for k, v in m.items()]
    return "\n".join(out) + "\n"


def test_doctor_reports_each_configured_model(
    standin: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    claude = standin("anthropic", api_key="right-key")
    local = standin("ollama", models=["llama3.2:3b"])
    gem = standin("gemini")
    models = [
        claude.model_settings(name="claude"),
        local.model_settings(name="local", model="qwen2.5-coder:7b"),
        gem.model_settings(name="gem"),
        claude.model_settings(name="claude-wrong-key", api_key_env="WRONG_KEY"),
    ]
    (tmp_path / "agentic-optimizer.toml").write_text(_toml(models))
    monkeypatch.setenv("STANDIN_ANTHROPIC_KEY", "right-key")
    monkeypatch.setenv("WRONG_KEY", "sk-wrong-0123456789abcdef")
    assert main(["doctor", "--project", str(tmp_path), "--json"]) == 0
    out = capsys.readouterr().out
    report = {m["name"]: m for m in json.loads(out)["models"]}
    assert report["claude"]["usable"] is True
    assert report["local"]["usable"] is False and "ollama pull qwen2.5-coder:7b" in report["local"]["detail"]
    assert report["gem"]["usable"] is False and "STANDIN_GEMINI_KEY is not set" in report["gem"]["detail"]
    assert report["claude-wrong-key"]["usable"] is False and "rejected" in report["claude-wrong-key"]["detail"]
    assert "sk-wrong-0123456789abcdef" not in out and "right-key" not in out
    assert main(["doctor", "--project", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "ok claude [premium] anthropic:claude-sonnet-5-5" in text
    assert "-- local [local] ollama:qwen2.5-coder:7b" in text


def test_doctor_exits_1_when_nothing_is_reachable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dead = StandinServer("ollama").start()
    dead.stop()
    (tmp_path / "agentic-optimizer.toml").write_text(_toml([dead.model_settings(name="gone", connect_timeout_seconds=0.5)]))
    assert main(["doctor", "--project", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "-- gone" in out and "No reachable model" in out


def test_configured_models_are_used_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = parse_settings({"models": [{"name": "only", "provider": "gemini", "model": "g", "tier": "free"}]})
    assert [m.name for m in discover(settings, {"ANTHROPIC_API_KEY": "x", "GROQ_API_KEY": "y"})] == ["only"]


def test_discovery_finds_ollama_and_key_variables(standin: Any) -> None:
    local = standin("ollama", models=["nomic-embed-text:latest", "llama3.2:3b", "qwen3-coder:30b"])
    env = {"OLLAMA_HOST": local.root_url.removeprefix("http://"), "GROQ_API_KEY": "g", "ANTHROPIC_API_KEY": "a"}
    found = discover(Settings(), env)
    assert [m.name for m in found] == ["ollama-coder", "groq-llama", "claude-sonnet"]
    assert found[0].model == "qwen3-coder:30b" and found[0].effective_base_url == local.root_url
    assert discover(Settings(), {"OLLAMA_HOST": "127.0.0.1:9"}) == ()


def test_ollama_model_choice_and_host() -> None:
    assert pick_ollama_model(["llama3.2:3b", "qwen2.5-coder:7b"], "qwen2.5-coder:7b") == "qwen2.5-coder:7b"
    assert pick_ollama_model(["mistral:latest", "nomic-embed-text:latest"], "qwen2.5-coder:7b") == "mistral:latest"
    assert pick_ollama_model(["nomic-embed-text:latest"], "qwen2.5-coder:7b") is None
    assert ollama_url({}) == "http://127.0.0.1:11434"
    assert ollama_url({"OLLAMA_HOST": "0.0.0.0:12345"}) == "http://127.0.0.1:12345"
    assert ollama_url({"OLLAMA_HOST": "https://gpu.lan"}) == "https://gpu.lan:443"
    assert ollama_url({"OLLAMA_HOST": "gpu.lan"}) == "http://gpu.lan:11434"


@pytest.mark.parametrize("model", DEFAULT_MODELS, ids=lambda m: m.name)
async def test_every_default_model_builds_a_provider(model: Any) -> None:
    provider = make_provider(model, {})
    try:
        assert isinstance(provider, Provider)
        assert provider.count_tokens("fn main() { println!(\"hi\"); }") > 5
        assert model.model in repr(provider)
    finally:
        await provider.aclose()


def test_doctor_reports_the_embedding_model_when_embeddings_are_on(
    standin: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTIC_OPTIMIZER_HOME", str(tmp_path / "state"))
    local = standin("ollama", models=["qwen2.5-coder:7b"])
    toml = _toml([local.model_settings(name="local")]) + "[context]\nembeddings = true\n"
    (tmp_path / "agentic-optimizer.toml").write_text(toml)
    # The chat model is there but the embedding model is not pulled: reported, not fatal.
    assert main(["doctor", "--project", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["embeddings"]
    assert report["model"] == "nomic-embed-text" and report["base_url"] == local.url
    assert report["usable"] is False and "ollama pull nomic-embed-text" in report["detail"]
    assert report["stored_vectors"] == 0
    assert main(["doctor", "--project", str(tmp_path)]) == 0
    assert "-- ollama:nomic-embed-text" in capsys.readouterr().out
    (tmp_path / "agentic-optimizer.toml").write_text(_toml([local.model_settings(name="local")]))
    assert main(["doctor", "--project", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["embeddings"] is None
