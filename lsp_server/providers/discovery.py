"""Which models to use: exactly the configured ones, or, when none are configured, the ones the
environment offers (a running Ollama, API-key variables present)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from lsp_server.config import DEFAULT_BASE_URLS, ModelSettings, Settings, api_key

# Current defaults per vendor; every one is overridable by listing models in the settings.
DEFAULT_MODELS: tuple[ModelSettings, ...] = (
    ModelSettings(name="ollama-coder", provider="ollama", model="qwen2.5-coder:7b", tier="local"),
    ModelSettings(
        name="groq-llama", provider="openai", model="llama-3.3-70b-versatile", tier="free",
        base_url="https://api.groq.com/openai/v1", api_key_env="GROQ_API_KEY",
    ),
    ModelSettings(name="gemini-flash", provider="gemini", model="gemini-2.5-flash", tier="budget"),
    ModelSettings(name="openai-mini", provider="openai", model="gpt-4.1-mini", tier="budget"),
    ModelSettings(
        name="claude-sonnet", provider="anthropic", model="claude-sonnet-4-5", tier="premium"
    ),
)


@dataclass(frozen=True)
class Probe:
    """Whether a model looks usable, and why (never containing a key)."""

    model: ModelSettings
    usable: bool
    detail: str


def probe_ollama(base_url: str, timeout: float = 0.5) -> list[str] | None:
    """Installed model names of an Ollama server, or None when it does not answer."""
    try:
        resp = httpx.get(f"{base_url.rstrip('/')}/api/tags", timeout=timeout)
        resp.raise_for_status()
        data = resp.json()
    except (httpx.HTTPError, ValueError):
        return None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        return None
    return [str(m.get("name", "")) for m in models if isinstance(m, dict)]


def probe(model: ModelSettings, environ: Mapping[str, str] | None = None) -> Probe:
    """A cheap check: Ollama answers and has the model; a cloud model has its key variable set."""
    if model.provider == "ollama":
        names = probe_ollama(model.effective_base_url)
        if names is None:
            return Probe(model, False, f"no Ollama answering at {model.effective_base_url}")
        wanted = model.model if ":" in model.model else f"{model.model}:latest"
        if wanted not in names and model.model not in names:
            return Probe(model, False, f"Ollama is up but the model is missing: ollama pull {model.model}")
        return Probe(model, True, f"Ollama at {model.effective_base_url} has {model.model}")
    env_name = model.effective_key_env or "(none)"
    if api_key(model, environ) is None:
        return Probe(model, False, f"API key variable {env_name} is not set")
    return Probe(model, True, f"API key variable {env_name} is set")


def discover(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> tuple[ModelSettings, ...]:
    """The models to route over: the configured ones, else those the environment provides."""
    if settings.models:
        return settings.models
    env = environ if environ is not None else os.environ
    found: list[ModelSettings] = []
    for model in DEFAULT_MODELS:
        if model.provider == "ollama":
            names = probe_ollama(DEFAULT_BASE_URLS["ollama"])
            if names:
                coder = next((n for n in names if "coder" in n), names[0])
                found.append(model.model_copy(update={"model": coder}))
        elif api_key(model, env) is not None:
            found.append(model)
    return tuple(found)
