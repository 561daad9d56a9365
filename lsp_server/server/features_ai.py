"""Code actions, their resolution, and the ``agentic.*`` commands: params → assistant → LSP."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from lsp_server.errors import AgenticError, ConfigError
from lsp_server.server import actions
from lsp_server.server.app import AgenticServer
from lsp_server.server.convert import uri_to_path
from lsp_server.server.handlers import (
    notify_spend,
    reindex_settled,
    result_message,
    run_request,
    show,
    user_errors,
)
from lsp_server.server.progress import ProgressReporter
from lsp_server.server.requests import line_range, make_request, parse_path, parse_range, summary
from lsp_server.server.workspace_edit import to_workspace_edit

log = logging.getLogger(__name__)

COMMANDS = (
    "agentic.ask", "agentic.explain", "agentic.runAction", "agentic.feedback",
    "agentic.showMetrics", "agentic.reindex",
)
ACTION_KINDS = [
    lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.RefactorRewrite, lsp.CodeActionKind.Source,
]


def list_actions(ls: AgenticServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    """Instant and free: estimates only, no model call."""
    uri = params.text_document.uri
    path = uri_to_path(uri)
    if path is None:
        return []
    assistant = ls.get_assistant()
    version = ls.documents.version(path)
    only = params.context.only
    resolve = actions.supports_resolve_edit(ls.client_capabilities)

    def wanted(kind: str) -> bool:
        return not only or any(kind == k or kind.startswith(f"{k}.") or not k for k in only)

    out: list[lsp.CodeAction] = []

    def add(spec_kind: str, lsp_kind: str, label: str, instruction: str, rng: lsp.Range,
            diags: list[lsp.Diagnostic]) -> None:
        if not wanted(lsp_kind):
            return
        est = assistant.estimate(spec_kind, path, line_range(rng))  # type: ignore[arg-type]
        data = actions.action_data(spec_kind, instruction, uri, rng, version, [d.message for d in diags])
        action = lsp.CodeAction(
            title=actions.title(label, est.tier, est.cost_usd),
            kind=lsp_kind or None,
            diagnostics=diags or None,
            data=data,
        )
        # Explanations have no edit; clients without lazy edits get a command that applies it.
        if spec_kind == "explain" or not resolve:
            action.command = lsp.Command(title=action.title, command="agentic.runAction",
                                         arguments=[data])
            action.data = None
        out.append(action)

    for diag in params.context.diagnostics:
        add("fix", lsp.CodeActionKind.QuickFix, f"Fix `{actions.short(diag.message)}`",
            f"Fix this problem: {diag.message}", diag.range, [diag])
    if not actions.is_empty(params.range):
        for spec in actions.SELECTION_ACTIONS:
            add(spec.kind, spec.lsp_kind, spec.label, spec.instruction, params.range, [])
    return out


async def compute_edit(
    ls: AgenticServer, data: dict[str, Any], title: str
) -> tuple[lsp.WorkspaceEdit | None, dict[str, Any]]:
    """Run an action's request; return its WorkspaceEdit (if any) and the summary."""
    request = make_request(
        str(data.get("kind", "")), str(data.get("instruction", "")), data.get("uri"),
        data.get("range"), version=data.get("version"), diagnostics=data.get("diagnostics"),
    )
    result = await run_request(ls, request, title)
    info = summary(result)
    if not result.changes:
        show(ls, result_message(result),
             lsp.MessageType.Info if result.answer else lsp.MessageType.Warning)
        return None, info
    expected: dict[Path, int] = {}
    if request.path is not None and request.document_version is not None:
        expected[request.path.resolve()] = request.document_version
    edit = to_workspace_edit(result.changes, root=assistant_root(ls), documents=ls.documents,
                             expected_versions=expected)
    return edit, info


def assistant_root(ls: AgenticServer) -> Path:
    if ls.root is None:
        raise ConfigError("no workspace folder is open; open a folder to use the assistant")
    return ls.root


async def apply(ls: AgenticServer, edit: lsp.WorkspaceEdit, label: str, info: dict[str, Any]) -> bool:
    response = await ls.workspace_apply_edit_async(
        lsp.ApplyWorkspaceEditParams(edit=edit, label=label)
    )
    if not response.applied:
        reason = response.failure_reason or "the editor refused the edit"
        show(ls, f"Agentic Optimizer: edit not applied: {reason}", lsp.MessageType.Warning)
        try:
            ls.get_assistant().feedback(info["request_id"], rejected=True)
        except AgenticError as exc:
            log.info("could not record the refused edit: %s", exc)
    return bool(response.applied)


