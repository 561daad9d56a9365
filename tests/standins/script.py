"""What a stand-in answers: scripted replies, and the record of what it was asked."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key", "cookie"})


@dataclass
class Reply:
    """One scripted answer. Usage numbers are normalised (``input`` counts cached tokens too);
    each vendor renders them its own way (Anthropic reports cached tokens apart).

    ``None`` usage numbers are estimated from the request and the answer.
    """

    text: str = "OK"
    input: int | None = None
    output: int | None = None
    cache_read: int = 0
    cache_write: int = 0
    status: int = 200
    retry_after: float | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error_message: str | None = None
    delay: float = 0.0  # seconds before the status line
    chunk_delay: float = 0.0  # seconds between streamed chunks
    chunks: list[str] | None = None  # how a stream splits ``text`` (default: word by word)
    drop_after: int | None = None  # close the connection after this many text chunks
    malformed: str | None = None  # send this instead of the vendor's JSON (status 200)
    truncate: bool = False  # end the stream cleanly after the last text chunk, without closing events
    raw_events: list[str] | None = None  # stream these data payloads instead of the vendor's events
    stream_error: str | None = None  # an error event in the stream after drop_after (or 0) chunks
    drop_before_end: bool = False  # close the connection instead of sending the stream's last event
    report_usage: bool = True  # False: no usage in the answer (OpenAI-compatible servers, Ollama)
    stop_reason: str | None = None
    model: str | None = None
    # Native tool calls (every vendor): each {"name": ..., "args": {...}}, or {"name": ...,
    # "raw": "..."} to send arguments that are not valid JSON (OpenAI only: its arguments are a
    # string the model writes; Anthropic's input, Gemini's args and Ollama's arguments are
    # objects: their servers parse the model's JSON, and Gemini answers a call it cannot parse
    # with the finish reason MALFORMED_FUNCTION_CALL, scripted as ``stop_reason``).
    tool_calls: list[dict[str, Any]] | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Reply:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown reply fields: {sorted(unknown)}")
        return cls(**dict(data))

    def text_chunks(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        return re.findall(r"\s*\S+\s*", self.text) or ([self.text] if self.text else [])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def call_arguments(self, call: Mapping[str, Any]) -> str:
        """A scripted tool call's arguments as the JSON text a vendor sends."""
        return str(call["raw"]) if "raw" in call else json.dumps(call.get("args", {}))


@dataclass
class RecordedRequest:
    """A request as received (secret headers masked as ``***``; ``raw`` is the body text)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw: str
    kind: str = ""  # generate | stream | models | embed | tags | ... ("" when unrouted)
    status: int = 0
    key_presented: bool = False
    key_ok: bool = True
    disconnected: bool = False  # the client closed the connection before the answer ended

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


Fallback = Callable[[RecordedRequest], "Reply | str"]


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: ("***" if k in SECRET_HEADERS else v) for k, v in headers.items()}


def load_script(text: str) -> tuple[list[Reply], Reply | None]:
    """Replies from a script file: a JSON list of replies, or ``{"replies": [...], "fallback": {...}}``."""
    data = json.loads(text) if text.strip() else []
    if isinstance(data, list):
        return [Reply.from_mapping(r) for r in data], None
    if not isinstance(data, dict):
        raise ValueError("a script is a JSON list of replies or an object with 'replies'")
    replies = [Reply.from_mapping(r) for r in data.get("replies", [])]
    fallback = data.get("fallback")
    return replies, Reply.from_mapping(fallback) if fallback else None


def estimate_tokens(text: str) -> int:
    """A stable, simple estimate used when a reply gives no usage numbers."""
    return max(1, (len(text) + 3) // 4)
