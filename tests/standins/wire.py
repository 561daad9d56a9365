"""Each vendor's wire format: routes, bodies, stream events and error shapes, as the real
services send them (checked by parsing them with the vendors' own SDKs in the tests)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from standins.script import RecordedRequest, Reply

Event = tuple[bytes, bool]  # wire bytes, and whether they carry answer text


@dataclass
class Usage:
    input: int
    output: int
    cache_read: int
    cache_write: int


def _sse(data: Any, event: str | None = None, sep: str = "\n") -> bytes:
    head = f"event: {event}{sep}" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}{sep}{sep}".encode()


def _request_model(req: RecordedRequest) -> str:
    return str(req.body.get("model", "")) if isinstance(req.body, dict) else ""


def request_text(req: RecordedRequest) -> str:
    """Every string in the request body joined, for usage estimates and fallbacks."""
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                if k not in ("model", "role", "type"):
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(req.body)
    return "\n".join(out)


class Wire(ABC):
    """Base: what a vendor stand-in must say. Subclasses fill in the vendor's shapes."""

    name = ""
    stream_content_type = "text/event-stream"
    default_model = ""
    key_header = ""

    @staticmethod
    def embedder(text: str) -> list[float]:
        """The vector an embedding endpoint answers for ``text`` (a server may set its own)."""
        return embedding(text)

    @abstractmethod
    def route(self, req: RecordedRequest) -> str | None:
        """The endpoint a request is for (None: not this vendor's path)."""

    def presented_key(self, req: RecordedRequest, raw_headers: dict[str, str]) -> str | None:
        return raw_headers.get(self.key_header)

    def unauthorized(self) -> tuple[int, Any]:
        return 401, self.error(401, "invalid api key", None)

    @abstractmethod
    def error(self, status: int, message: str, retry_after: float | None) -> Any:
        """The vendor's error body."""

    @abstractmethod
    def answer(self, reply: Reply, req: RecordedRequest, usage: Usage) -> Any:
        """The vendor's non-streamed answer body."""

    @abstractmethod
    def stream(self, reply: Reply, req: RecordedRequest, usage: Usage) -> list[Event]:
        """The vendor's stream events for an answer."""

    def stream_error_event(self, kind: str) -> bytes:
        return _sse(self.error(500, kind, None))

    def malformed_event(self, payload: str) -> bytes:
        return f"data: {payload}\n\n".encode()

    def info(self, kind: str, req: RecordedRequest, models: list[str] | None) -> tuple[int, Any]:
        return 404, self.error(404, f"no route for {req.path}", None)

    def missing_model(self, req: RecordedRequest, models: list[str] | None) -> tuple[int, Any] | None:
        return None

    def refuse(self, req: RecordedRequest) -> tuple[int, Any] | None:
        """The vendor's 400 for a generation request it would refuse (None: it is fine)."""
        return None

    def model_of(self, reply: Reply, req: RecordedRequest) -> str:
        return reply.model or _request_model(req) or self.default_model


