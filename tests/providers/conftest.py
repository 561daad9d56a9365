"""Fixtures for the provider tests: stand-ins, fast recorded retries, providers wired to them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from provider_helpers import SECRET, MakeProvider, RecordingSleep
from standins import StandinServer
from standins.fixtures import standin  # noqa: F401  (re-exported fixture)

from lsp_server.config import ModelSettings
from lsp_server.providers import make_provider
from lsp_server.providers.adapter import ProviderAdapter
from lsp_server.providers.retry import RetryPolicy


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def connect(sleeps: RecordingSleep) -> AsyncIterator[MakeProvider]:
    """``connect(server, **settings)``: a provider for the stand-in, with recorded retry waits."""
    made: list[ProviderAdapter] = []

    def build(server: StandinServer, *, key: str | None = SECRET, **overrides: Any) -> ProviderAdapter:
        settings = ModelSettings(**server.model_settings(**overrides))
        environ = {settings.effective_key_env: key} if key and settings.effective_key_env else {}
        policy = RetryPolicy(max_retries=settings.max_retries, sleep=sleeps, rng=lambda: 0.5, scale=1.0)
        provider = make_provider(settings, environ, policy=policy)
        made.append(provider)
        return provider

    yield build
    for provider in made:
        await provider.aclose()