async def run_action(ls: AgenticServer, data: dict[str, Any], label: str) -> dict[str, Any]:
    edit, info = await compute_edit(ls, data, label)
    if edit is not None:
        info["applied"] = await apply(ls, edit, label, info)
    return info


def register(server: AgenticServer) -> None:
    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=ACTION_KINDS, resolve_provider=True),
    )
    def code_action(ls: AgenticServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        try:
            return list_actions(ls, params)
        except AgenticError as exc:
            log.info("no code actions: %s", exc)
        except Exception:
            log.exception("code action listing failed")
        return []

    @server.feature(lsp.CODE_ACTION_RESOLVE)
    async def resolve(ls: AgenticServer, action: lsp.CodeAction) -> lsp.CodeAction:
        """Compute the edit. On failure the action comes back without one (and a message)."""
        data = action.data if isinstance(action.data, dict) else None
        if data is None:
            return action
        computed = await user_errors(compute_edit)(ls, data, action.title)
        if computed is not None:
            action.edit, info = computed
            action.data = {"request_id": info["request_id"]}
        return action

    @server.command("agentic.runAction")
    @user_errors
    async def run_action_cmd(ls: AgenticServer, *args: Any) -> dict[str, Any] | None:
        data = args[0] if args and isinstance(args[0], dict) else None
        if data is None:
            raise ConfigError("agentic.runAction expects the action's data object")
        return await run_action(ls, data, f"AI: {data.get('kind', 'action')}")

    @server.command("agentic.ask")
    @user_errors
    async def ask(ls: AgenticServer, *args: Any) -> dict[str, Any] | None:
        if len(args) < 3 or not isinstance(args[2], str) or not args[2].strip():
            raise ConfigError("agentic.ask expects (uri, range, instruction)")
        uri, rng, instruction = args[0], parse_range(args[1]), args[2]
        path = parse_path(uri)
        data = actions.action_data("ask", instruction, uri, rng, ls.documents.version(path), [])
        return await run_action(ls, data, "AI: ask")

    @server.command("agentic.explain")
    @user_errors
    async def explain(ls: AgenticServer, *args: Any) -> dict[str, Any] | None:
        if len(args) < 2:
            raise ConfigError("agentic.explain expects (uri, range)")
        uri, rng = args[0], parse_range(args[1])
        path = parse_path(uri)
        data = actions.action_data("explain", "Explain what this code does and why.", uri, rng,
                             ls.documents.version(path), [])
        return await run_action(ls, data, "AI: explain")

    @server.command("agentic.feedback")
    @user_errors
    async def feedback(ls: AgenticServer, *args: Any) -> dict[str, Any] | None:
        if len(args) < 2:
            raise ConfigError("agentic.feedback expects (request_id, accept|reject|rating 1-5)")
        request_id, verdict = str(args[0]), args[1]
        assistant = ls.get_assistant()
        if verdict == "reject":
            assistant.feedback(request_id, rejected=True)
        elif verdict == "accept":
            assistant.feedback(request_id, rating=5)
        else:
            try:
                rating = int(verdict)
            except (TypeError, ValueError):
                raise ConfigError(f"feedback {verdict!r}: expected accept, reject or 1-5") from None
            if not 1 <= rating <= 5:
                raise ConfigError(f"feedback rating {rating}: expected 1 to 5")
            assistant.feedback(request_id, rating=rating)
        return {"request_id": request_id, "recorded": True}

    @server.command("agentic.showMetrics")
    @user_errors
    async def show_metrics(ls: AgenticServer, *args: Any) -> dict[str, Any] | None:
        text = await asyncio.to_thread(ls.get_assistant().metrics_text)
        show(ls, text, lsp.MessageType.Info)
        notify_spend(ls)
        return {"text": text}

    @server.command("agentic.reindex")
    @user_errors
    async def reindex(ls: AgenticServer, *args: Any) -> dict[str, Any] | None:
        async with ProgressReporter(ls, "Indexing") as progress:
            stats = await reindex_settled(ls)
            progress.end_message = f"{stats.files} files"
        return _plain(stats)



def _plain(obj: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(obj) and not isinstance(obj, type):
        return {k: v for k, v in asdict(obj).items() if isinstance(v, int | float | str | bool)}
    return {"result": str(obj)}
