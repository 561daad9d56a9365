"""Local models through Ollama's native API, using the official ``ollama`` async client.

Ollama's default context window is small and it silently drops the start of a longer prompt, so
every call sets ``num_ctx`` from the prompt's estimated size (rounded up to a power of two, so
the model is not reloaded for every new size). ``keep_alive`` keeps the model loaded between
calls. Usage comes from ``prompt_eval_count`` / ``eval_count``; Ollama reports no cache figures.
When an answer lacks either count, usage is estimated and the completion says so.

Tools go in ``/api/chat``'s ``tools``; the answer's ``message.tool_calls`` (arguments as an
object) become the completion's tool calls and earlier turns follow the prompt as ``assistant``
and ``tool`` messages. Whether a model takes tools is in its template, so ``tool_format =
"auto"`` asks ``/api/show`` once for the model's capabilities: Ollama refuses ``tools`` for a
model without the ``tools`` capability.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import httpx
import ollama

from lsp_server.config import ModelSettings
from lsp_server.errors import (
    AuthenticationError,
    FatalProviderError,
    ModelNotFoundError,
    ProviderError,
    RetryableProviderError,
)
from lsp_server.providers.adapter import ProviderAdapter
from lsp_server.providers.base import Availability, Completion, Prompt, StreamDelta, Usage
from lsp_server.providers.http import Failures
from lsp_server.providers.retry import RetryPolicy, call_with_retries
from lsp_server.providers.tools import ToolCall, ollama_call, ollama_turn_messages, openai_tools

T = TypeVar("T")

MIN_NUM_CTX = 4096
MAX_NUM_CTX = 131072


def num_ctx_for(prompt_tokens: int, max_output: int, context_window: int | None) -> int:
    """A context window that holds the prompt (with a 20% estimate margin) and the answer."""
    need = int(prompt_tokens * 1.2) + max_output + 256
    size = MIN_NUM_CTX
    while size < need and size < MAX_NUM_CTX:
        size *= 2
    return min(size, context_window) if context_window else size


def installed_name(wanted: str, names: Sequence[str]) -> bool:
    """Whether ``wanted`` is among Ollama's model names (``x`` means ``x:latest``)."""
    full = wanted if ":" in wanted else f"{wanted}:latest"
    return wanted in names or full in names


