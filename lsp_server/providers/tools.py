"""Tool calls on the wire: the types every vendor format maps to, and the plain-text protocol.

A model asks for a tool in one of two ways. Vendors with native tool calling (the
OpenAI-compatible ``tools``/``tool_calls``, Anthropic's ``tool_use``/``tool_result`` blocks,
Gemini's ``functionCall``/``functionResponse`` parts, Ollama's ``tools``/``tool_calls``) get
the tools in the request and return structured calls; the provider parses them into
:class:`ToolCall`. Every other model follows the text protocol below, which the tool loop
parses from the answer's text, strictly:

    @tool NAME {"arg": "value", ...}

one call per line, at the start of the line, the arguments a JSON object. An answer with no
such line is a final answer. A line that starts with ``@tool`` but does not parse is a
malformed call: the model is told what was wrong, nothing runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TOOL_PREFIX = "@tool"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True, slots=True)
class ToolParam:
    name: str
    type: str  # JSON Schema type: string, integer
    description: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as offered to a model."""

    name: str
    description: str
    params: tuple[ToolParam, ...] = ()

    def json_schema(self) -> dict[str, Any]:
        """The arguments as a JSON Schema object (OpenAI ``parameters``, Anthropic
        ``input_schema``)."""
        return {
            "type": "object",
            "properties": {p.name: {"type": p.type, "description": p.description}
                           for p in self.params},
            "required": [p.name for p in self.params if p.required],
        }


def declarations_json(specs: tuple[ToolSpec, ...]) -> str:
    """The tools as a vendor-neutral JSON declaration list (name, description, JSON Schema):
    about the size every vendor's own format has, for token estimates."""
    return json.dumps([{"name": t.name, "description": t.description,
                        "parameters": t.json_schema()} for t in specs])


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call a model asked for. ``error`` is set when the call could not be parsed (it is
    answered with the error, never run); ``id`` is the vendor's call id (made up for text and
    Ollama, empty when Gemini gives none); ``signature`` is Gemini's opaque
    ``thoughtSignature``, which must go back with the call in the next request."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    id: str = ""
    error: str | None = None
    signature: str = ""

    def key(self) -> str:
        """What makes two calls the same call (for loop detection)."""
        return f"{self.name} {json.dumps(dict(self.args), sort_keys=True)}"


@dataclass(frozen=True, slots=True)
class ToolTurn:
    """One finished tool turn of a conversation: what the model said and asked for, and the
    answers it got (``results`` aligned with ``calls``)."""

    text: str
    calls: tuple[ToolCall, ...]
    results: tuple[str, ...]


def parse_text_calls(text: str) -> tuple[ToolCall, ...]:
    """The calls of an answer in the text protocol (empty: a final answer)."""
    calls: list[ToolCall] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith(TOOL_PREFIX):
            continue
        n = len(calls) + 1
        rest = stripped[len(TOOL_PREFIX):]
        if rest and not rest[0].isspace():
            continue  # "@toolbox" is not a call
        name, _, raw = rest.strip().partition(" ")
        if not _NAME.fullmatch(name):
            calls.append(ToolCall(name=name[:64] or "?", id=f"text-{n}",
                                  error="expected `@tool NAME {json arguments}`"))
            continue
        try:
            args = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            calls.append(ToolCall(name=name, id=f"text-{n}",
                                  error=f"the arguments are not valid JSON ({exc.msg})"))
            continue
        if not isinstance(args, dict):
            calls.append(ToolCall(name=name, id=f"text-{n}",
                                  error="the arguments must be a JSON object"))
            continue
        calls.append(ToolCall(name=name, args=args, id=f"text-{n}"))
    return tuple(calls)


def text_protocol(specs: tuple[ToolSpec, ...], turns_left: int) -> str:
    """The instructions that teach a model the text protocol."""
    # The example stays inside a sentence: a small model that echoes its prompt would
    # otherwise echo a line that parses as a call.
    lines = [
        "You may look up code before you answer. To call a tool, reply with only lines that "
        f"start with {TOOL_PREFIX}, the tool's name and its arguments as a JSON object, one call "
        f"per line, for example: {TOOL_PREFIX} find_definition {{\"name\": \"parse_config\"}}. "
        "The results come back and you continue. When you know enough, give your final answer "
        f"with no {TOOL_PREFIX} line. At most {turns_left} tool turns remain. Tools:",
    ]
    for spec in specs:
        args = ", ".join(f"{p.name}: {p.type}{'' if p.required else ' (optional)'}"
                         for p in spec.params)
        lines.append(f"- {spec.name}({args}): {spec.description}")
    return "\n".join(lines)


