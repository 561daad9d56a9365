"""Code actions, their resolution, and the ``agentic.*`` commands: params → assistant → LSP."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from lsprotocol import types as lsp

from lsp_server import wire
from lsp_server.assistant import AssistResult
from lsp_server.assistant.parts import NO_MODEL
from lsp_server.errors import AgenticError, ConfigError
from lsp_server.routing.kinds import TaskKind
from lsp_server.server import actions
from lsp_server.server.app import AgenticServer
from lsp_server.server.convert import uri_to_path, wire_range
from lsp_server.server.handlers import (
    notify_spend,
    reindex_settled,
    result_message,
    run_request,
    show,
    user_errors,
)
from lsp_server.server.progress import ProgressReporter
from lsp_server.server.requests import line_range, make_request, parse_path
from lsp_server.server.setup_models import open_setup
from lsp_server.server.workspace_edit import to_workspace_edit

log = logging.getLogger(__name__)

ACTION_KINDS = [lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.Refactor]


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
    no_model: list[str] = []

    def add(spec_kind: TaskKind, lsp_kind: str, label: str, instruction: str, rng: lsp.Range,
            diags: list[lsp.Diagnostic]) -> None:
        if not wanted(lsp_kind):
            return
        data = actions.action_data(spec_kind, instruction, uri, wire_range(rng), version,
                                   [actions.diagnostic_ref(d, wire_range(d.range)) for d in diags])
        est = assistant.estimate(spec_kind, path, line_range(data["range"]))
        if est.missing == NO_MODEL:
            no_model.append(est.missing)
        action = lsp.CodeAction(
            title=actions.title(label, est.tier, est.cost_usd, est.missing),
            kind=lsp_kind or None,
            diagnostics=diags or None,
            data=data,
        )
        # Explanations have no edit; clients without lazy edits get a command that applies it.
        if spec_kind == "explain" or not resolve:
            action.command = lsp.Command(title=action.title, command=wire.RUN_ACTION,
                                         arguments=[data])
            action.data = None
        out.append(action)

    for diag in params.context.diagnostics:
        add("fix", lsp.CodeActionKind.QuickFix, f"Fix `{actions.short(diag.message)}`",
            f"Fix this problem: {diag.message}", diag.range, [diag])
    if not actions.is_empty(params.range):
        for spec in actions.SELECTION_ACTIONS:
            add(spec.kind, spec.lsp_kind, spec.label, spec.instruction, params.range, [])
    if no_model and ls.root is not None and wanted(lsp.CodeActionKind.QuickFix):
        # Without a model every action above would fail: offer the way to set one up.
        out.append(lsp.CodeAction(
            title=actions.SETUP_TITLE, kind=lsp.CodeActionKind.QuickFix,
            command=lsp.Command(title=actions.SETUP_TITLE, command=wire.SETUP_MODELS)))
    return out


def command_action(ls: AgenticServer, kind: TaskKind, instruction: str, uri: str,
                   rng: wire.Range) -> wire.ActionData:
    """The action a command runs, against the document version open now."""
    version = ls.documents.version(parse_path(uri))
    return actions.action_data(kind, instruction, uri, rng, version, [])


async def compute_edit(
    ls: AgenticServer, data: wire.ActionData, title: str
) -> tuple[lsp.WorkspaceEdit | None, AssistResult]:
    """Run an action's request; return its WorkspaceEdit (if any) and the result."""
    request = make_request(data)
    result = await run_request(ls, request, title)
    if not result.changes:
        show(ls, result_message(result),
             lsp.MessageType.Info if result.answer else lsp.MessageType.Warning)
        return None, result
    expected: dict[Path, int] = {}
    if request.path is not None and request.document_version is not None:
        expected[request.path.resolve()] = request.document_version
    edit = to_workspace_edit(result.changes, root=assistant_root(ls), documents=ls.documents,
                             expected_versions=expected)
    return edit, result


async def resolve_edit(
    ls: AgenticServer, raw: object, title: str
) -> tuple[lsp.WorkspaceEdit | None, wire.ResolvedActionData]:
    edit, result = await compute_edit(ls, wire.parse_action_data(raw), title)
    return edit, {"request_id": result.request_id}


