"""The wire between the server and its editors: everything sent or received outside plain LSP.

Editors call the ``agentic.*`` commands (``workspace/executeCommand``) with positional arguments,
get one of the results below back, read the ``agentic/spend`` notification for a status bar, and
send a code action's ``data`` back on ``codeAction/resolve`` or through ``agentic.runAction``.
Each payload is a ``TypedDict`` (a ``NamedTuple`` for positional arguments) with its fields
documented; the clients read exactly these names (``vscode-extension/src/wire.ts`` mirrors them,
the Neovim plugin reads them by name), which ``tests/editors/test_wire_fields.py`` checks.

Parsing what an editor sent raises :class:`~lsp_server.errors.ConfigError` with one readable
message. :func:`result_json` is the one serialiser of an assistant result: the LSP commands return
it and ``agentic-optimizer ask --json`` prints it. No pygls or lsprotocol here; the CLI uses it.

The annotations are evaluated (no ``from __future__ import annotations``) so that
``typing.get_type_hints`` and ``__optional_keys__`` see ``NotRequired`` fields.
"""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple, NotRequired, TypedDict

from lsp_server.errors import ConfigError
from lsp_server.routing.kinds import TASK_KINDS, TaskKind

if TYPE_CHECKING:
    from lsp_server.assistant import AssistResult, DaySpend
    from lsp_server.context.index.project import IndexStats
    from lsp_server.routing.attempts import AttemptInfo

ASK = "agentic.ask"
EXPLAIN = "agentic.explain"
RUN_ACTION = "agentic.runAction"
FEEDBACK = "agentic.feedback"
SHOW_METRICS = "agentic.showMetrics"
REINDEX = "agentic.reindex"
SETUP_MODELS = "agentic.setupModels"

SPEND_NOTIFICATION = "agentic/spend"
"""Server → client notification sent after every finished request; params: :class:`SpendParams`."""


# -- shapes shared with LSP ------------------------------------------------------------------


class Position(TypedDict):
    """An LSP position, as JSON."""

    line: int
    """0-based line."""
    character: int
    """0-based offset in the line, in the negotiated position encoding (UTF-16 by default)."""


class Range(TypedDict):
    """An LSP range, as JSON: ``end`` is exclusive (column 0 of a line stops the line before)."""

    start: Position
    """Where the range starts."""
    end: Position
    """Where the range ends (exclusive)."""


# -- code action data ------------------------------------------------------------------------


class DiagnosticRef(TypedDict):
    """A diagnostic a fix action is about, as the editor showed it: the verifier finds it among
    its checkers' errors by source and code first, message second, near its range."""

    message: str
    """The diagnostic's message."""
    source: str | None
    """Who reported it (``rustc``, ``mypy``, ``Pyright``, ``Ruff``...); null when not said."""
    code: str | None
    """Its code (``E0308``, ``return-value``, ``F821``), as a string; null when it has none."""
    range: Range | None
    """Where it is; null when not said (the action's range stands in)."""


class ActionData(TypedDict):
    """A listed code action's ``data`` (or its ``agentic.runAction`` argument): everything needed
    to run it later. Clients send it back unchanged."""

    kind: TaskKind
    """The task: explain, fix, rewrite, document, tests, ask or search."""
    instruction: str
    """What the model is asked to do, in words."""
    uri: str
    """The ``file:`` URI of the document."""
    range: Range
    """The selection or diagnostic range the action is about."""
    version: int | None
    """The document version the action was listed against; an edit computed for an older
    version is refused. null: not an open document."""
    diagnostics: list[DiagnosticRef]
    """The diagnostics the action fixes (empty for selection actions)."""


class ResolvedActionData(TypedDict):
    """What a resolved code action's ``data`` keeps: the request that computed its edit."""

    request_id: str
    """The ledger id of that request, for ``agentic.feedback``."""


# -- command arguments (positional, as editors send them) ------------------------------------

Verdict = Literal["accept", "reject"] | int
"""``accept`` (a rating of 5), ``reject`` (marks the request rejected), or a rating from 1 to 5."""


class AskArgs(NamedTuple):
    """``agentic.ask [uri, range, instruction]``: any instruction on a range."""

    uri: str
    """The ``file:`` URI of the document."""
    range: Range
    """The selection (or the cursor's line)."""
    instruction: str
    """What to change or ask, in words; not empty."""


class ExplainArgs(NamedTuple):
    """``agentic.explain [uri, range]``: an explanation of a range."""

    uri: str
    """The ``file:`` URI of the document."""
    range: Range
    """The code to explain."""


class RunActionArgs(NamedTuple):
    """``agentic.runAction [data]``: what a listed code action does, for clients that cannot
    resolve edits lazily (and for *Explain*, which has no edit)."""

    data: ActionData
    """The action's data, as the server listed it."""