def text_transcript(turns: tuple[ToolTurn, ...]) -> str:
    """Earlier tool turns as text, appended after the prompt (so its prefix stays the same)."""
    out: list[str] = []
    for turn in turns:
        out.append("Your tool calls:\n" + "\n".join(
            f"{TOOL_PREFIX} {c.name} {json.dumps(dict(c.args))}" for c in turn.calls))
        for call, result in zip(turn.calls, turn.results, strict=True):
            out.append(f"Result of {call.name}:\n{result}")
    return "\n\n".join(out)


# -- native formats ---------------------------------------------------------------------------
# OpenAI-compatible chat completions (also Groq, llama.cpp's server, Ollama's /v1): ``tools``
# with ``function`` entries; the answer's ``message.tool_calls`` carry the arguments as a JSON
# string; each result goes back as a ``tool`` message naming the call's id.


def openai_tools(specs: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": s.name, "description": s.description,
                                              "parameters": s.json_schema()}} for s in specs]


def openai_turn_messages(turns: tuple[ToolTurn, ...]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for turn in turns:
        messages.append({"role": "assistant", "content": turn.text or None, "tool_calls": [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(dict(c.args))}}
            for c in turn.calls]})
        messages += [{"role": "tool", "tool_call_id": c.id, "content": r}
                     for c, r in zip(turn.calls, turn.results, strict=True)]
    return messages


def openai_call(call_id: str, name: str, arguments: str) -> ToolCall:
    """A call from an OpenAI-style ``function`` (arguments as a JSON string)."""
    try:
        args = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError as exc:
        return ToolCall(name=name, id=call_id, error=f"the arguments are not valid JSON ({exc.msg})")
    if not isinstance(args, dict):
        return ToolCall(name=name, id=call_id, error="the arguments must be a JSON object")
    return ToolCall(name=name, args=args, id=call_id)


def openai_calls(raw: Any) -> tuple[ToolCall, ...]:
    """The calls of a non-streamed ``message.tool_calls`` (None or absent: none)."""
    calls: list[ToolCall] = []
    for item in raw if isinstance(raw, list) else ():
        fn = item.get("function") if isinstance(item, dict) else None
        if not isinstance(fn, dict):
            continue
        calls.append(openai_call(str(item.get("id") or f"call-{len(calls) + 1}"),
                                 str(fn.get("name") or "?"), str(fn.get("arguments") or "")))
    return tuple(calls)


class OpenAIStreamCalls:
    """Tool calls assembled from a stream's ``delta.tool_calls`` pieces (keyed by ``index``:
    the first piece has the id and name, later ones append to the arguments)."""

    def __init__(self) -> None:
        self._parts: dict[int, list[str]] = {}

    def take(self, raw: Any) -> list[str]:
        """Add a delta's pieces; the names of the calls that start in it."""
        started: list[str] = []
        for item in raw if isinstance(raw, list) else ():
            if not isinstance(item, dict):
                continue
            index = item.get("index", 0)
            parts = self._parts.setdefault(index if isinstance(index, int) else 0, ["", "", ""])
            raw_fn = item.get("function")
            fn: dict[str, Any] = raw_fn if isinstance(raw_fn, dict) else {}
            parts[0] = parts[0] or str(item.get("id") or "")
            if not parts[1] and fn.get("name"):
                parts[1] = str(fn["name"])
                started.append(parts[1])
            parts[2] += str(fn.get("arguments") or "")
        return started

    def calls(self) -> tuple[ToolCall, ...]:
        return tuple(openai_call(cid or f"call-{i + 1}", name or "?", args)
                     for i, (cid, name, args) in sorted(self._parts.items()))


# Anthropic Messages: ``tools`` with ``input_schema``; the answer's ``tool_use`` content blocks
# carry ``input`` as an object; results go back in the next user message as ``tool_result``
# blocks naming the ``tool_use_id``.


def anthropic_tools(specs: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    return [{"name": s.name, "description": s.description, "input_schema": s.json_schema()}
            for s in specs]


def anthropic_turn_messages(turns: tuple[ToolTurn, ...]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for turn in turns:
        content: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text else []
        content += [{"type": "tool_use", "id": c.id, "name": c.name, "input": dict(c.args)}
                    for c in turn.calls]
        messages.append({"role": "assistant", "content": content})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": c.id, "content": r,
             **({"is_error": True} if r.startswith("error:") else {})}
            for c, r in zip(turn.calls, turn.results, strict=True)]})
    return messages


def anthropic_call(block: Mapping[str, Any]) -> ToolCall:
    """A call from a ``tool_use`` block."""
    name, call_id, args = str(block.get("name") or "?"), str(block.get("id") or ""), block.get("input")
    if not isinstance(args, dict):
        return ToolCall(name=name, id=call_id, error="the input must be a JSON object")
    return ToolCall(name=name, args=args, id=call_id)


def is_error_result(result: str) -> bool:
    """Whether a tool's answer is an error (the runner starts those with ``error:``)."""
    return result.startswith("error:")


