"""Display names for models in reports: who the money went to, in a word a user recognises.

The rule, in order:

1. a model run on this machine is ``Local``: tier ``local``, provider ``ollama``, or an
   OpenAI-compatible base URL whose host is loopback (``127.0.0.1``, ``localhost``, ``::1``:
   LM Studio, llama.cpp, vLLM). An Anthropic or Gemini kind on a loopback host is a proxy to
   that vendor and gets the vendor's name. The label says where a call went, not what it cost:
   prices are decided in :mod:`~lsp_server.ledger.prices`, and a loopback host is never free;
2. a known vendor host gets the vendor's name (``api.groq.com`` → ``Groq``,
   ``api.anthropic.com`` → ``Anthropic``, ``generativelanguage.googleapis.com`` → ``Gemini``, ...);
3. any other host is shown as the host without a leading ``api.`` (``api.llm.corp`` → ``llm.corp``);
4. without a usable host, the model name (e.g. ``qwen2.5-coder:7b``).

The label is stored with each attempt, so a report stays the same after the settings change.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from lsp_server.config import ModelSettings, Settings, SettingsSource

LOCAL = "Local"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})
KNOWN_HOSTS: dict[str, str] = {
    "api.groq.com": "Groq",
    "api.anthropic.com": "Anthropic",
    "generativelanguage.googleapis.com": "Gemini",
    "api.openai.com": "OpenAI",
    "openrouter.ai": "OpenRouter",
    "api.mistral.ai": "Mistral",
    "api.deepseek.com": "DeepSeek",
    "api.together.xyz": "Together",
    "api.fireworks.ai": "Fireworks",
    "api.cerebras.ai": "Cerebras",
    "api.x.ai": "xAI",
}
# Used when only the provider kind is known (no settings entry for the model).
KIND_LABELS: dict[str, str] = {
    "ollama": LOCAL,
    "anthropic": "Anthropic",
    "gemini": "Gemini",
    "openai": "OpenAI",
}


def host_of(url: str) -> str | None:
    """The lower-cased host of a URL, or None when it has none."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def is_loopback(url: str) -> bool:
    host = host_of(url)
    return host is not None and (host in LOOPBACK_HOSTS or host.startswith("127."))


def provider_label(model: ModelSettings) -> str:
    """The report label of a configured model (see the module docstring for the rule)."""
    if model.tier == "local" or model.provider == "ollama":
        return LOCAL
    if is_loopback(model.effective_base_url):
        return LOCAL if model.provider == "openai" else KIND_LABELS.get(model.provider, LOCAL)
    host = host_of(model.effective_base_url)
    if host is None:
        return model.model
    if host in KNOWN_HOSTS:
        return KNOWN_HOSTS[host]
    return host.removeprefix("api.")


def fallback_label(provider: str, model: str, tier: str) -> str:
    """A label when the model is not in the settings: by tier, provider kind, else model name."""
    if tier == "local":
        return LOCAL
    return KIND_LABELS.get(provider, model or provider)


class Labels:
    """The label of the model behind each attempt, from the current settings, kept until
    they change (looking a model up for every recorded attempt would repeat the same search)."""

    def __init__(self, settings: SettingsSource) -> None:
        self._settings = settings
        self._labels: dict[tuple[str, str, str], str] = {}
        self._for: Settings | None = None

    def label_for(self, provider: str, model: str, tier: str) -> str:
        settings = self._settings.current
        if self._for is not settings:  # settings replaced: labels may change
            self._labels.clear()
            self._for = settings
        key = (provider, model, tier)
        label = self._labels.get(key)
        if label is None:
            found = _model_settings(settings, provider, model)
            label = provider_label(found) if found is not None else fallback_label(provider, model, tier)
            self._labels[key] = label
        return label


def _model_settings(settings: Settings, provider: str, model: str) -> ModelSettings | None:
    configured = settings.model_named(provider)
    if configured is not None:
        return configured
    candidates: Sequence[ModelSettings] = settings.models
    if not candidates:
        from lsp_server.providers.discovery import DEFAULT_MODELS

        candidates = DEFAULT_MODELS
    by_name = [m for m in candidates if m.name == provider]
    by_model = [m for m in candidates if m.model == model]
    same_kind = [m for m in by_model if m.provider == provider]
    found = by_name or same_kind or by_model
    return found[0] if found else None
