"""Two properties of a llama.cpp server that decide a local tier's latency, measured on Gemma 3
270M (tests/local_llama.py), for ``llama-server`` and ``llama-cpp-python`` in the same run:

1. Giving up: a streamed request for a long prompt (the thread table's prompt tokens) is
   abandoned 3 s in, before its first token (as the router's first-token budget does); how long until the server answers
   the next one-token request? A server that keeps reading the abandoned prompt delays it.
2. Threads (``--threads``, llama-server only): prompt and generation speed, from the server's own
   timings, with one thread and with one per core, alternating, on the same prompt.

    python bench/llama_servers.py [--server NAME[,NAME]] [--rounds N]

Prints the load average with every figure: on a machine busy with other work the figures move
a lot, and the comparison within one run is what counts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests"))

from local_llama import MODEL_ALIAS, SERVERS, llama_server, missing_parts  # noqa: E402

SOURCE = (REPO / "examples" / "rust-crate" / "src" / "lib.rs").read_text()
LONG_PROMPT = ("Explain this code:\n" + SOURCE) * 4


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def chat(url: str, text: str, max_tokens: int, timeout: float) -> dict[str, object]:
    body = {"model": MODEL_ALIAS, "messages": [{"role": "user", "content": text}],
            "max_tokens": max_tokens, "temperature": 0}
    reply: dict[str, object] = httpx.post(f"{url}/chat/completions", json=body,
                                          timeout=timeout).json()
    return reply


def give_up(server: str) -> None:
    with llama_server(n_ctx=8192, server=server) as url:  # type: ignore[arg-type]
        body = {"model": MODEL_ALIAS, "messages": [{"role": "user", "content": LONG_PROMPT}],
                "max_tokens": 64, "temperature": 0, "stream": True}
        started = False
        try:
            with httpx.stream("POST", f"{url}/chat/completions", json=body,
                              timeout=httpx.Timeout(3.0)) as reply:
                for line in reply.iter_lines():
                    if '"content"' in line:
                        started = True
                        break
        except httpx.ReadTimeout:
            pass
        left = time.perf_counter()
        chat(url, "Hi", 1, 900)
        waited = time.perf_counter() - left
        note = " (its first token came within 3 s: not a give-up)" if started else ""
        print(f"| {server} | {waited:.1f} s{note} | {load()} |", flush=True)


def threads(rounds: int) -> None:
    cores = os.cpu_count() or 2
    for _ in range(rounds):
        for count in sorted({cores, 1}, reverse=True):
            os.environ["AO_LLAMA_THREADS"] = str(count)
            try:
                with llama_server(n_ctx=8192) as url:
                    timings = chat(url, LONG_PROMPT, 32, 900)["timings"]
            finally:
                del os.environ["AO_LLAMA_THREADS"]
            t: dict[str, float] = timings  # type: ignore[assignment]
            print(f"| {count} | {t['prompt_n']:.0f} | {t['prompt_per_second']:.1f} | "
                  f"{t['predicted_n']:.0f} | {t['predicted_per_second']:.1f} | {load()} |",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=",".join(SERVERS), metavar="NAME[,NAME]",
                        help=f"servers for the give-up measurement: {', '.join(SERVERS)}")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the thread comparison")
    args = parser.parse_args()
    servers = [s.strip() for s in args.server.split(",") if s.strip()]
    for server in servers:
        if server not in SERVERS:
            raise SystemExit(f"{server!r}: expected one of {', '.join(SERVERS)}")
        why = missing_parts(server)  # type: ignore[arg-type]
        if why is not None:
            raise SystemExit(f"{server}: {why}")
    print(f"{os.cpu_count()} cores")
    print("\n| server | next request answered after giving up 3 s into the prompt | load |")
    print("| --- | --- | --- |")
    for server in servers:
        give_up(server)
    if "llama-server" in servers and args.rounds > 0:
        print("\n| llama-server threads | prompt tokens | prompt tokens/s | generated tokens | "
              "generated tokens/s | load |")
        print("| --- | --- | --- | --- | --- | --- |")
        threads(args.rounds)


if __name__ == "__main__":
    main()