# Gemini generateContent: ``tools`` holds ``functionDeclarations`` whose ``parameters`` are an
# OpenAPI-style schema (upper-case type names, as the official SDK sends them); the answer's
# ``functionCall`` parts carry ``args`` as an object and, on Gemini 3, a ``thoughtSignature``
# that must be sent back on the same part; each result goes back as a ``functionResponse``
# part (its ``response`` an object) in the next user turn, one per call, in order.

_GEMINI_TYPES = {"string": "STRING", "integer": "INTEGER", "number": "NUMBER",
                 "boolean": "BOOLEAN", "array": "ARRAY", "object": "OBJECT"}
GEMINI_MALFORMED = "MALFORMED_FUNCTION_CALL"


def gemini_tools(specs: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    declarations: list[dict[str, Any]] = []
    for spec in specs:
        decl: dict[str, Any] = {"name": spec.name, "description": spec.description}
        if spec.params:  # an OBJECT schema with no properties is refused
            decl["parameters"] = {
                "type": "OBJECT",
                "properties": {p.name: {"type": _GEMINI_TYPES.get(p.type, "STRING"),
                                        "description": p.description} for p in spec.params},
                "required": [p.name for p in spec.params if p.required],
            }
        declarations.append(decl)
    return [{"functionDeclarations": declarations}]


def gemini_turn_contents(turns: tuple[ToolTurn, ...]) -> list[dict[str, Any]]:
    """Earlier turns as ``contents``: the model's turn with its calls, then the results.

    A call Gemini could not even name (``MALFORMED_FUNCTION_CALL``) has no part to echo: the
    model's turn says so in text and the error goes back as text."""
    contents: list[dict[str, Any]] = []
    for turn in turns:
        said: list[dict[str, Any]] = [{"text": turn.text}] if turn.text else []
        answers: list[dict[str, Any]] = []
        for call, result in zip(turn.calls, turn.results, strict=True):
            if not _NAME.fullmatch(call.name):
                said.append({"text": "(a function call that could not be read)"})
                answers.append({"text": result})
                continue
            ident = {"id": call.id} if call.id else {}
            part: dict[str, Any] = {"functionCall": {"name": call.name, "args": dict(call.args),
                                                     **ident}}
            if call.signature:
                part["thoughtSignature"] = call.signature
            said.append(part)
            key = "error" if is_error_result(result) else "result"
            answers.append({"functionResponse": {"name": call.name, "response": {key: result},
                                                 **ident}})
        contents.append({"role": "model", "parts": said})
        contents.append({"role": "user", "parts": answers})
    return contents


def gemini_calls(parts: Any, finish: Any, finish_message: Any = None) -> tuple[ToolCall, ...]:
    """The calls among a candidate's parts; a ``MALFORMED_FUNCTION_CALL`` finish with no call
    is one malformed call (the model is told, nothing runs)."""
    calls: list[ToolCall] = []
    for part in parts if isinstance(parts, list) else ():
        fc = part.get("functionCall") if isinstance(part, dict) else None
        if not isinstance(fc, dict):
            continue
        name, args = str(fc.get("name") or "?"), fc.get("args")
        ident, signature = str(fc.get("id") or ""), str(part.get("thoughtSignature") or "")
        if args is None:
            args = {}
        if not isinstance(args, dict):
            calls.append(ToolCall(name=name, id=ident, signature=signature,
                                  error="the args must be a JSON object"))
            continue
        calls.append(ToolCall(name=name, args=args, id=ident, signature=signature))
    if not calls and finish == GEMINI_MALFORMED:
        detail = f" ({str(finish_message)[:200]})" if finish_message else ""
        calls.append(ToolCall(name="?", error="the function call was malformed" + detail))
    return tuple(calls)


# Ollama /api/chat: ``tools`` as OpenAI's ``function`` entries; the answer's
# ``message.tool_calls`` carry ``arguments`` as an object (Ollama parses the model's JSON itself
# and returns text it cannot parse as content) and no id; each result goes back as a
# ``tool`` message naming the tool (``tool_name``).


def ollama_turn_messages(turns: tuple[ToolTurn, ...]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for turn in turns:
        messages.append({"role": "assistant", "content": turn.text, "tool_calls": [
            {"function": {"name": c.name, "arguments": dict(c.args)}} for c in turn.calls]})
        messages += [{"role": "tool", "content": r, "tool_name": c.name}
                     for c, r in zip(turn.calls, turn.results, strict=True)]
    return messages


def ollama_call(n: int, name: str, arguments: Any) -> ToolCall:
    """A call from Ollama's ``message.tool_calls`` (the ``n``-th of the answer)."""
    if not isinstance(arguments, Mapping):
        return ToolCall(name=name, id=f"ollama-{n}", error="the arguments must be a JSON object")
    return ToolCall(name=name, args=dict(arguments), id=f"ollama-{n}")
