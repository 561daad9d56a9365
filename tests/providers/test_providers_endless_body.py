"""A server that never finishes its answer: the try is bounded by ``timeout_seconds`` as a whole.

httpx's read timeout restarts on every chunk, so a body that keeps trickling in (a broken proxy,
a server streaming forever into a non-streamed call) would hold the request for ever. The test
server on 127.0.0.1 sends its headers, then a chunk every 50 ms until the client goes away.
"""

from __future__ import annotations

import asyncio

import pytest

from lsp_server.config import ModelSettings
from lsp_server.errors import RetryableProviderError
from lsp_server.providers import make_provider
from lsp_server.providers.base import Prompt


async def _endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while (await reader.readline()).strip():  # the request line and headers
            pass
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                     b"transfer-encoding: chunked\r\n\r\n")
        writer.write(b"1\r\n{\r\n")
        for _ in range(2000):  # bounded: 100 s at most
            writer.write(b"1\r\n \r\n")
            await writer.drain()
            await asyncio.sleep(0.05)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@pytest.mark.parametrize("provider", ["openai", "ollama"])
async def test_a_body_that_never_ends_is_cut_at_timeout_seconds(provider: str) -> None:
    server = await asyncio.start_server(_endless, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}" + ("/v1" if provider == "openai" else "")
    model = ModelSettings(name="endless", provider=provider, model="m", tier="local",
                          base_url=base, timeout_seconds=1.0, max_retries=0)
    client = make_provider(model, {})
    try:
        with pytest.raises(RetryableProviderError, match=r"no complete answer within 1s"):
            await client.generate(Prompt(system="s", instruction="hi", max_output_tokens=10))
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