class FeedbackArgs(NamedTuple):
    """``agentic.feedback [request_id, verdict]``: the user's verdict on a result."""

    request_id: str
    """The ``request_id`` of a result (a unique prefix of 6+ characters is enough)."""
    verdict: Verdict
    """``"accept"``, ``"reject"`` or a rating 1-5 (a number, or its digit as a string)."""


# -- command results -------------------------------------------------------------------------


class Usage(TypedDict):
    """Tokens of one model call, as the vendor reported them."""

    input: int
    """Every prompt token, cached ones included."""
    output: int
    """Generated tokens."""
    cache_read: int
    """The part of ``input`` read from the vendor's prompt cache."""
    cache_write: int
    """The part of ``input`` written to the vendor's prompt cache."""


class ToolCall(TypedDict):
    """One tool call of a tool turn, answered from the project index at $0."""

    name: str
    """search_code, find_definition, find_references, read_file or list_files (or the unknown
    name the model asked for)."""
    args: dict[str, object]
    """The arguments as the model sent them."""
    ok: bool
    """Whether the tool answered; false when the call was refused, unknown or malformed."""
    result_tokens: int
    """The size of the answer sent back to the model (estimated tokens)."""
    error: str | None
    """Why the call was refused or failed, as the model was told; null when it answered."""


class Attempt(TypedDict):
    """One model call (or response-cache hit) of a request."""

    provider: str
    """The configured model's name (``models[].name``)."""
    model: str
    """The vendor's model id."""
    tier: str
    """local, free, budget or premium."""
    confidence: float | None
    """Measured confidence in the answer, 0 to 1; null when there was no answer to judge."""
    reasons: list[str]
    """Why the confidence is what it is (checks passed or failed)."""
    usage: Usage
    """Tokens of this call."""
    cost_usd: float | None
    """What this call cost; null when the model is unpriced."""
    latency_ms: float
    """Wall time of the call."""
    error: str | None
    """Why the call failed; null when it answered."""
    cached: bool
    """Answered from the response cache, for $0."""
    accepted: bool
    """This attempt's answer is the result."""
    tool_calls: list[ToolCall]
    """The tools the model called in this call (a tool turn), in order; empty for an answer."""
    stopped: str | None
    """Why the call was stopped before its end (early stop, a latency budget, a tool-loop
    bound); null when it ran to its end."""
    judge_of: str | None
    """A judge's call (``routing.judge_tier``): the configured name of the model whose answer
    it graded; null for every other call."""


class ResultJson(TypedDict):
    """The result of ``agentic.ask``, ``agentic.explain`` and ``agentic.runAction``, and what
    ``agentic-optimizer ask --json`` prints."""

    request_id: str
    """The ledger id of the request, for ``agentic.feedback``."""
    kind: str
    """The task kind the request ran as (``ask`` may become ``search``, ...)."""
    outcome: str
    """accepted, cache_hit, index (answered from the symbol index, no model), rejected (no
    answer passed verification), failed (no model answered) or cancelled."""
    answer: str | None
    """The prose answer (explanations, questions); null for an edit."""
    diff: str
    """The unified diff of the edit; empty when there is none."""
    applied: NotRequired[bool]
    """Whether the edit was applied (by the editor over LSP, or written by ``ask --apply``).
    Commands include it only when there was an edit; ``ask --json`` always does."""
    tier: str | None
    """The tier that answered; null when no model did."""
    model: str | None
    """The vendor model id that answered; null when no model did."""
    confidence: float | None
    """The answer's measured confidence, 0 to 1."""
    cost_usd: float
    """What the request cost, all attempts included."""
    premium_cost_usd: float | None
    """What the premium model alone would have cost; null when unknown."""
    elapsed_ms: float
    """Wall time of the request."""
    attempts: list[Attempt]
    """Every model call, cheapest tier first."""
    notes: list[str]
    """Things the user should know (budget reached, privacy kept it local, ...)."""


class FeedbackResult(TypedDict):
    """The result of ``agentic.feedback``."""

    request_id: str
    """The request the verdict was recorded for, as given."""
    recorded: bool
    """Always true: a verdict that cannot be recorded gives a null result and a message."""


class MetricsResult(TypedDict):
    """The result of ``agentic.showMetrics`` (also shown with ``window/showMessage``)."""

    text: str
    """Today's summary as plain text."""


class SetupResult(TypedDict):
    """The result of ``agentic.setupModels``: the config file it opened (and wrote if absent)."""

    config: str
    """The ``agentic-optimizer.toml`` URI shown with ``window/showDocument``."""