class AnthropicWire(Wire):
    name = "anthropic"
    default_model = "claude-sonnet-5-5"
    key_header = "x-api-key"
    _types: ClassVar[dict[int, str]] = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
              404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
              500: "api_error", 529: "overloaded_error"}

    def presented_key(self, req: RecordedRequest, raw_headers: dict[str, str]) -> str | None:
        """The API takes the key as ``x-api-key`` or as ``Authorization: Bearer`` (newer SDKs)."""
        bearer = raw_headers.get("authorization", "")
        return raw_headers.get("x-api-key") or (bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else None)

    def route(self, req: RecordedRequest) -> str | None:
        if req.method == "POST" and req.path == "/v1/messages":
            return "stream" if isinstance(req.body, dict) and req.body.get("stream") else "generate"
        if req.method == "POST" and req.path == "/v1/messages/count_tokens":
            return "count_tokens"
        if req.method == "GET" and req.path == "/v1/models":
            return "models"
        return None

    def unauthorized(self) -> tuple[int, Any]:
        return 401, self.error(401, "invalid x-api-key", None)

    def error(self, status: int, message: str, retry_after: float | None) -> Any:
        kind = self._types.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message},
                "request_id": f"req_{uuid.uuid4().hex[:24]}"}

    def _usage(self, u: Usage, output: int) -> dict[str, Any]:
        return {
            "input_tokens": u.input - u.cache_read - u.cache_write,
            "cache_creation_input_tokens": u.cache_write,
            "cache_read_input_tokens": u.cache_read,
            "cache_creation": {"ephemeral_5m_input_tokens": u.cache_write, "ephemeral_1h_input_tokens": 0},
            "output_tokens": output,
            "service_tier": "standard",
        }

    def _message(self, reply: Reply, req: RecordedRequest, usage: Usage, content: list[Any],
                 stop: str | None, output: int) -> dict[str, Any]:
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant",
            "model": self.model_of(reply, req), "content": content, "stop_reason": stop,
            "stop_sequence": None, "usage": self._usage(usage, output),
        }

    @staticmethod
    def _tool_uses(reply: Reply) -> list[dict[str, Any]]:
        return [{"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": c["name"],
                 "input": c.get("args", {})} for c in reply.tool_calls or ()]

    def _stop(self, reply: Reply) -> str:
        return reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn")

    def answer(self, reply: Reply, req: RecordedRequest, usage: Usage) -> Any:
        content = [{"type": "text", "text": reply.text}] if reply.text else []
        return self._message(reply, req, usage, content + self._tool_uses(reply), self._stop(reply),
                             usage.output)

    def stream(self, reply: Reply, req: RecordedRequest, usage: Usage) -> list[Event]:
        start = self._message(reply, req, usage, [], None, 1)
        events: list[Event] = [(_sse({"type": "message_start", "message": start}, "message_start"), False)]
        index = 0
        if reply.text or not reply.tool_calls:
            events.append((_sse({"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}, "content_block_start"), False))
        events.append((_sse({"type": "ping"}, "ping"), False))
        for chunk in reply.text_chunks():
            events.append((_sse({"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": chunk}}, "content_block_delta"), True))
        if reply.text or not reply.tool_calls:
            events.append((_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"), False))
            index = 1
        # A tool_use block starts with an empty input; the input arrives as JSON text in pieces.
        for offset, block in enumerate(self._tool_uses(reply)):
            i = index + offset
            raw = json.dumps(block["input"])
            events.append((_sse({"type": "content_block_start", "index": i, "content_block": {
                **block, "input": {}}}, "content_block_start"), False))
            for piece in (raw[: len(raw) // 2], raw[len(raw) // 2:]):
                events.append((_sse({"type": "content_block_delta", "index": i, "delta": {
                    "type": "input_json_delta", "partial_json": piece}}, "content_block_delta"), False))
            events.append((_sse({"type": "content_block_stop", "index": i}, "content_block_stop"), False))
        events += [
            (_sse({"type": "message_delta",
                   "delta": {"stop_reason": self._stop(reply), "stop_sequence": None},
                   "usage": {"output_tokens": usage.output}}, "message_delta"), False),
            (_sse({"type": "message_stop"}, "message_stop"), False),
        ]
        return events

    def stream_error_event(self, kind: str) -> bytes:
        return _sse({"type": "error", "error": {"type": kind, "message": kind.replace("_", " ")}}, "error")

    def info(self, kind: str, req: RecordedRequest, models: list[str] | None) -> tuple[int, Any]:
        if kind == "count_tokens":
            return 200, {"input_tokens": max(1, len(request_text(req)) // 4)}
        ids = models or [self.default_model]
        data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-09-29T00:00:00Z"} for m in ids]
        return 200, {"data": data, "has_more": False, "first_id": ids[0], "last_id": ids[-1]}


class OpenAIWire(Wire):
    name = "openai"
    default_model = "gpt-5.4-mini-2026-03-17"
    key_header = "authorization"
    prefix = "/v1"

    def presented_key(self, req: RecordedRequest, raw_headers: dict[str, str]) -> str | None:
        value = raw_headers.get("authorization", "")
        return value.removeprefix("Bearer ") if value.startswith("Bearer ") else None

    def route(self, req: RecordedRequest) -> str | None:
        if req.method == "POST" and req.path.endswith("/chat/completions"):
            return "stream" if isinstance(req.body, dict) and req.body.get("stream") else "generate"
        if req.method == "GET" and req.path.endswith("/models"):
            return "models"
        return None

    def unauthorized(self) -> tuple[int, Any]:
        return 401, {"error": {
            "message": "Incorrect API key provided: sk-proj-************abcd. You can find your API key "
            "at https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}

    def error(self, status: int, message: str, retry_after: float | None) -> Any:
        kind = {429: "rate_limit_exceeded", 404: "invalid_request_error", 400: "invalid_request_error"}.get(
            status, "server_error" if status >= 500 else "invalid_request_error")
        code = {429: "rate_limit_exceeded", 404: "model_not_found"}.get(status)
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def _usage(self, u: Usage) -> dict[str, Any]:
        return {
            "prompt_tokens": u.input, "completion_tokens": u.output, "total_tokens": u.input + u.output,
            "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }

    def answer(self, reply: Reply, req: RecordedRequest, usage: Usage) -> Any:
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": 1760000000,
            "model": self.model_of(reply, req),
            "choices": [{"index": 0, "message": {
                "role": "assistant", "content": reply.text or (None if reply.tool_calls else ""),
                "refusal": None, "annotations": [],
                **({"tool_calls": [{"id": cid, "type": "function", "function": {
                    "name": c["name"], "arguments": reply.call_arguments(c)}}
                    for cid, c in self._calls(reply)]} if reply.tool_calls else {})},
                "logprobs": None, "finish_reason": self._finish(reply)}],
            **({"usage": self._usage(usage)} if reply.report_usage else {}),
            "service_tier": "default", "system_fingerprint": "fp_standin",
        }

    def stream(self, reply: Reply, req: RecordedRequest, usage: Usage) -> list[Event]:
        body = req.body if isinstance(req.body, dict) else {}
        # A server that reports no usage ignores ``stream_options`` (older llama.cpp, some proxies).
        include_usage = reply.report_usage and bool((body.get("stream_options") or {}).get("include_usage"))
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        model = self.model_of(reply, req)

        def chunk(choices: list[Any], usage_field: Any = None) -> bytes:
            data: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": 1760000000,
                                    "model": model, "service_tier": "default",
                                    "system_fingerprint": "fp_standin", "choices": choices}
            if include_usage:
                data["usage"] = usage_field
            return _sse(data)

        events: list[Event] = [(chunk([{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None},
                                        "logprobs": None, "finish_reason": None}]), False)]
        for piece in reply.text_chunks():
            events.append((chunk([{"index": 0, "delta": {"content": piece}, "logprobs": None,
                                   "finish_reason": None}]), True))
        # A tool call streams as pieces keyed by its index: the first has the id and the name,
        # the rest append to the arguments.
        for i, (cid, c) in enumerate(self._calls(reply)):
            raw = reply.call_arguments(c)
            events.append((chunk([{"index": 0, "delta": {"tool_calls": [{
                "index": i, "id": cid, "type": "function",
                "function": {"name": c["name"], "arguments": ""}}]},
                "logprobs": None, "finish_reason": None}]), False))
            for piece in (raw[: len(raw) // 2], raw[len(raw) // 2:]):
                events.append((chunk([{"index": 0, "delta": {"tool_calls": [{
                    "index": i, "function": {"arguments": piece}}]},
                    "logprobs": None, "finish_reason": None}]), False))
        events.append((chunk([{"index": 0, "delta": {}, "logprobs": None,
                               "finish_reason": self._finish(reply)}]), False))
        if include_usage:
            events.append((chunk([], self._usage(usage)), False))
        events.append((_sse("[DONE]"), False))
        return events

    def stream_error_event(self, kind: str) -> bytes:
        return _sse({"error": {"message": kind, "type": "server_error", "param": None, "code": "server_error"}})

    @staticmethod
    def _calls(reply: Reply) -> list[tuple[str, dict[str, Any]]]:
        return [(f"call_{uuid.uuid4().hex[:24]}", c) for c in reply.tool_calls or ()]

    @staticmethod
    def _finish(reply: Reply) -> str:
        return reply.stop_reason or ("tool_calls" if reply.tool_calls else "stop")

    def info(self, kind: str, req: RecordedRequest, models: list[str] | None) -> tuple[int, Any]:
        ids = models or [self.default_model]
        return 200, {"object": "list", "data": [
            {"id": m, "object": "model", "created": 1700000000, "owned_by": "system"} for m in ids]}


class GeminiWire(Wire):
    name = "gemini"
    default_model = "gemini-3.8-flash"
    key_header = "x-goog-api-key"

    def __init__(self) -> None:
        self.signatures: set[str] = set()  # thought signatures sent with function calls
    _status: ClassVar[dict[int, str]] = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
               429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}

    def presented_key(self, req: RecordedRequest, raw_headers: dict[str, str]) -> str | None:
        return raw_headers.get("x-goog-api-key") or req.query.get("key")

    def _split(self, path: str) -> tuple[str, str]:
        rest = path.removeprefix("/v1beta/models/").removeprefix("/v1/models/")
        model, _, method = rest.partition(":")
        return model, method

    def route(self, req: RecordedRequest) -> str | None:
        if not (req.path.startswith("/v1beta/models") or req.path.startswith("/v1/models")):
            return None
        model, method = self._split(req.path)
        if req.method == "POST" and method == "generateContent":
            return "generate"
        if req.method == "POST" and method == "streamGenerateContent":
            return "stream"
        if req.method == "POST" and method == "countTokens":
            return "count_tokens"
        if req.method == "GET":
            return "model" if model and req.path.count("/") >= 3 else "models"
        return None

    def unauthorized(self) -> tuple[int, Any]:
        return 400, {"error": {
            "code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                         "domain": "googleapis.com",
                         "metadata": {"service": "generativelanguage.googleapis.com"}}]}}

    def error(self, status: int, message: str, retry_after: float | None) -> Any:
        err: dict[str, Any] = {"code": status, "message": message,
                               "status": self._status.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")}
        if status == 429 and retry_after is not None:
            err["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                               "retryDelay": f"{float(retry_after):g}s"}]
        return {"error": err}

    def model_of(self, reply: Reply, req: RecordedRequest) -> str:
        return reply.model or self._split(req.path)[0] or self.default_model

    def _usage(self, u: Usage, output: int | None) -> dict[str, Any]:
        data: dict[str, Any] = {"promptTokenCount": u.input}
        if output is not None:
            data["candidatesTokenCount"] = output
        data["totalTokenCount"] = u.input + (output or 0)
        if u.cache_read:
            data["cachedContentTokenCount"] = u.cache_read
            data["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": u.cache_read}]
        data["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": u.input}]
        return data

    def _response(self, reply: Reply, req: RecordedRequest, text: str, finish: str | None,
                  usage: dict[str, Any], rid: str, calls: list[dict[str, Any]] | None = None,
                  ) -> dict[str, Any]:
        cand: dict[str, Any] = {"index": 0}
        if finish == "MALFORMED_FUNCTION_CALL":
            # The model wrote a call the server could not parse: no content, a message.
            cand["finishMessage"] = "Malformed function call: " + (text or "find_definition(")
        else:
            parts: list[dict[str, Any]] = [{"text": text}] if text or not calls else []
            parts += calls or []
            cand["content"] = {"parts": parts, "role": "model"}
        if finish:
            cand["finishReason"] = finish
        return {"candidates": [cand], "usageMetadata": usage, "modelVersion": self.model_of(reply, req),
                "responseId": rid}

    def _calls(self, reply: Reply) -> list[dict[str, Any]]:
        """``functionCall`` parts; the first carries a thought signature, as Gemini 3 sends it,
        which must come back with the call in the next request (see :meth:`refuse`)."""
        parts: list[dict[str, Any]] = []
        for call in reply.tool_calls or ():
            if "raw" in call:
                raise ValueError("Gemini's args are an object; script MALFORMED_FUNCTION_CALL instead")
            part: dict[str, Any] = {"functionCall": {"name": call["name"], "args": call.get("args", {})}}
            if not parts:
                signature = base64.b64encode(uuid.uuid4().bytes * 2).decode()
                self.signatures.add(signature)
                part["thoughtSignature"] = signature
            parts.append(part)
        return parts

    def refuse(self, req: RecordedRequest) -> tuple[int, Any] | None:
        """Gemini's 400s for a tool turn sent back wrong: a call without the thought signature
        it came with, or a different number of function responses than calls."""
        contents = req.body.get("contents") if isinstance(req.body, dict) else None
        contents = contents if isinstance(contents, list) else []
        for i, content in enumerate(contents):
            parts = content.get("parts") if isinstance(content, dict) else None
            calls = [p for p in parts or () if isinstance(p, dict) and "functionCall" in p]
            if content.get("role") != "model" or not calls:
                continue
            if calls[0].get("thoughtSignature") not in self.signatures:
                name = calls[0]["functionCall"].get("name")
                return 400, self.error(400, (
                    "Function call is missing a thought_signature in functionCall parts. This is "
                    "required for tools to work correctly, and missing thought_signature may lead "
                    f"to degraded model performance. Additional data, function call `default_api:{name}` "
                    f", position {i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/"
                    "thought-signatures for more details."), None)
            following = contents[i + 1] if i + 1 < len(contents) else {}
            answers = [p for p in following.get("parts") or () if isinstance(p, dict)
                       and "functionResponse" in p]
            if len(answers) != len(calls):
                return 400, self.error(400, (
                    "Please ensure that the number of function response parts is equal to the "
                    "number of function call parts of the function call turn."), None)
        return None

    def answer(self, reply: Reply, req: RecordedRequest, usage: Usage) -> Any:
        return self._response(reply, req, reply.text, reply.stop_reason or "STOP",
                              self._usage(usage, usage.output), uuid.uuid4().hex[:20],
                              self._calls(reply))

    def stream(self, reply: Reply, req: RecordedRequest, usage: Usage) -> list[Event]:
        rid = uuid.uuid4().hex[:20]
        sep = "\r\n"
        if req.query.get("alt") != "sse":
            raise ValueError("the stand-in streams Gemini only as SSE (?alt=sse)")
        calls = self._calls(reply)
        # A function call arrives whole, in the last chunk, with the finish reason.
        chunks = reply.text_chunks() or [""]
        if calls and reply.text:
            chunks.append("")
        events: list[Event] = []
        for i, piece in enumerate(chunks):
            last = i == len(chunks) - 1
            data = self._response(reply, req, piece, (reply.stop_reason or "STOP") if last else None,
                                  self._usage(usage, usage.output if last else None), rid,
                                  calls if last else None)
            events.append((_sse(data, sep=sep), bool(piece)))
        return events

    def stream_error_event(self, kind: str) -> bytes:
        return _sse(self.error(503, kind, None), sep="\r\n")

    def malformed_event(self, payload: str) -> bytes:
        return f"data: {payload}\r\n\r\n".encode()

    def info(self, kind: str, req: RecordedRequest, models: list[str] | None) -> tuple[int, Any]:
        if kind == "count_tokens":
            return 200, {"totalTokens": max(1, len(request_text(req)) // 4)}
        ids = models or [self.default_model]

        def entry(m: str) -> dict[str, Any]:
            return {"name": f"models/{m}", "version": "001", "displayName": m, "inputTokenLimit": 1048576,
                    "outputTokenLimit": 65536,
                    "supportedGenerationMethods": ["generateContent", "countTokens"]}

        if kind == "model":
            model = self._split(req.path)[0]
            if models and model not in models:
                return 404, self.error(404, f"models/{model} is not found for API version v1beta", None)
            return 200, entry(model)
        return 200, {"models": [entry(m) for m in ids]}

    def missing_model(self, req: RecordedRequest, models: list[str] | None) -> tuple[int, Any] | None:
        model = self._split(req.path)[0]
        if models and model not in models:
            return 404, self.error(404, f"models/{model} is not found for API version v1beta", None)
        return None


class OllamaWire(Wire):
    name = "ollama"
    stream_content_type = "application/x-ndjson"
    default_model = "qwen2.5-coder:7b"
    key_header = "authorization"

    def __init__(self) -> None:
        # Models whose template takes no tools: /api/show lists no "tools" capability and a
        # chat request with tools is refused.
        self.without_tools: set[str] = set()

    def presented_key(self, req: RecordedRequest, raw_headers: dict[str, str]) -> str | None:
        value = raw_headers.get("authorization", "")
        return value.removeprefix("Bearer ") if value.startswith("Bearer ") else None

    def route(self, req: RecordedRequest) -> str | None:
        body = req.body if isinstance(req.body, dict) else {}
        if req.method == "POST" and req.path == "/api/chat":
            return "stream" if body.get("stream", True) else "generate"
        if req.method == "POST" and req.path == "/api/embed":
            return "embed"
        if req.method == "POST" and req.path == "/api/show":
            return "show"
        if req.method == "GET" and req.path == "/api/tags":
            return "tags"
        if req.method == "GET" and req.path == "/api/version":
            return "version"
        if req.method in ("GET", "HEAD") and req.path == "/":
            return "root"
        return None

    def unauthorized(self) -> tuple[int, Any]:
        return 401, {"error": "unauthorized"}

    def error(self, status: int, message: str, retry_after: float | None) -> Any:
        return {"error": message}

    def _names(self, models: list[str] | None) -> list[str]:
        return models if models is not None else [self.default_model]

    def missing_model(self, req: RecordedRequest, models: list[str] | None) -> tuple[int, Any] | None:
        model = _request_model(req)
        names = self._names(models)
        full = model if ":" in model else f"{model}:latest"
        if models is not None and model not in names and full not in names:
            return 404, {"error": f'model "{model}" not found, try pulling it first'}
        return None

    def refuse(self, req: RecordedRequest) -> tuple[int, Any] | None:
        model = _request_model(req)
        if isinstance(req.body, dict) and req.body.get("tools") and self._bare(model) in {
                self._bare(m) for m in self.without_tools}:
            return 400, {"error": f"registry.ollama.ai/library/{model} does not support tools"}
        return None

    @staticmethod
    def _bare(model: str) -> str:
        return model if ":" in model else f"{model}:latest"

    @staticmethod
    def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
        if any("raw" in c for c in reply.tool_calls or ()):
            raise ValueError("Ollama's arguments are an object (text it cannot parse is content)")
        return [{"function": {"name": c["name"], "arguments": c.get("args", {})}}
                for c in reply.tool_calls or ()]

    def _final(self, reply: Reply, req: RecordedRequest, usage: Usage, content: str,
               calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        final: dict[str, Any] = {
            "model": self.model_of(reply, req), "created_at": "2025-10-01T12:00:00.000000Z",
            "message": message,
            "done_reason": reply.stop_reason or "stop", "done": True,
            "total_duration": 1_500_000_000, "load_duration": 20_000_000,
        }
        if reply.report_usage:  # a server may omit them (Ollama: prompt_eval_count for a cached prompt)
            final.update({"prompt_eval_count": usage.input, "prompt_eval_duration": 300_000_000,
                          "eval_count": usage.output, "eval_duration": 1_100_000_000})
        return final

    def answer(self, reply: Reply, req: RecordedRequest, usage: Usage) -> Any:
        return self._final(reply, req, usage, reply.text, self._tool_calls(reply))

    def stream(self, reply: Reply, req: RecordedRequest, usage: Usage) -> list[Event]:
        model = self.model_of(reply, req)
        events: list[Event] = []
        for piece in reply.text_chunks():
            part = {"model": model, "created_at": "2025-10-01T12:00:00.000000Z",
                    "message": {"role": "assistant", "content": piece}, "done": False}
            events.append(((json.dumps(part) + "\n").encode(), True))
        calls = self._tool_calls(reply)
        if calls:  # the calls arrive whole, in a part of their own before the last
            part = {"model": model, "created_at": "2025-10-01T12:00:00.000000Z",
                    "message": {"role": "assistant", "content": "", "tool_calls": calls},
                    "done": False}
            events.append(((json.dumps(part) + "\n").encode(), False))
        events.append(((json.dumps(self._final(reply, req, usage, "")) + "\n").encode(), False))
        return events

    def stream_error_event(self, kind: str) -> bytes:
        return (json.dumps({"error": kind}) + "\n").encode()

    def malformed_event(self, payload: str) -> bytes:
        return (payload + "\n").encode()

    def info(self, kind: str, req: RecordedRequest, models: list[str] | None) -> tuple[int, Any]:
        if kind == "version":
            return 200, {"version": "0.12.6"}
        if kind == "root":
            return 200, "Ollama is running"
        if kind == "show":
            missing = self.missing_model(req, models)
            if missing:
                return 404, {"error": f"model '{_request_model(req)}' not found"}
            model = _request_model(req)
            tools = self._bare(model) not in {self._bare(m) for m in self.without_tools}
            return 200, {
                "license": "", "modelfile": f"FROM {model}\n", "parameters": "",
                "template": "{{ if .Tools }}<tools>{{ .Tools }}</tools>{{ end }}{{ .Prompt }}"
                if tools else "{{ .Prompt }}",
                "details": {"parent_model": "", "format": "gguf", "family": "qwen2",
                            "families": ["qwen2"], "parameter_size": "7.6B",
                            "quantization_level": "Q4_K_M"},
                "model_info": {"general.architecture": "qwen2"},
                "capabilities": ["completion", "tools"] if tools else ["completion"],
                "modified_at": "2025-09-01T10:00:00.000000Z"}
        if kind == "embed":
            body = req.body if isinstance(req.body, dict) else {}
            missing = self.missing_model(req, models)
            if missing:
                return missing
            inputs = body.get("input", [])
            texts = [inputs] if isinstance(inputs, str) else list(inputs)
            return 200, {"model": body.get("model", ""), "embeddings": [self.embedder(t) for t in texts],
                         "total_duration": 10_000_000, "load_duration": 1_000_000,
                         "prompt_eval_count": sum(max(1, len(t) // 4) for t in texts)}
        tags = []
        for name in self._names(models):
            digest = hashlib.sha256(name.encode()).hexdigest()
            tags.append({"name": name, "model": name, "modified_at": "2025-09-01T10:00:00.000000Z",
                         "size": 4683087332, "digest": digest,
                         "details": {"parent_model": "", "format": "gguf", "family": "qwen2",
                                     "families": ["qwen2"], "parameter_size": "7.6B",
                                     "quantization_level": "Q4_K_M"}})
        return 200, {"models": tags}


def embedding(text: str, dims: int = 16) -> list[float]:
    """A deterministic unit vector for ``text`` (same text, same vector)."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(b - 127.5) / 127.5 for b in digest[:dims]]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


WIRES: dict[str, type[Wire]] = {
    "anthropic": AnthropicWire, "openai": OpenAIWire, "gemini": GeminiWire, "ollama": OllamaWire,
}
