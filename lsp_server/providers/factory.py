"""Build the provider for one configured model."""

from __future__ import annotations

from collections.abc import Mapping

from lsp_server.config import ModelSettings, api_key
from lsp_server.providers.adapter import ProviderAdapter
from lsp_server.providers.anthropic import AnthropicProvider
from lsp_server.providers.gemini import GeminiProvider
from lsp_server.providers.ollama import OllamaProvider
from lsp_server.providers.openai_compat import OpenAICompatProvider
from lsp_server.providers.retry import RetryPolicy


def make_provider(
    model: ModelSettings,
    environ: Mapping[str, str] | None = None,
    *,
    policy: RetryPolicy | None = None,
) -> ProviderAdapter:
    """The adapter for ``model``; its key is read from ``environ`` (default ``os.environ``).

    A missing key is not an error here: ``available()`` reports it, and a call raises
    ``AuthenticationError`` naming the variable to set.
    """
    policy = policy or RetryPolicy(max_retries=model.max_retries)
    if model.provider == "ollama":
        return OllamaProvider(model, policy=policy)
    key = api_key(model, environ)
    if model.provider == "anthropic":
        return AnthropicProvider(model, api_key=key, policy=policy)
    if model.provider == "gemini":
        return GeminiProvider(model, api_key=key, policy=policy)
    return OpenAICompatProvider(model, api_key=key, policy=policy)
