"""The one small interface the router calls every model through.

A :class:`Prompt` is structured so providers can place cache breakpoints: the system text and the
stable context prefix come first and change rarely; the volatile part and the instruction change
with every request. A :class:`Completion` carries what the vendor reported, normalised the same
way for every vendor (see :class:`Usage`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from lsp_server.config import ModelSettings
from lsp_server.errors import ProviderError
from lsp_server.providers.tools import (
    ToolCall,
    ToolSpec,
    ToolTurn,
    declarations_json,
    text_transcript,
)


@dataclass(frozen=True, slots=True)
class Prompt:
    """What a model is asked. ``stable`` is the cacheable context prefix (same across requests);
    ``volatile`` is request-specific context; ``instruction`` is the user's ask.
    ``max_output_tokens`` is this call's output limit (the model's setting when None), and
    ``stop`` the sequences that end the answer where the vendor supports them (at most four,
    the smallest vendor limit). ``tools`` are offered through the vendor's native tool calling,
    and ``turns`` are the tool turns so far, sent after everything else (see
    :mod:`lsp_server.providers.tools`)."""

    system: str
    stable: str = ""
    volatile: str = ""
    instruction: str = ""
    max_output_tokens: int | None = None
    temperature: float | None = None
    stop: tuple[str, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    turns: tuple[ToolTurn, ...] = ()
    tool_choice: Literal["auto", "none"] = "auto"  # "none": the tools may not be called now

    def text(self) -> str:
        """The prompt flattened, for digests and token estimates."""
        turns = text_transcript(self.turns) if self.turns else ""
        return "\n\n".join(p for p in (self.system, self.stable, self.volatile, self.instruction,
                                        turns) if p)

    def billed_text(self) -> str:
        """:meth:`text` plus the native tool declarations (vendors bill them as input), for
        token estimates."""
        if not self.tools:
            return self.text()
        return self.text() + "\n\n" + declarations_json(self.tools)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the vendor reported them.

    ``input`` counts every prompt token, cached ones included; ``cache_read`` and ``cache_write``
    are the cached parts of it; ``output`` counts generated tokens.
    """

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input + other.input,
            self.output + other.output,
            self.cache_read + other.cache_read,
            self.cache_write + other.cache_write,
        )


NOTHING_BILLED = Usage()  # a failed call that the vendor does not bill (see lsp_server.errors)


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished answer.

    ``usage_estimated`` is True when the vendor reported no usage and ``usage`` is an estimate
    from the prompt and the answer. ``tries`` are the failed tries of the same call that the
    provider retried before this answer, oldest first (each error carries its latency and what
    it is billed for); ``latency_ms`` is this answer's own try.
    """

    text: str
    model: str
    usage: Usage
    stop_reason: str | None = None
    latency_ms: float = 0.0
    provider: str = ""
    raw_model: str = ""
    extra: dict[str, object] = field(default_factory=dict)
    usage_estimated: bool = False
    tries: tuple[ProviderError, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()  # native tool calls the answer asks for


@dataclass(frozen=True, slots=True)
class StreamDelta:
    """A piece of streamed text; the last item of a stream is the Completion itself.

    ``tool_call`` names a native tool call that starts here (its text is empty): the answer is
    a tool turn, which early stop accepts as a valid start. ``usage`` is the server's own count
    so far, where it reports one mid-stream (llama.cpp's ``timings``): an answer stopped before
    the stream's final usage is billed from it."""

    text: str
    tool_call: str | None = None
    usage: Usage | None = None


@runtime_checkable
class Provider(Protocol):
    """What every vendor adapter offers. Errors are subclasses of ``ProviderError``.

    ``stream`` yields :class:`StreamDelta` items, then one :class:`Completion`; if it raises
    instead, the text already yielded is not an answer and must be dropped. Cancelling the
    consuming task closes the HTTP stream; a consumer that stops early without cancelling
    should iterate inside ``contextlib.aclosing(provider.stream(prompt))``.
    """

    settings: ModelSettings

    async def tool_format(self) -> Literal["native", "text"]:
        """How this model is offered tools: the vendor's own tool calling or the text protocol
        (``models[].tool_format``, with ``auto`` resolved; may ask the server once)."""
        ...

    async def generate(self, prompt: Prompt) -> Completion: ...

    def stream(self, prompt: Prompt) -> AsyncIterator[StreamDelta | Completion]: ...

    async def available(self) -> bool: ...

    def count_tokens(self, text: str) -> int: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether a model can be called right now, and why (never containing a key)."""

    ok: bool
    detail: str
