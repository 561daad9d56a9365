"""pytest fixtures for the stand-ins. Import them into a conftest or test module::

    from standins.fixtures import standin  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from standins.server import StandinServer

StartStandin = Callable[..., StandinServer]


@pytest.fixture
def standin() -> Iterator[StartStandin]:
    """``standin(vendor, replies=(), **options)`` starts a server that stops after the test."""
    servers: list[StandinServer] = []

    def start(vendor: str, *replies: Any, **options: Any) -> StandinServer:
        flat: list[Any] = []
        for r in replies:
            flat.extend(r if isinstance(r, list | tuple) else [r])
        server = StandinServer(vendor, flat, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
