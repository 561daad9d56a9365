"""The typed values that go in and out of the assistant: a request, its result, a plan, an
estimate. Plain data: nothing here runs a model, reads a file or touches the ledger."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lsp_server.edits import FileChange, FixDiagnostic
from lsp_server.routing.attempts import AttemptInfo
from lsp_server.routing.kinds import TaskKind


@dataclass(frozen=True)
class AssistRequest:
    """What the user asked. ``path`` is absolute; lines are 1-based and inclusive; the
    cursor is a 1-based line and a 0-based column. ``paid_tiers`` False keeps the request on
    the local tier: it never makes a paid call. ``diagnostics`` are those a fix is about, as
    the editor showed them (the command line's ``--diagnostic`` gives a message only).
    ``tools`` False offers the model no tools (a hover's few sentences must not wait for tool
    turns)."""

    kind: TaskKind
    instruction: str
    path: Path | None = None
    line_range: tuple[int, int] | None = None
    cursor: tuple[int, int] | None = None
    diagnostics: tuple[FixDiagnostic, ...] = ()
    document_version: int | None = None
    paid_tiers: bool = True
    tools: bool = True

    @property
    def line(self) -> int | None:
        """The line the request is about: the cursor's, else the range's first."""
        if self.cursor is not None:
            return self.cursor[0]
        return self.line_range[0] if self.line_range is not None else None


@dataclass
class AssistResult:
    """What a request produced: the edits or the answer, every attempt, and what it cost."""

    request_id: str
    kind: str
    answer: str | None
    changes: list[FileChange]
    diff: str
    attempts: list[AttemptInfo]
    cost_usd: float
    premium_cost_usd: float | None
    elapsed_ms: float
    tier: str | None
    model: str | None
    confidence: float | None
    notes: list[str] = field(default_factory=list)
    outcome: str = "accepted"
    document_version: int | None = None
    # Where the time went besides the models: classify_ms, context_ms, verify_ms.
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Estimate:
    """The starting tier and a rough cost of an action, for its title (no I/O, no model)."""

    tier: str
    model: str | None
    cost_usd: float | None
    reasons: list[str]
    # Set when no model can start this action: what is missing, short enough for a title
    # ("no model set up"); the tier and cost then mean nothing.
    missing: str | None = None


@dataclass(frozen=True)
class DaySpend:
    """Today's figures for a status bar: spent, what the premium model would have cost, saved."""

    spent_usd: float
    premium_usd: float
    saved_usd: float
    requests: int


@dataclass(frozen=True)
class Target:
    """The file a request is about, as the user sees it: project-relative path, buffer text
    (or the file on disk) and the buffer version the request was made against."""

    rel: str | None
    text: str | None
    version: int | None


NO_TARGET = Target(None, None, None)


@dataclass(frozen=True)
class PlanContext:
    """The context a request would send: files in it, its size, what the cloud copy drops."""

    files: list[str]
    tokens: int
    budget: int
    cloud_tokens: int | None
    excluded: list[str]
    redactions: int


@dataclass(frozen=True)
class PlanTier:
    """One model the cascade could try, with the prompt's size and price on it."""

    tier: str
    model: str
    provider: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    allowed: bool
    cooling_down: bool


@dataclass(frozen=True)
class PlanBudget:
    daily_usd: float
    spent_today_usd: float
    per_request_usd: float | None


@dataclass(frozen=True)
class Plan:
    """The ``--dry-run`` view of a request: where it would start, why, with which context and
    at what cost on each tier. ``search`` is set (and the rest empty) when the index answers."""

    mode: str
    tier: str | None
    model: str | None
    reasons: list[str]
    notes: list[str] = field(default_factory=list)
    search: str | None = None
    kind: str | None = None
    score: float | None = None
    threshold: float | None = None
    context: PlanContext | None = None
    tiers: list[PlanTier] = field(default_factory=list)
    premium_cost_usd: float | None = None
    budget: PlanBudget | None = None

    def as_json(self) -> dict[str, Any]:
        """Plain data for ``ask --dry-run --json``."""
        if self.search is not None:
            return {"mode": "search", "tier": None, "model": None, "reasons": list(self.reasons),
                    "search": self.search, "tiers": [], "notes": list(self.notes),
                    "context": None}
        data = asdict(self)
        del data["search"]
        return data