def assistant_root(ls: AgenticServer) -> Path:
    if ls.root is None:
        raise ConfigError("no workspace folder is open; open a folder to use the assistant")
    return ls.root


async def apply(ls: AgenticServer, edit: lsp.WorkspaceEdit, label: str, request_id: str) -> bool:
    response = await ls.workspace_apply_edit_async(
        lsp.ApplyWorkspaceEditParams(edit=edit, label=label)
    )
    if not response.applied:
        reason = response.failure_reason or "the editor refused the edit"
        show(ls, f"Agentic Optimizer: edit not applied: {reason}", lsp.MessageType.Warning)
        try:
            ls.get_assistant().feedback(request_id, rejected=True)
        except AgenticError as exc:
            log.info("could not record the refused edit: %s", exc)
    return bool(response.applied)


async def run_action(ls: AgenticServer, data: wire.ActionData, label: str) -> wire.ResultJson:
    edit, result = await compute_edit(ls, data, label)
    applied = None if edit is None else await apply(ls, edit, label, result.request_id)
    return wire.result_json(result, applied)


def record_feedback(ls: AgenticServer, request_id: str, verdict: wire.Verdict) -> None:
    """``accept`` counts as a rating of 5; ``reject`` marks the request rejected."""
    assistant = ls.get_assistant()
    if verdict == "reject":
        assistant.feedback(request_id, rejected=True)
    else:
        assistant.feedback(request_id, rating=5 if verdict == "accept" else verdict)


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
        if action.data is None:
            return action
        computed = await user_errors(resolve_edit)(ls, action.data, action.title)
        if computed is not None:
            action.edit, action.data = computed
        return action

    # Commands: pygls passes the editor's arguments as they came; each is parsed at once.
    @server.command(wire.RUN_ACTION)
    @user_errors
    async def run_action_cmd(ls: AgenticServer, *args: object) -> wire.ResultJson:
        (data,) = wire.parse_run_action_args(args)
        return await run_action(ls, data, f"AI: {data['kind']}")

    @server.command(wire.ASK)
    @user_errors
    async def ask(ls: AgenticServer, *args: object) -> wire.ResultJson:
        uri, rng, instruction = wire.parse_ask_args(args)
        return await run_action(ls, command_action(ls, "ask", instruction, uri, rng), "AI: ask")

    @server.command(wire.EXPLAIN)
    @user_errors
    async def explain(ls: AgenticServer, *args: object) -> wire.ResultJson:
        uri, rng = wire.parse_explain_args(args)
        data = command_action(ls, "explain", actions.EXPLAIN_INSTRUCTION, uri, rng)
        return await run_action(ls, data, "AI: explain")

    @server.command(wire.FEEDBACK)
    @user_errors
    async def feedback(ls: AgenticServer, *args: object) -> wire.FeedbackResult:
        request_id, verdict = wire.parse_feedback_args(args)
        record_feedback(ls, request_id, verdict)
        return {"request_id": request_id, "recorded": True}

    @server.command(wire.SHOW_METRICS)
    @user_errors
    async def show_metrics(ls: AgenticServer, *args: object) -> wire.MetricsResult:
        wire.parse_no_args(wire.SHOW_METRICS, args)
        text = await asyncio.to_thread(ls.get_assistant().metrics_text)
        show(ls, text, lsp.MessageType.Info)
        await notify_spend(ls)
        return {"text": text}

    @server.command(wire.SETUP_MODELS)
    @user_errors
    async def setup_models(ls: AgenticServer, *args: object) -> wire.SetupResult:
        wire.parse_no_args(wire.SETUP_MODELS, args)
        document, text = await open_setup(assistant_root(ls))
        show(ls, text, lsp.MessageType.Info)
        await ls.window_show_document_async(document)
        return {"config": document.uri}

    @server.command(wire.REINDEX)
    @user_errors
    async def reindex(ls: AgenticServer, *args: object) -> wire.ReindexResult:
        wire.parse_no_args(wire.REINDEX, args)
        async with ProgressReporter(ls, "Indexing") as progress:
            stats = await reindex_settled(ls)
            progress.end_message = f"{stats.files} files"
        return wire.reindex_result(stats)
