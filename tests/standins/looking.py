"""A stand-in model that looks definitions up before it answers, for the tool evaluation.

For an eval task whose answer needs code the prompt left out, it asks for that code with the
task's scripted tool calls, in the way the request offers tools (the vendor's native tool
calling when the request carries ``tools``, else the text protocol when the prompt teaches it),
until the task's reference facts are in the request (a tool's result came back); then it
answers with the task's reference. A call whose result is already in the request is not asked
again. Offered no tools, or with nothing left to ask, it answers as a model that cannot see the
definition does: on topic, naming what was asked about, with a guessed figure. It knows nothing
the request does not contain, so what it solves measures the tool loop, not a model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lsp_server.evaluation.suite import Task
from standins.script import RecordedRequest, Reply
from standins.wire import request_text

TEXT_PROTOCOL = "You may look up code before you answer"


@dataclass(frozen=True)
class Lookup:
    """One tool call a task's model makes, and text its result shows (so it asks once, and
    skips the call when the prompt shows that text already)."""

    tool: str
    args: dict[str, Any] = field(default_factory=dict)
    finds: str = ""


def _offers_tools(req: RecordedRequest) -> str | None:
    body = req.body if isinstance(req.body, dict) else {}
    if body.get("tools"):
        return "native"
    return "text" if TEXT_PROTOCOL in req.raw else None


def looking_oracle(tasks: Sequence[Task],
                   lookups: Mapping[str, Sequence[Lookup]]) -> Callable[[RecordedRequest], Reply]:
    """The fallback for a stand-in playing a model that uses tools (see the module docstring)."""
    keyed = sorted(((json.dumps(t.instruction)[1:-1], t) for t in tasks),
                   key=lambda kv: -len(kv[0]))

    def answer(req: RecordedRequest) -> Reply:
        task = next((t for key, t in keyed if key in req.raw), None)
        if task is None:
            return Reply(text="no task matches this request")
        seen = request_text(req)
        if task.check.facts and all(re.search(f, seen, re.IGNORECASE) for f in task.check.facts):
            return Reply(text=task.reference or "no reference answer")
        how = _offers_tools(req)
        for look in lookups.get(task.id, ()) if how is not None else ():
            if look.finds and look.finds in seen:
                continue
            if how == "native":
                return Reply(text="", tool_calls=[{"name": look.tool, "args": look.args}])
            return Reply(text=f"@tool {look.tool} {json.dumps(look.args)}")
        subject = max(task.instruction.split(), key=lambda w: ("_" in w, len(w)))
        return Reply(text=f"`{subject}` adds the usual amount for this, about 5.00, from the "
                          "table the code reads.")

    return answer


# The calls a model that looks things up makes for the tasks of examples/eval-tools.
EVAL_TOOLS_LOOKUPS: dict[str, tuple[Lookup, ...]] = {
    "tools-explain-total-rate": (
        Lookup("find_definition", {"name": "apply_rate"}, finds="COUNTY_RATES[county]"),
        Lookup("find_definition", {"name": "COUNTY_RATES"}, finds='"travis": 8.25'),
    ),
    "tools-explain-shipping": (
        Lookup("find_definition", {"name": "shipping_fee"}, finds="if weight_kg <= 0.5"),
    ),
}
