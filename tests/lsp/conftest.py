"""Fixtures shared by the tests that drive the server over stdio: the pytest-lsp client, and an
OpenAI stand-in for the tests whose workspace names one. Its key variable is set for every test
here, before the server process starts; no model discovery reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_lsp
from lsp_helpers import OPENAI_KEY, OPENAI_KEY_VAR, SERVER
from pytest_lsp import LanguageClient
from standins import StandinServer


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient) -> AsyncIterator[LanguageClient]:
    yield lsp_client
    await lsp_client.shutdown_session()


@pytest.fixture(scope="module")
def model_server() -> Iterator[StandinServer]:
    """One OpenAI stand-in per test module (reset for each test by :func:`standin`)."""
    with StandinServer("openai", api_key=OPENAI_KEY) as server:
        yield server


@pytest.fixture
def standin(model_server: StandinServer) -> StandinServer:
    """The module's stand-in, with no replies queued."""
    model_server.reset()
    return model_server


@pytest.fixture(autouse=True)
def _openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OPENAI_KEY_VAR, OPENAI_KEY)