class OllamaProvider(ProviderAdapter):
    """A model served by Ollama (``/api/chat``, ``/api/tags``, ``/api/embed``)."""

    needs_key = False

    def __init__(self, settings: ModelSettings, *, policy: RetryPolicy | None = None) -> None:
        super().__init__(settings, api_key=None, policy=policy)
        self.client = ollama.AsyncClient(
            host=settings.effective_base_url,
            timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
        )
        self.failures = Failures(
            settings, secret=None, auth_hint="set OLLAMA_API_KEY for a remote Ollama that needs one"
        )
        self._takes_tools: bool | None = None  # the model's "tools" capability, once known

    async def _auto_native(self) -> bool:
        """Whether the model has the ``tools`` capability (``/api/show``, asked once; an
        Ollama that cannot say is asked again next time, and meanwhile gets the text
        protocol)."""
        if self._takes_tools is None:
            try:
                shown = await self._guard(lambda: self.client.show(self.settings.model))
            except ProviderError:
                return False
            if shown.capabilities is not None:
                self._takes_tools = "tools" in shown.capabilities
            else:  # an Ollama older than capabilities: the template handles tools or not
                self._takes_tools = ".Tools" in (shown.template or "")
        return self._takes_tools

    async def aclose(self) -> None:
        await self.client.close()  # type: ignore[no-untyped-call]

    # -- errors ---------------------------------------------------------------------------

    def _error(self, exc: BaseException) -> ProviderError:
        """The typed error; a 4xx or a server that never answered bills nothing (see
        :mod:`lsp_server.errors`)."""
        error = self._typed_error(exc)
        if isinstance(exc, ollama.ResponseError):
            return self.failures.billed_by_status(error, exc.status_code)
        return error

    def _typed_error(self, exc: BaseException) -> ProviderError:
        f, s = self.failures, self.settings
        if isinstance(exc, ollama.ResponseError):
            status, reason = exc.status_code, str(exc.error)
            lowered = reason.lower()
            if status == 404 or ("not found" in lowered and "model" in lowered):
                return f.fail(
                    ModelNotFoundError,
                    f"the model is not installed in Ollama at {s.effective_base_url}; "
                    f"run `ollama pull {s.model}` ({reason})", status if status > 0 else None,
                )
            if status in (401, 403):
                return f.fail(AuthenticationError, f"access denied ({status} {reason}); {f.auth_hint}", status)
            if status == 429:
                return f.rate_limited(f"rate limited ({reason})", None)
            if status == -1 or status >= 500:
                return f.fail(RetryableProviderError, f"Ollama failed ({reason})", status if status > 0 else None)
            return f.fail(FatalProviderError, f"the request was rejected ({status} {reason})", status)
        if isinstance(exc, httpx.HTTPError):
            return f.transport_error(exc)
        if isinstance(exc, ConnectionError):
            return f.unsent(
                f"Ollama is not answering at {s.effective_base_url}; start it with `ollama serve`"
            )
        return f.malformed(f"{type(exc).__name__}: {str(exc)[:120]}")

    async def _guard(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError, ValueError, TypeError) as exc:
            raise self._error(exc) from None

    # -- requests -------------------------------------------------------------------------

    def _request(self, prompt: Prompt) -> dict[str, Any]:
        s = self.settings
        user = "\n\n".join(p for p in (prompt.stable, prompt.volatile, prompt.instruction) if p)
        messages: list[dict[str, Any]] = (
            [{"role": "system", "content": prompt.system}] if prompt.system else [])
        messages.append({"role": "user", "content": user or "(no instruction)"})
        messages += ollama_turn_messages(prompt.turns)  # after the rest: the prefix stays
        max_output = prompt.max_output_tokens or s.max_output_tokens
        prompt_tokens = self.count_tokens(prompt.billed_text())
        if s.context_window and prompt_tokens > s.context_window:
            raise self.failures.fail(
                FatalProviderError,
                f"the prompt (~{prompt_tokens} tokens) does not fit context_window {s.context_window}",
            )
        options: dict[str, Any] = {
            "num_ctx": num_ctx_for(prompt_tokens, max_output, s.context_window),
            "num_predict": max_output,
            "temperature": s.temperature if prompt.temperature is None else prompt.temperature,
        }
        if prompt.stop:
            options["stop"] = list(prompt.stop)
        request: dict[str, Any] = {"model": s.model, "messages": messages, "options": options,
                                   "keep_alive": s.keep_alive}
        # Ollama has no tool_choice: a turn that may not call tools is sent without them.
        if prompt.tools and prompt.tool_choice == "auto":
            request["tools"] = openai_tools(prompt.tools)
        return request

    def _completion(self, part: ollama.ChatResponse, text: str, num_ctx: int,
                    prompt: Prompt, calls: tuple[ToolCall, ...] = ()) -> Completion:
        counts = (part.prompt_eval_count, part.eval_count)
        usage = None if None in counts else Usage(input=counts[0] or 0, output=counts[1] or 0)
        extra: dict[str, object] = {"num_ctx": num_ctx, "load_ms": (part.load_duration or 0) / 1e6}
        return self.completion(text, usage, part.done_reason, part.model, extra, prompt, calls)

    async def _generate_once(self, prompt: Prompt) -> Completion:
        request = self._request(prompt)
        resp = await self._guard(lambda: self.client.chat(**request, stream=False))
        if not resp.done:
            raise self.failures.malformed("the answer is not marked done")
        return self._completion(resp, resp.message.content or "", request["options"]["num_ctx"],
                                prompt, _calls(resp.message.tool_calls, 0))

    async def _stream_once(self, prompt: Prompt) -> AsyncGenerator[StreamDelta | Completion, None]:
        request = self._request(prompt)
        parts = await self._guard(lambda: self.client.chat(**request, stream=True))
        texts: list[str] = []
        calls: list[ToolCall] = []  # a call arrives whole, in a part before the last
        async with _closing(parts):
            while True:
                part = await self._guard(lambda: _next(parts))
                if part is None:
                    break
                found = _calls(part.message.tool_calls, len(calls))
                calls += found
                for call in found:
                    yield StreamDelta("", tool_call=call.name)
                if part.message.content:
                    texts.append(part.message.content)
                    yield StreamDelta(part.message.content)
                if part.done:
                    yield self._completion(part, "".join(texts), request["options"]["num_ctx"],
                                           prompt, tuple(calls))
                    return
        raise self.failures.malformed("the stream ended before a part marked done")

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> list[list[float]]:
        """Embedding vectors for ``texts`` through ``/api/embed`` (by default with this model)."""
        name = model or self.settings.model

        async def once() -> list[list[float]]:
            resp = await self._guard(
                lambda: self.client.embed(model=name, input=list(texts), keep_alive=self.settings.keep_alive)
            )
            vectors = [list(map(float, v)) for v in resp.embeddings]
            if len(vectors) != len(texts):
                raise self.failures.malformed(f"{len(vectors)} embeddings for {len(texts)} inputs")
            return vectors

        return await call_with_retries(once, self.policy, self.label)

    async def installed(self) -> list[str]:
        """Names of the models Ollama has pulled (``/api/tags``)."""
        resp = await self._guard(self.client.list)
        return [m.model for m in resp.models if m.model]

    async def _check(self) -> Availability:
        try:
            names = await self.installed()
        except ProviderError as exc:
            return Availability(False, exc.message)
        if not installed_name(self.settings.model, names):
            return Availability(False, f"Ollama is up but the model is missing: ollama pull {self.settings.model}")
        return Availability(True, f"Ollama at {self.settings.effective_base_url} has {self.settings.model}")


def _calls(raw: Sequence[ollama.Message.ToolCall] | None, before: int) -> tuple[ToolCall, ...]:
    """An answer's ``tool_calls`` (``before``: calls already seen in the same answer)."""
    return tuple(ollama_call(before + i + 1, c.function.name, c.function.arguments)
                 for i, c in enumerate(raw or ()))


async def _next(parts: AsyncIterator[ollama.ChatResponse]) -> ollama.ChatResponse | None:
    try:
        return await anext(parts)
    except StopAsyncIteration:
        return None


@contextlib.asynccontextmanager
async def _closing(parts: AsyncIterator[Any]) -> AsyncIterator[None]:
    """Close the client's stream (and so the HTTP response) however the loop ends."""
    try:
        yield
    finally:
        aclose = getattr(parts, "aclose", None)
        if aclose is not None:
            await aclose()

