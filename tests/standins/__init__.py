"""HTTP servers on 127.0.0.1 that speak model vendors' wire formats, for tests and benchmarks.

In a test::

    from standins import Reply, StandinServer
    with StandinServer("anthropic", [Reply("hi", input=1200, output=3, cache_read=1000)]) as srv:
        settings = ModelSettings(**srv.model_settings(name="claude"))
        ...
        assert srv.generations[0].body["model"] == "claude-sonnet-4-5"

As a process (for editor tests and benchmarks), with ``tests/`` on the path::

    PYTHONPATH=tests python -m standins --vendor anthropic --port 0 --script replies.json

prints the base URL on its first stdout line; ``GET /_standin/requests`` returns the log,
``POST /_standin/replies`` queues replies and ``POST /_standin/reset`` clears both.
"""

from standins.script import RecordedRequest, Reply, load_script
from standins.server import StandinServer
from standins.wire import WIRES

VENDORS = tuple(WIRES)

__all__ = ["VENDORS", "RecordedRequest", "Reply", "StandinServer", "load_script"]
