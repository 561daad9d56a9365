"""What the project's type checker adds to verification: time, and the wrong edits it catches.

``examples/python-pkg`` is verified twice over, in two copies that differ only in whether
``pyproject.toml`` configures mypy (``[tool.mypy]``, strict): the baseline copy gets compile +
pyflakes + related tests, the other the same plus mypy on the edited file and its importers,
before and after, in the shadow copy. Each round verifies a good edit and a wrong-by-type edit
(it compiles and pyflakes finds nothing: only a type checker sees it). The first verification of
each copy is reported apart (cold: a new shadow copy, and for mypy an empty cache); the rest are
warm. Times are per verification, in the same run for both copies, and the ratio is against the
baseline.

    python bench/typecheck.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsp_server.config import Settings, parse_settings
from lsp_server.edits import Verdict, verify

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = REPO_ROOT / "examples" / "python-pkg"
TARGET = "inventory/pricing.py"
OLD = "def discounted(value: float, percent: float) -> float:\n    return value * (1 - percent / 100)\n"
GOOD = "def discounted(value: float, percent: float) -> float:\n    return value - value * percent / 100\n"
WRONG_TYPE = "def discounted(value: float, percent: float) -> float:\n    return str(value * (1 - percent / 100))\n"
MYPY = "[tool.mypy]\nstrict = true\n"


def _answer(new: str) -> str:
    return f"{TARGET}\n<<<<<<< SEARCH\n{OLD}=======\n{new}>>>>>>> REPLACE\n"


def _verify(root: Path, settings: Settings, new: str) -> tuple[Verdict, float]:
    def read(rel: str) -> str | None:
        path = root / rel
        return path.read_text(encoding="utf-8") if path.is_file() else None

    start = time.perf_counter()
    verdict = verify(_answer(new), edit_format="search_replace", read_text=read, root=root,
                     settings=settings, target_path=TARGET, target_lines=(13, 14),
                     threshold=0.85, tier="local")
    return verdict, time.perf_counter() - start


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        copies: dict[str, tuple[Path, Settings]] = {}
        for name in ("baseline", "mypy"):
            root = base / name / "python-pkg"
            shutil.copytree(EXAMPLE, root)
            if name == "mypy":
                (root / "pyproject.toml").write_text(MYPY, encoding="utf-8")
            copies[name] = (root, parse_settings({"state_dir": str(base / name / "state")}))
        cold: dict[str, float] = {}
        warm: dict[str, list[float]] = {n: [] for n in copies}
        caught: dict[str, int] = dict.fromkeys(copies, 0)
        kept: dict[str, int] = dict.fromkeys(copies, 0)
        for name, (root, settings) in copies.items():
            _, cold[name] = _verify(root, settings, GOOD)
        for _ in range(args.rounds):
            for name, (root, settings) in copies.items():
                good, seconds = _verify(root, settings, GOOD)
                warm[name].append(seconds)
                kept[name] += good.accepted
                wrong, seconds = _verify(root, settings, WRONG_TYPE)
                warm[name].append(seconds)
                caught[name] += not wrong.accepted
        print(f"examples/python-pkg, {args.rounds} rounds (a good edit and a wrong-by-type edit "
              "each), related tests on (the example has none)")
        print(f"{'config':<10}{'cold':>9}{'warm p50':>10}{'warm p95':>10}{'p50 ratio':>11}"
              f"{'good kept':>11}{'type-wrong caught':>19}")
        base_p50 = statistics.median(warm["baseline"])
        for name in copies:
            p50 = statistics.median(warm[name])
            print(f"{name:<10}{cold[name]:>8.2f}s{p50:>9.2f}s{_pct(warm[name], 95):>9.2f}s"
                  f"{p50 / base_p50:>10.2f}x{kept[name]:>6}/{args.rounds:<4}"
                  f"{caught[name]:>13}/{args.rounds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
