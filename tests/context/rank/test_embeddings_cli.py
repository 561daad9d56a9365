"""``index --embed`` and ``context`` with ``context.embeddings`` on: the whole project embedded
through the Ollama stand-in's /api/embed, then a request ranked with those vectors; a model
that does not answer is one line on stderr, never a traceback."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from standins import StandinServer
from standins.embedders import concept_embedder

from lsp_server.cli import main

CONCEPTS = [
    {"limit", "cap", "max", "results", "hits", "number", "truncate"},
    {"colour", "color", "paint", "palette", "theme"},
    {"render", "rows", "table", "layout"},
]


concept_vector = concept_embedder(CONCEPTS)


@pytest.fixture
def ollama() -> Iterator[StandinServer]:
    with StandinServer("ollama", models=["nomic-embed-text:latest"], embedder=concept_vector) as srv:
        yield srv


def _project(root: Path, embed_url: str, embeddings: bool = True) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "quota.py").write_text("def truncate_found(found, cap):\n    return found[:cap]\n")
    (root / "app" / "palette.py").write_text("def paint(cell, theme):\n    return theme[cell]\n")
    (root / "app" / "table.py").write_text("def render_rows(rows):\n    return '\\n'.join(rows)\n")
    (root / "agentic-optimizer.toml").write_text(
        f"[context]\nembeddings = {'true' if embeddings else 'false'}\n"
        f'embedding_model = "nomic-embed-text"\nembedding_base_url = "{embed_url}"\n'
        "embedding_timeout_ms = 5000\n"
    )
    return root


def test_index_embed_then_context_ranks_by_meaning(
    tmp_path: Path, ollama: StandinServer, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path / "proj", ollama.url)
    assert main(["index", "--project", str(root), "--embed", "--json"]) == 0
    emb = json.loads(capsys.readouterr().out)["embeddings"]
    assert emb["model"] == "nomic-embed-text" and emb["passages"] >= 3
    assert emb["stored"] == emb["passages"] and Path(emb["store"]).is_file()

    # Nothing is embedded twice.
    assert main(["index", "--project", str(root), "--embed"]) == 0
    assert "embeddings: 0 passages embedded with nomic-embed-text" in capsys.readouterr().out

    # "cap the hits" shares no word with truncate_found's file name or code but its meaning.
    assert main(["context", "--project", str(root), "--format", "json", "--budget", "400",
                 "please cap the number of hits"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["embeddings"] == {"model": "nomic-embed-text", "embedded": emb["passages"],
                                  "passages": emb["passages"]}
    top = data["files"][0]
    assert top["path"] == "app/quota.py"
    assert any("similar in meaning" in r for r in top["reasons"])


def test_context_text_output_reports_coverage(
    tmp_path: Path, ollama: StandinServer, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path / "proj", ollama.url)
    assert main(["context", "--project", str(root), "paint the theme"]) == 0
    out = capsys.readouterr().out
    # Before ``index --embed`` no passage has a vector; the request itself was embedded.
    assert re.search(r"# embeddings \(nomic-embed-text\): 0 of \d+ passages have vectors; "
                     r"`agentic-optimizer index --embed` embeds the rest", out)


def test_index_embed_notes_when_embeddings_are_off(
    tmp_path: Path, ollama: StandinServer, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path / "proj", ollama.url, embeddings=False)
    assert main(["index", "--project", str(root), "--embed"]) == 0
    out = capsys.readouterr().out
    assert "passages embedded with nomic-embed-text" in out
    assert "context.embeddings is off" in out


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_unreachable_embedding_model_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _project(tmp_path / "proj", _closed_port())
    assert main(["index", "--project", str(root), "--embed"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agentic-optimizer index: embedding model nomic-embed-text at ")
    assert err.count("\n") == 1 and "Traceback" not in err

    # A context still comes back, ranked without embeddings, with a warning.
    assert main(["context", "--project", str(root), "--format", "json", "cap the hits"]) == 0
    captured = capsys.readouterr()
    assert "ranked without embeddings" in captured.err
    assert "embeddings" not in json.loads(captured.out)
