"""Model providers: one small interface (:mod:`.base`) over Ollama, Anthropic, OpenAI-compatible
endpoints and Gemini; :func:`make_provider` builds the one a model's settings name.

The vendor adapters (and the ``ollama`` client) load on first use of ``make_provider``, so
importing the interface stays cheap for the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsp_server.providers.base import Availability, Completion, Prompt, Provider, StreamDelta, Usage

if TYPE_CHECKING:
    from lsp_server.providers.factory import make_provider

__all__ = ["Availability", "Completion", "Prompt", "Provider", "StreamDelta", "Usage", "make_provider"]


def __getattr__(name: str) -> Any:
    if name == "make_provider":
        from lsp_server.providers.factory import make_provider

        return make_provider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
