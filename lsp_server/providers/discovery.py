"""Which models to use: exactly the configured ones, or, when none are configured, the ones the
environment offers (a running Ollama, API-key variables present)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from lsp_server.config import DEFAULT_BASE_URLS, ModelSettings, Settings, api_key
from lsp_server.providers.ollama import installed_name

# Current defaults per vendor (November 2026); every one is overridable by listing models in the
# settings. Cheapest tier first.
DEFAULT_MODELS: tuple[ModelSettings, ...] = (
    ModelSettings(name="ollama-coder", provider="ollama", model="qwen2.5-coder:7b", tier="local"),
    ModelSettings(
        name="groq-llama", provider="openai", model="llama-3.3-70b-versatile", tier="free",
        base_url="https://api.groq.com/openai/v1", api_key_env="GROQ_API_KEY",
    ),
    ModelSettings(name="gemini-flash", provider="gemini", model="gemini-3.8-flash", tier="budget"),
    ModelSettings(name="openai-mini", provider="openai", model="gpt-5.4-mini", tier="budget"),
    ModelSettings(
        name="claude-sonnet", provider="anthropic", model="claude-sonnet-5-5", tier="premium"
    ),
)

ENV_OLLAMA_HOST = "OLLAMA_HOST"


@dataclass(frozen=True)
class Probe:
    """Whether a model looks usable, and why (never containing a key)."""

    model: ModelSettings
    usable: bool
    detail: str


def ollama_url(environ: Mapping[str, str] | None = None) -> str:
    """Where Ollama listens: ``$OLLAMA_HOST`` (as Ollama itself reads it) or the default."""
    env = environ if environ is not None else os.environ
    host = env.get(ENV_OLLAMA_HOST, "").strip()
    if not host:
        return DEFAULT_BASE_URLS["ollama"]
    default_port = 11434  # as the ollama client does: a bare host gets Ollama's port,
    if "://" not in host:  # an explicit scheme its usual one
        host = f"http://{host}"
    else:
        default_port = 443 if host.startswith("https://") else 80
    url = httpx.URL(host)
    host_part = url.host or "127.0.0.1"
    if host_part == "0.0.0.0":
        host_part = "127.0.0.1"
    path = url.path.rstrip("/")
    return f"{url.scheme}://{host_part}:{url.port or default_port}{path}"


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
    return [str(m.get("model") or m.get("name") or "") for m in models if isinstance(m, dict)]


def pick_ollama_model(names: Sequence[str], preferred: str) -> str | None:
    """The model to use from those installed: the default if pulled, else a coder model, else
    any chat model (embedding models cannot answer)."""
    chat = [n for n in names if n and "embed" not in n.lower()]
    full = preferred if ":" in preferred else f"{preferred}:latest"
    for n in chat:
        if n in (preferred, full):
            return n
    coders = [n for n in chat if "coder" in n.lower() or "code" in n.lower()]
    pool = coders or chat
    return pool[0] if pool else None


def probe(model: ModelSettings, environ: Mapping[str, str] | None = None) -> Probe:
    """A cheap synchronous check: Ollama answers and has the model; a cloud model has its key
    variable set. (``Provider.diagnose()`` also asks the cloud endpoint.)"""
    if model.provider == "ollama":
        names = probe_ollama(model.effective_base_url)
        if names is None:
            return Probe(model, False, f"no Ollama answering at {model.effective_base_url}")
        if not installed_name(model.model, names):
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
            url = ollama_url(env)
            names = probe_ollama(url)
            chosen = pick_ollama_model(names or [], model.model)
            if chosen:
                update: dict[str, object] = {"model": chosen}
                if url != DEFAULT_BASE_URLS["ollama"]:
                    update["base_url"] = url
                found.append(model.model_copy(update=update))
        elif api_key(model, env) is not None:
            found.append(model)
    return tuple(found)