class ReindexResult(TypedDict):
    """The result of ``agentic.reindex``: what the refresh did (the CLI's ``index --json``)."""

    files: int
    """Source files in the index."""
    definitions: int
    """Definitions in the index."""
    references: int
    """References in the index."""
    parsed: int
    """Files read and parsed by this refresh."""
    reused: int
    """Files whose stored symbols were kept (unchanged)."""
    removed: int
    """Files gone from disk since the last refresh."""
    skipped: int
    """Files the walk left out (too large, unreadable, symlink loops)."""
    with_notes: int
    """Files that yielded less than usual (binary, syntax errors)."""
    elapsed: float
    """Seconds the refresh took."""
    capped_at: int | None
    """The ``context.max_files`` limit the walk reached (the rest was left out); null when it
    indexed everything."""


# -- notification ----------------------------------------------------------------------------


class SpendParams(TypedDict):
    """``agentic/spend``: today's figures for a status bar, after every finished request (and
    after ``agentic.showMetrics``)."""

    spent_usd: float
    """What today's requests cost."""
    premium_usd: float
    """What the same work would have cost on the premium tier."""
    saved_usd: float
    """The difference, over requests with both figures priced."""
    requests: int
    """Requests today."""
    request_id: str | None
    """The request that just finished (for "feedback on the last result", also after a code
    action's resolve, which returns no result of its own); null when none finished with a
    result (after ``agentic.showMetrics``, or a request stopped by an error or a cancel)."""


# -- parsing ---------------------------------------------------------------------------------


def _problem(command: str, signature: str, problem: str) -> ConfigError:
    return ConfigError(f"{command} expects {signature}: {problem}")


def _whole(value: object) -> int | None:
    """``value`` when it is a JSON integer (not a boolean), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_position(raw: object) -> Position:
    """An LSP position from JSON; ConfigError when it is not ``{line, character}`` (>= 0)."""
    if isinstance(raw, Mapping):
        line, character = _whole(raw.get("line")), _whole(raw.get("character"))
        if line is not None and character is not None and line >= 0 and character >= 0:
            return {"line": line, "character": character}
    raise ConfigError(f"expected an LSP position {{line, character}}, got {raw!r:.80}")


def parse_range(raw: object) -> Range:
    """An LSP range from JSON; ConfigError when it is not ``{start, end}`` with start <= end."""
    if not isinstance(raw, Mapping) or "start" not in raw or "end" not in raw:
        raise ConfigError(f"expected an LSP range {{start, end}}, got {raw!r:.80}")
    start, end = parse_position(raw["start"]), parse_position(raw["end"])
    if (end["line"], end["character"]) < (start["line"], start["character"]):
        raise ConfigError(f"the range ends before it starts: {raw!r:.80}")
    return {"start": start, "end": end}


def _uri(command: str, signature: str, raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        raise _problem(command, signature, f"the first argument is a document URI, got {raw!r:.80}")
    return raw


def _count(command: str, signature: str, args: Sequence[object], n: int) -> None:
    if len(args) != n:
        raise _problem(command, signature, f"got {len(args)} argument{'s' if len(args) != 1 else ''}")


def parse_ask_args(args: Sequence[object]) -> AskArgs:
    signature = "(uri, range, instruction)"
    _count(ASK, signature, args, 3)
    instruction = args[2]
    if not isinstance(instruction, str) or not instruction.strip():
        raise _problem(ASK, signature, "the instruction is empty")
    return AskArgs(_uri(ASK, signature, args[0]), parse_range(args[1]), instruction.strip())


def parse_explain_args(args: Sequence[object]) -> ExplainArgs:
    signature = "(uri, range)"
    _count(EXPLAIN, signature, args, 2)
    return ExplainArgs(_uri(EXPLAIN, signature, args[0]), parse_range(args[1]))


def _task_kind(value: object) -> TaskKind:
    for kind in TASK_KINDS:
        if value == kind:
            return kind
    raise ConfigError(f"unknown action kind {value!r:.40}; expected one of {', '.join(TASK_KINDS)}")


def parse_action_data(raw: object) -> ActionData:
    """A code action's data as the server listed it; ConfigError for anything else."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"expected a code action's data object, got {raw!r:.80}")
    kind, instruction, uri = _task_kind(raw.get("kind")), raw.get("instruction"), raw.get("uri")
    if not isinstance(instruction, str) or not isinstance(uri, str):
        raise ConfigError("a code action's data needs an instruction and a uri (strings)")
    version, diagnostics = raw.get("version"), raw.get("diagnostics", [])
    if version is not None and _whole(version) is None:
        raise ConfigError(f"a code action's version is a number or null, got {version!r:.40}")
    if not isinstance(diagnostics, list):
        raise ConfigError("a code action's diagnostics are a list")
    return {
        "kind": kind,
        "instruction": instruction,
        "uri": uri,
        "range": parse_range(raw.get("range")),
        "version": _whole(version),
        "diagnostics": [parse_diagnostic(d) for d in diagnostics],
    }


