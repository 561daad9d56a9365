"""The HTTP plumbing the cloud providers share: one httpx client per model with its timeouts,
status codes and transport failures mapped onto the ``ProviderError`` tree, SSE parsing, and
scrubbing so an API key never reaches a message, a log line or a repr."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from lsp_server.config import ModelSettings
from lsp_server.errors import (
    AuthenticationError,
    FatalProviderError,
    MalformedResponseError,
    ModelNotFoundError,
    ProviderError,
    RateLimitedError,
    RetryableProviderError,
)
from lsp_server.keys import mask_keys
from lsp_server.providers.base import NOTHING_BILLED

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})

Classifier = Callable[[int, Any, str], ProviderError | None]


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One server-sent event: its ``event:`` name (may be empty) and joined ``data:`` lines."""

    event: str
    data: str


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with every secret and anything key-shaped replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return mask_keys(text)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def vendor_message(body: Any, raw: str) -> str:
    """The human part of a vendor error body: ``error.message``, ``error`` or the raw text."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        kind = err.get("type") or err.get("status") or err.get("code") or ""
        msg = str(err.get("message") or "").strip()
        return f"{kind}: {msg}" if kind and msg else msg or str(kind)
    if isinstance(err, str):
        return err
    text = raw.strip().replace("\n", " ")
    return text[:200] + ("..." if len(text) > 200 else "")


async def parse_sse(lines: AsyncIterator[str]) -> AsyncGenerator[SseEvent, None]:
    """Server-sent events from a line stream (``event:``/``data:`` fields, blank line ends)."""
    event = ""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield SseEvent(event, "\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data:
        yield SseEvent(event, "\n".join(data))


class Failures:
    """Turns HTTP statuses and transport exceptions into typed errors naming the model and the
    fix, with secrets scrubbed from every message."""

    def __init__(
        self,
        settings: ModelSettings,
        *,
        secret: str | None,
        auth_hint: str,
        classify: Classifier | None = None,
    ) -> None:
        self.settings = settings
        self.label = f"{settings.name} ({settings.provider} {settings.model})"
        self._secrets: tuple[str, ...] = (secret,) if secret else ()
        self.auth_hint = auth_hint  # how to fix a rejected key, for every vendor's own checks
        self._classify = classify

    def fail(self, cls: type[ProviderError], message: str, status: int | None = None) -> ProviderError:
        return cls(scrub(f"{self.label}: {message}", self._secrets), provider=self.settings.name, status=status)

    def status_error(self, status: int, raw: str, headers: Mapping[str, str]) -> ProviderError:
        """The typed error for an HTTP error status, with the vendor's reason and what to do.

        A 4xx is a refusal before any generation, which the vendors do not bill: its usage is
        measured as none. A 5xx may come after generation, so its billing is unknown.
        """
        return self.billed_by_status(self._status_error(status, raw, headers), status)

    @staticmethod
    def billed_by_status(error: ProviderError, status: int) -> ProviderError:
        """``error`` marked as billing nothing when ``status`` is a 4xx refusal (see
        :mod:`lsp_server.errors`); a 5xx keeps its billing unknown."""
        if 400 <= status < 500 and error.usage is None:
            error.usage = NOTHING_BILLED
        return error

    def _status_error(self, status: int, raw: str, headers: Mapping[str, str]) -> ProviderError:
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if self._classify is not None:
            special = self._classify(status, body, raw)
            if special is not None:
                return special
        reason = vendor_message(body, raw) or f"HTTP {status}"
        if status in (401, 403):
            return self.fail(AuthenticationError, f"the API key was rejected ({status} {reason}); {self.auth_hint}", status)
        if status == 404:
            return self.fail(
                ModelNotFoundError,
                f"{self.settings.effective_base_url} does not know this model or path ({status} {reason}); "
                "check `model` and `base_url` in the settings", status,
            )
        if status == 429:
            return self.rate_limited(f"rate limited (429 {reason})", parse_retry_after(headers))
        if status in RETRYABLE_STATUSES or status >= 500:
            what = "overloaded" if status in (503, 529) else "server error"
            hint = parse_retry_after(headers)
            if hint is not None:  # "come back later" with a time: treated like a rate limit
                return self.rate_limited(f"{what} ({status} {reason})", hint, status)
            return self.fail(RetryableProviderError, f"{what} ({status} {reason})", status)
        return self.fail(FatalProviderError, f"the request was rejected ({status} {reason})", status)

    def rate_limited(self, message: str, retry_after: float | None, status: int = 429) -> RateLimitedError:
        return RateLimitedError(
            scrub(f"{self.label}: {message}", self._secrets),
            provider=self.settings.name, status=status, retry_after=retry_after,
        )

    def transport_error(self, exc: httpx.HTTPError) -> ProviderError:
        """A typed error for a failure below HTTP: connect, timeout, reset, truncated body.

        A connection that was never made bills nothing; after that, billing is unknown.
        """
        s = self.settings
        if isinstance(exc, httpx.ConnectTimeout):
            return self.unsent(
                f"could not connect to {s.effective_base_url} within {s.connect_timeout_seconds:g}s "
                "(connect_timeout_seconds)",
            )
        if isinstance(exc, httpx.ConnectError):
            return self.unsent(f"cannot connect to {s.effective_base_url}: {exc}")
        if isinstance(exc, httpx.TimeoutException):
            return self.fail(
                RetryableProviderError, f"no answer within {s.timeout_seconds:g}s (timeout_seconds)"
            )
        if isinstance(exc, httpx.DecodingError):
            return self.fail(MalformedResponseError, f"the response body could not be decoded: {exc}")
        return self.fail(RetryableProviderError, f"the connection broke: {exc or type(exc).__name__}")

    def unsent(self, message: str) -> ProviderError:
        """A retryable failure to reach the server at all: nothing was sent, nothing is billed."""
        error = self.fail(RetryableProviderError, message)
        error.usage = NOTHING_BILLED
        return error

    def malformed(self, what: str) -> ProviderError:
        return self.fail(MalformedResponseError, f"the response is not the vendor's format: {what}")


class VendorHttp(Failures):
    """An httpx client bound to one configured model, raising only ``ProviderError``s."""

    def __init__(
        self,
        settings: ModelSettings,
        *,
        headers: Mapping[str, str],
        secret: str | None,
        auth_hint: str,
        classify: Classifier | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(settings, secret=secret, auth_hint=auth_hint, classify=classify)
        self._client = httpx.AsyncClient(
            base_url=settings.effective_base_url,
            headers=dict(headers),
            timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"VendorHttp({self.label} at {self.settings.effective_base_url})"

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- requests -------------------------------------------------------------------------

    async def post_json(
        self, path: str, body: Mapping[str, Any], params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """POST a JSON body and return the JSON object answered, or raise a typed error."""
        try:
            resp = await self._client.post(path, json=body, params=params)
            if resp.status_code >= 400:
                raise self.status_error(resp.status_code, resp.text, resp.headers)
            raw = resp.text
        except httpx.HTTPError as exc:
            raise self.transport_error(exc) from None
        try:
            data = json.loads(raw)
        except ValueError:
            raise self.malformed(f"not JSON: {raw[:80]!r}") from None
        if not isinstance(data, dict):
            raise self.malformed("expected a JSON object")
        return data

    async def post_sse(
        self, path: str, body: Mapping[str, Any], params: Mapping[str, str] | None = None
    ) -> AsyncGenerator[SseEvent, None]:
        """POST and yield the server-sent events; closing the generator closes the stream."""
        try:
            async with self._client.stream("POST", path, json=body, params=params) as resp:
                if resp.status_code >= 400:
                    raw = (await resp.aread()).decode("utf-8", "replace")
                    raise self.status_error(resp.status_code, raw, resp.headers)
                ctype = resp.headers.get("content-type", "")
                if ctype.startswith("application/json"):
                    raw = (await resp.aread()).decode("utf-8", "replace")
                    raise self.malformed(f"expected an event stream, got JSON: {raw[:80]!r}")
                async for event in parse_sse(resp.aiter_lines()):
                    yield event
        except httpx.HTTPError as exc:
            raise self.transport_error(exc) from None

    async def check(self, path: str) -> tuple[bool, str]:
        """GET a cheap endpoint (a model list) once, without retries: reachable and key accepted?"""
        try:
            resp = await self._client.get(
                path, timeout=httpx.Timeout(min(5.0, self.settings.timeout_seconds),
                                            connect=self.settings.connect_timeout_seconds),
            )
        except httpx.HTTPError as exc:
            return False, self.transport_error(exc).message
        if resp.status_code >= 400:
            return False, self.status_error(resp.status_code, resp.text, resp.headers).message
        return True, f"{self.settings.effective_base_url} answers and accepts the key"


def is_loopback(url: str) -> bool:
    """True when ``url`` points at this machine (a local server needs no API key)."""
    host = (httpx.URL(url).host or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def json_event(http: Failures, event: SseEvent) -> dict[str, Any]:
    """The JSON object carried by an SSE event, or a MalformedResponseError."""
    try:
        data = json.loads(event.data)
    except ValueError:
        raise http.malformed(f"an event is not JSON: {event.data[:80]!r}") from None
    if not isinstance(data, dict):
        raise http.malformed("an event is not a JSON object")
    return data


def as_int(value: Any) -> int:
    """A token count from a vendor field that may be missing or null."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
