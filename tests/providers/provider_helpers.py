"""Helpers shared by the provider tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

from collections.abc import Callable

from lsp_server.providers.adapter import ProviderAdapter

SECRET = "sk-test-SECRET-0123456789abcdef"

MakeProvider = Callable[..., ProviderAdapter]


class RecordingSleep:
    """An injected sleep: records every wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
