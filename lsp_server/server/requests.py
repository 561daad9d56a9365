"""Turn editor arguments into assistant requests, and results into plain summaries."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from lsp_server.assistant import AssistRequest, AssistResult, TaskKind
from lsp_server.errors import ConfigError
from lsp_server.server.convert import uri_to_path

KINDS: tuple[str, ...] = ("explain", "fix", "rewrite", "document", "tests", "ask", "search")


def parse_range(raw: Any) -> lsp.Range:
    """An LSP Range from the JSON an editor sent (or an lsprotocol Range)."""
    if isinstance(raw, lsp.Range):
        return raw
    try:
        s, e = raw["start"], raw["end"]
        return lsp.Range(
            start=lsp.Position(line=int(s["line"]), character=int(s["character"])),
            end=lsp.Position(line=int(e["line"]), character=int(e["character"])),
        )
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"expected an LSP range {{start, end}}, got {raw!r:.80}") from None


def parse_path(uri: Any) -> Path:
    path = uri_to_path(str(uri)) if isinstance(uri, str) else None
    if path is None:
        raise ConfigError(f"expected a file: URI, got {uri!r:.80}")
    return path


def line_range(rng: lsp.Range) -> tuple[int, int]:
    """1-based inclusive lines of an LSP range (a range ending at column 0 stops the line before)."""
    end = rng.end.line
    if rng.end.character == 0 and end > rng.start.line:
        end -= 1
    return rng.start.line + 1, end + 1


def make_request(
    kind: str, instruction: str, uri: Any, rng: Any, *, version: int | None,
    diagnostics: list[str] | None = None,
) -> AssistRequest:
    if kind not in KINDS:
        raise ConfigError(f"unknown action kind {kind!r}; expected one of {', '.join(KINDS)}")
    r = parse_range(rng)
    task_kind: TaskKind = kind  # type: ignore[assignment]
    return AssistRequest(
        kind=task_kind,
        instruction=instruction,
        path=parse_path(uri),
        line_range=line_range(r),
        cursor=(r.start.line + 1, r.start.character),
        diagnostics=tuple(diagnostics or ()),
        document_version=version,
    )


def summary(result: AssistResult, applied: bool | None = None) -> dict[str, Any]:
    """What a command returns to the editor: ids, tier, model, cost, confidence, attempts."""
    attempts = [
        {
            "provider": a.provider, "model": a.model, "tier": a.tier,
            "confidence": a.confidence, "cost_usd": a.cost_usd,
            "latency_ms": round(a.latency_ms, 1), "error": a.error,
            "usage": asdict(a.usage) if is_dataclass(a.usage) else a.usage,
        }
        for a in result.attempts
    ]
    out: dict[str, Any] = {
        "request_id": result.request_id,
        "kind": result.kind,
        "outcome": result.outcome,
        "tier": result.tier,
        "model": result.model,
        "cost_usd": result.cost_usd,
        "premium_cost_usd": result.premium_cost_usd,
        "confidence": result.confidence,
        "answer": result.answer,
        "attempts": attempts,
        "notes": list(result.notes),
    }
    if applied is not None:
        out["applied"] = applied
    return out
