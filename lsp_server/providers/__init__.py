"""Model providers: one small interface (:mod:`.base`) over Ollama, Anthropic, OpenAI-compatible
endpoints and Gemini; :func:`make_provider` builds the one a model's settings name."""

from lsp_server.providers.base import Availability, Completion, Prompt, Provider, StreamDelta, Usage
from lsp_server.providers.factory import make_provider

__all__ = ["Availability", "Completion", "Prompt", "Provider", "StreamDelta", "Usage", "make_provider"]
