"""``ask --diagnostic``: "AI: Fix" from the command line, a diagnostic's message only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_helpers import copy_example
from standins.fixtures import standin  # noqa: F401

from lsp_server.cli import main

BROKEN = "    return value * (1 - percent / 100)\n"
FIX = ("inventory/pricing.py\n<<<<<<< SEARCH\n    return value * (1 - pct / 100)\n=======\n"
       f"{BROKEN}>>>>>>> REPLACE\n")
LEAVE = ("inventory/pricing.py\n<<<<<<< SEARCH\n    return value * (1 - pct / 100)\n=======\n"
         "    return value * (1 - pct / 100.0)\n>>>>>>> REPLACE\n")


@pytest.mark.parametrize(("reply", "accepted"), [(FIX, True), (LEAVE, False)])
def test_a_fix_must_remove_the_named_diagnostic(standin, tmp_path: Path, reply: str,  # noqa: F811
                                                accepted: bool,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example("python-pkg", tmp_path)
    pricing = root / "inventory" / "pricing.py"
    pricing.write_text(pricing.read_text().replace(BROKEN, "    return value * (1 - pct / 100)\n"))
    local = standin("ollama", reply)
    settings = local.model_settings(name="local", max_retries=0, edit_format="search_replace")
    (root / "agentic-optimizer.toml").write_text(
        "[[models]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
    rc = main(["ask", "Fix this problem", "--project", str(root), "--kind", "fix",
               "--file", "inventory/pricing.py", "--range", "14:14",
               "--diagnostic", "undefined name 'pct'", "--json"])
    out = json.loads(capsys.readouterr().out)
    reasons = out["attempts"][0]["reasons"]
    if accepted:
        assert rc == 0 and out["outcome"] == "accepted"
        assert any(r.startswith("the diagnostic to fix is gone: inventory/pricing.py:14: "
                                "[UndefinedName]") for r in reasons), reasons
    else:
        assert rc == 1 and out["outcome"] == "rejected"
        assert any("the diagnostic to fix is still reported" in r for r in reasons), reasons


def test_a_diagnostic_needs_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_example("python-pkg", tmp_path)
    rc = main(["ask", "fix it", "--project", str(root), "--diagnostic", "E0308"])
    assert rc == 2 and "--diagnostic needs --file" in capsys.readouterr().err
