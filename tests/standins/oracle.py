"""A stand-in model that knows the answers: for an eval task's request it replies with the
task's reference answer, found by the task's instruction in the request body.

Benchmarks and tests use it as the higher tiers behind a real local model, so the cascade's
escalations land on a correct answer and ``eval`` measures what the local tier itself does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from lsp_server.evaluation.suite import Task
from standins.script import RecordedRequest, Reply


def oracle(tasks: Sequence[Task], *, wrong: bool = False) -> Callable[[RecordedRequest], Reply]:
    """The fallback answering each task's request with its reference (with ``wrong``, a
    confident answer that names the subject but states none of the reference facts and edits
    nothing)."""
    keyed = sorted(((json.dumps(t.instruction)[1:-1], t) for t in tasks),
                   key=lambda kv: -len(kv[0]))

    def answer(req: RecordedRequest) -> Reply:
        for key, task in keyed:
            if key in req.raw:
                if wrong:
                    # Names what was asked about (so the prose judge's on-topic check passes)
                    # but states a wrong fact: only the hidden checks can tell.
                    subject = max(task.instruction.split(), key=lambda w: ("_" in w, len(w)))
                    return Reply(text=f"`{subject}` returns how many items it is given, as a "
                                      "number; it does not look at them.")
                return Reply(text=task.reference or "no reference answer")
        return Reply(text="no task matches this request")

    return answer
