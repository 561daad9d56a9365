"""A real llama.cpp server (llama-server) with Gemma 3 270M for the whole session
(tests/local_llama.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from local_llama import llama_server, require_llama


@pytest.fixture(scope="session")
def llama_url() -> Iterator[str]:
    """The served model's base URL (``.../v1``); skips, or fails under AO_REQUIRE_LLAMA=1,
    when llama-server or the model is not installed."""
    require_llama()
    with llama_server(n_ctx=8192) as url:
        yield url
