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
    confident answer that states none of the reference facts and edits nothing)."""
    keyed = sorted(((json.dumps(t.instruction)[1:-1], t) for t in tasks),
                   key=lambda kv: -len(kv[0]))

    def answer(req: RecordedRequest) -> Reply:
        for key, task in keyed:
            if key in req.raw:
                if wrong:
                    return Reply(text="This code is part of the project and works as written; "
                                      "it needs no further explanation or change.")
                return Reply(text=task.reference or "no reference answer")
        return Reply(text="no task matches this request")

    return answer
