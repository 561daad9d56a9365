"""A task suite: a folder of TOML files, one task each (the format is in README, "eval").

A task names a workspace (a folder, relative to the task file), a request (kind, instruction,
file, line range) and a hidden check the models never see: for an edit, files to add after the
edit and a command that must pass in the edited copy, and patterns the edited files must (or
must not) contain; for a prose answer, reference facts (regular expressions) the answer must
state; for a search, text the answer must contain. A ``reference`` answer, when given, is what a
correct model would say (used to test the check itself and by stand-in models in benchmarks).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from lsp_server.errors import ConfigError
from lsp_server.routing.kinds import TaskKind, is_task_kind

BUILTIN_SUITE = Path(__file__).resolve().parents[2] / "examples" / "eval"


@dataclass(frozen=True, slots=True)
class Check:
    """What a correct result satisfies (see the module docstring)."""

    command: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)
    contains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    absent: dict[str, tuple[str, ...]] = field(default_factory=dict)
    facts: tuple[str, ...] = ()
    answer_contains: tuple[str, ...] = ()
    must_change: bool = False
    timeout_s: float = 120.0


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    workspace: Path
    kind: TaskKind
    instruction: str
    check: Check
    file: str | None = None
    line_range: tuple[int, int] | None = None
    reference: str | None = None
    expects: str = "answer"  # "edit", "answer" or "search": what a correct result is


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a string or a list of strings")
    return tuple(value)


def _per_file(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table of file = [patterns]")
    return {str(k): _strs(v, f"{where}.{k}") for k, v in value.items()}


def _check(raw: Any, where: str) -> Check:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [check] is missing")
    known = {"command", "files", "contains", "absent", "facts", "answer_contains", "must_change",
             "timeout_s"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where}: unknown [check] keys {sorted(unknown)}")
    files = raw.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise ConfigError(f"{where}: check.files must map paths to file contents")
    check = Check(
        command=_strs(raw.get("command", []), f"{where}: check.command"),
        files={str(k): v for k, v in files.items()},
        contains=_per_file(raw.get("contains", {}), f"{where}: check.contains"),
        absent=_per_file(raw.get("absent", {}), f"{where}: check.absent"),
        facts=_strs(raw.get("facts", []), f"{where}: check.facts"),
        answer_contains=_strs(raw.get("answer_contains", []), f"{where}: check.answer_contains"),
        must_change=bool(raw.get("must_change", False)),
        timeout_s=float(raw.get("timeout_s", 120.0)),
    )
    if not (check.command or check.contains or check.absent or check.facts
            or check.answer_contains):
        raise ConfigError(f"{where}: the check checks nothing")
    return check


def load_task(path: Path) -> Task:
    """One task from its TOML file (errors name the file and the key)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    where = str(path)
    for key in ("workspace", "kind", "instruction"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{where}: `{key}` is required")
    if not is_task_kind(raw["kind"]):
        raise ConfigError(f"{where}: unknown kind {raw['kind']!r}")
    workspace = (path.parent / raw["workspace"]).resolve()
    if not workspace.is_dir():
        raise ConfigError(f"{where}: workspace {raw['workspace']!r} is not a folder")
    line_range = None
    if "range" in raw:
        first, _, last = str(raw["range"]).partition(":")
        try:
            line_range = (int(first), int(last or first))
        except ValueError:
            raise ConfigError(f"{where}: range must be L1:L2") from None
    check = _check(raw.get("check"), where)
    expects = str(raw.get("expects") or ("search" if check.answer_contains else
                                          "edit" if check.command or check.contains
                                          or check.absent else "answer"))
    if expects not in ("edit", "answer", "search"):
        raise ConfigError(f"{where}: expects must be edit, answer or search")
    return Task(id=str(raw.get("id") or path.stem), workspace=workspace, kind=cast(TaskKind, raw["kind"]),
                instruction=raw["instruction"], check=check, file=raw.get("file"),
                line_range=line_range, reference=raw.get("reference"), expects=expects)


def load_suite(folder: Path) -> list[Task]:
    """Every ``*.toml`` task in ``folder``, by file name."""
    if not folder.is_dir():
        if folder == BUILTIN_SUITE:
            raise ConfigError("the built-in suite ships with the source checkout (examples/eval); "
                              "pass --suite DIR with your own tasks")
        raise ConfigError(f"--suite {folder}: not a folder")
    tasks = [load_task(p) for p in sorted(folder.glob("*.toml"))]
    if not tasks:
        raise ConfigError(f"--suite {folder}: no *.toml tasks")
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"--suite {folder}: task ids repeat")
    return tasks