def parse_diagnostic(raw: object) -> DiagnosticRef:
    """One of a code action's diagnostics: a :class:`DiagnosticRef`, or a message alone."""
    if isinstance(raw, str):
        return {"message": raw, "source": None, "code": None, "range": None}
    if not isinstance(raw, Mapping) or not isinstance(raw.get("message"), str):
        raise ConfigError(f"a code action's diagnostic is a message or an object with one, "
                          f"got {raw!r:.80}")
    source, code, rng = raw.get("source"), raw.get("code"), raw.get("range")
    if source is not None and not isinstance(source, str):
        raise ConfigError(f"a diagnostic's source is a string or null, got {source!r:.40}")
    if code is not None and not isinstance(code, (str, int)):
        raise ConfigError(f"a diagnostic's code is a string, a number or null, got {code!r:.40}")
    return {"message": str(raw["message"]), "source": source,
            "code": None if code is None else str(code),
            "range": None if rng is None else parse_range(rng)}


def parse_run_action_args(args: Sequence[object]) -> RunActionArgs:
    _count(RUN_ACTION, "(data)", args, 1)
    return RunActionArgs(parse_action_data(args[0]))


def parse_feedback_args(args: Sequence[object]) -> FeedbackArgs:
    signature = "(request_id, accept|reject|rating 1-5)"
    _count(FEEDBACK, signature, args, 2)
    request_id, verdict = args
    if not isinstance(request_id, str) or not request_id.strip():
        raise _problem(FEEDBACK, signature, f"the request id is a string, got {request_id!r:.40}")
    if verdict == "accept" or verdict == "reject":
        return FeedbackArgs(request_id.strip(), verdict)
    rating = int(verdict) if verdict in ("1", "2", "3", "4", "5") else _whole(verdict)
    if rating is None or not 1 <= rating <= 5:
        raise _problem(FEEDBACK, signature, f"got the verdict {verdict!r:.40}")
    return FeedbackArgs(request_id.strip(), rating)


def parse_no_args(command: str, args: Sequence[object]) -> None:
    """``agentic.showMetrics`` and ``agentic.reindex`` take no arguments."""
    _count(command, "no arguments", args, 0)


# -- serialising -----------------------------------------------------------------------------


def _attempt(a: "AttemptInfo") -> Attempt:
    return {
        "provider": a.provider,
        "model": a.model,
        "tier": a.tier,
        "confidence": a.confidence,
        "reasons": list(a.reasons),
        "usage": {"input": a.usage.input, "output": a.usage.output,
                  "cache_read": a.usage.cache_read, "cache_write": a.usage.cache_write},
        "cost_usd": a.cost_usd,
        "latency_ms": round(a.latency_ms, 1),
        "error": a.error,
        "cached": a.cached,
        "accepted": a.accepted,
        "tool_calls": [{"name": c.name, "args": dict(c.args), "ok": c.ok,
                        "result_tokens": c.result_tokens, "error": c.error}
                       for c in a.tool_calls],
        "stopped": a.stopped,
        "judge_of": a.judge_of,
    }


def result_json(result: "AssistResult", applied: bool | None = None) -> ResultJson:
    """An assistant result as JSON; ``applied`` is included when not None."""
    out: ResultJson = {
        "request_id": result.request_id,
        "kind": result.kind,
        "outcome": result.outcome,
        "answer": result.answer,
        "diff": result.diff,
        "tier": result.tier,
        "model": result.model,
        "confidence": result.confidence,
        "cost_usd": result.cost_usd,
        "premium_cost_usd": result.premium_cost_usd,
        "elapsed_ms": round(result.elapsed_ms, 1),
        "attempts": [_attempt(a) for a in result.attempts],
        "notes": list(result.notes),
    }
    if applied is not None:
        out["applied"] = applied
    return out


def reindex_result(stats: "IndexStats") -> ReindexResult:
    return {
        "files": stats.files,
        "definitions": stats.definitions,
        "references": stats.references,
        "parsed": stats.parsed,
        "reused": stats.reused,
        "removed": stats.removed,
        "skipped": stats.skipped,
        "with_notes": stats.with_notes,
        "elapsed": stats.elapsed,
        "capped_at": stats.capped_at,
    }


def spend_params(today: "DaySpend", request_id: str | None) -> SpendParams:
    """The notification's params from the assistant's figures for today."""
    return {
        "spent_usd": today.spent_usd,
        "premium_usd": today.premium_usd,
        "saved_usd": today.saved_usd,
        "requests": today.requests,
        "request_id": request_id,
    }
