"""Settings: defaults, TOML, camelCase from editors, and clear messages for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_server.config import (
    Settings,
    SettingsSource,
    api_key,
    load_settings,
    parse_settings,
    redacted,
)
from lsp_server.errors import ConfigError
from lsp_server.paths import state_dir

DESIGN_EXAMPLE = """
[[models]]
name = "local-coder"
provider = "ollama"
model = "qwen2.5-coder:7b"
base_url = "http://127.0.0.1:11434"
tier = "local"

[[models]]
name = "sonnet"
provider = "anthropic"
model = "claude-sonnet-4-5"
api_key_env = "ANTHROPIC_API_KEY"
tier = "premium"

[routing]
escalate_below = 0.85

[budget]
daily_usd = 1.00

[privacy]
local_only = false
exclude = [".env", "*.pem", "secrets/**"]

[context]
budget_tokens = 8000
"""


def test_defaults_apply_when_nothing_is_configured() -> None:
    s = parse_settings()
    assert s.models == ()
    assert s.routing.escalate_below == 0.85
    assert s.routing.tier_order == ("local", "free", "budget", "premium")
    assert s.budget.daily_usd == 1.0
    assert s.context.budget_tokens == 8000
    assert ".env" in s.privacy.exclude and "*.pem" in s.privacy.exclude
    assert s.hover.enabled and s.cache.enabled


def test_design_example_file_loads(tmp_path: Path) -> None:
    (tmp_path / "agentic-optimizer.toml").write_text(DESIGN_EXAMPLE)
    s = load_settings(tmp_path)
    assert [m.name for m in s.models] == ["local-coder", "sonnet"]
    local, sonnet = s.models
    assert local.effective_base_url == "http://127.0.0.1:11434"
    assert local.effective_edit_format == "whole_definition"
    assert sonnet.effective_base_url == "https://api.anthropic.com"
    assert sonnet.effective_key_env == "ANTHROPIC_API_KEY"
    assert sonnet.effective_edit_format == "search_replace"
    assert s.privacy.exclude == (".env", "*.pem", "secrets/**")


def test_explicit_config_path_wins(tmp_path: Path) -> None:
    (tmp_path / "agentic-optimizer.toml").write_text("[budget]\ndaily_usd = 3.0\n")
    other = tmp_path / "other.toml"
    other.write_text("[budget]\ndaily_usd = 0.25\n")
    assert load_settings(tmp_path).budget.daily_usd == 3.0
    assert load_settings(tmp_path, config_path=other).budget.daily_usd == 0.25


def test_camel_case_from_editors_maps_onto_the_same_settings(tmp_path: Path) -> None:
    (tmp_path / "agentic-optimizer.toml").write_text(DESIGN_EXAMPLE)
    s = load_settings(
        tmp_path,
        overrides={
            "routing": {"escalateBelow": 0.7},
            "budget": {"perRequestUsd": 0.05},
            "context": {"budgetTokens": 12000},
        },
    )
    assert s.routing.escalate_below == 0.7
    assert s.budget.per_request_usd == 0.05
    assert s.budget.daily_usd == 1.0  # from the file, untouched by the override
    assert s.context.budget_tokens == 12000
    assert len(s.models) == 2


def test_camel_case_inside_model_lists() -> None:
    s = parse_settings(
        {"models": [{"name": "g", "provider": "openai", "model": "llama", "tier": "free",
                     "baseUrl": "https://api.groq.com/openai/v1", "apiKeyEnv": "GROQ_API_KEY"}]}
    )
    assert s.models[0].effective_base_url == "https://api.groq.com/openai/v1"
    assert s.models[0].effective_key_env == "GROQ_API_KEY"


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        ({"routing": {"escalate_below": 2}}, "routing.escalate_below", "less than or equal to 1"),
        ({"budget": {"daily_usd": "lots"}}, "budget.daily_usd", "'lots'"),
        ({"models": [{"name": "a", "provider": "x", "model": "m", "tier": "local"}]},
         "models[0].provider", "'ollama', 'anthropic', 'openai' or 'gemini'"),
        ({"contxt": {}}, "contxt", "unknown setting"),
        ({"routing": {"tierOrder": ["local", "local"]}}, "routing.tier_order", "distinct"),
    ],
)
def test_bad_values_name_key_value_and_expectation(raw: dict[str, object], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(raw)
    assert info.value.key == key
    assert key in str(info.value)
    assert fragment in str(info.value)


def test_duplicate_model_names_are_rejected() -> None:
    m = {"name": "a", "provider": "ollama", "model": "m", "tier": "local"}
    with pytest.raises(ConfigError, match="repeated: a"):
        parse_settings({"models": [m, m]})


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "agentic-optimizer.toml").write_text("[budget\ndaily_usd = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path)


def test_missing_explicit_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="settings file not found"):
        load_settings(tmp_path, config_path=tmp_path / "nope.toml")


def test_api_keys_come_only_from_the_environment() -> None:
    s = parse_settings({"models": [{"name": "s", "provider": "anthropic", "model": "m", "tier": "premium",
                                    "apiKeyEnv": "MY_KEY"}]})
    assert api_key(s.models[0], {}) is None
    assert api_key(s.models[0], {"MY_KEY": " sk-test "}) == "sk-test"
    with pytest.raises(ConfigError):
        parse_settings({"models": [{"name": "s", "provider": "anthropic", "model": "m",
                                    "tier": "premium", "apiKey": "sk-secret"}]})


def test_redacted_masks_credentials_in_urls() -> None:
    s = parse_settings({"models": [{"name": "v", "provider": "openai", "model": "m", "tier": "budget",
                                    "base_url": "https://user:pw@llm.internal/v1"}]})
    shown = redacted(s)
    assert shown["models"][0]["base_url"] == "https://***@llm.internal/v1"
    assert "pw" not in str(shown)


def test_state_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTIC_OPTIMIZER_HOME", str(tmp_path / "home"))
    assert state_dir() == tmp_path / "home"
    assert (tmp_path / "home").is_dir()
    assert state_dir(Settings(state_dir=str(tmp_path / "x"))) == tmp_path / "x"


def test_a_settings_source_holds_the_current_settings_and_tells_listeners() -> None:
    first = parse_settings({"budget": {"daily_usd": 1.0}})
    source = SettingsSource(first)
    seen: list[tuple[float, float]] = []
    source.subscribe(lambda old, new: seen.append((old.budget.daily_usd, new.budget.daily_usd)))
    assert source.current is first
    second = parse_settings({"budget": {"daily_usd": 2.5}})
    source.replace(second)
    assert source.current is second
    assert seen == [(1.0, 2.5)]
    assert SettingsSource.of(source) is source
    fixed = SettingsSource.of(first)
    assert fixed is not source and fixed.current is first
    assert SettingsSource.of(None).current == Settings()


def test_a_settings_file_that_is_not_utf8_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "agentic-optimizer.toml"
    path.write_bytes(b"[budget]\ndaily_usd = 1.0\n# caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    message = str(caught.value)
    assert str(path) in message and "line 3 is not UTF-8" in message and "0xe9" in message
