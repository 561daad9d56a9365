"""Soak: an editor session against a real repository for a fixed time, with faulty models.

Starts `agentic-optimizer serve` on DIR (as `lsp_latency.py` does) with two models (budget and
premium tier) served by one local stand-in that answers at random with a fault: a server
error, a rate limit (Retry-After), a slow stream, a stream dropped or broken mid-answer, a
malformed body, a truncated stream. It reindexes, measures idle codeAction listings, then for
``--seconds`` runs at once:

- typing: didChange on the largest Rust file at ``--typing-rate`` per second (one character
  inserted, then removed, so the buffer stays the same size)
- codeAction listings back to back, and hovers (index part) a few per second
- ``--concurrency`` model requests (`agentic.ask` / `agentic.explain`) in flight, each client
  starting the next when its request finishes
- `agentic.reindex` every ``--reindex-every`` seconds

and then waits for the requests in flight and prints: requests served, errors by kind (as the
client saw them, and the faults the stand-in injected), ledger rows expected (the model requests
the client saw finish) against the rows in the ledger SQLite under the run's
``AGENTIC_OPTIMIZER_HOME`` (read after the server exited), codeAction p95 under load against the
idle p95, and resident memory (VmRSS from /proc, sampled twice a second; VmHWM at the end) at
start, peak and end for the server and for the context process (the server's child started by
multiprocessing's spawn).

Everything is on loopback; every loop is bounded by the deadline.

Usage: python bench/soak.py DIR [--seconds 120] [--concurrency 10] [--typing-rate 30]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsp_latency import KEY_VAR, index_and_open, pct, start_server, stop_server, timed
from lsprotocol import types as lsp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from standins import RecordedRequest, Reply, StandinServer

ANSWER = ("The function walks the list of pending tasks, wakes each one whose deadline has passed, "
          "and returns how many it woke. It holds the lock only while it collects them.")
INSTRUCTIONS = ("what does this code return?", "explain the locking here",
                "is there an off-by-one in this range?", "summarise what this does")


class FaultyModel:
    """The stand-in's answer to each call: a good answer, or a fault drawn at random."""

    def __init__(self, seed: int, fault_rate: float) -> None:
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.lock = threading.Lock()
        self.injected: collections.Counter[str] = collections.Counter()

    def __call__(self, req: RecordedRequest) -> Reply:
        with self.lock:
            r = self.rng.random()
            kind = "ok" if r >= self.fault_rate else self.rng.choice((
                "server_error", "rate_limit", "slow", "dropped", "stream_error", "malformed",
                "truncated"))
            delay = self.rng.uniform(0.1, 1.5)
            self.injected[kind] += 1
        if kind == "server_error":
            return Reply(status=500, error_message="internal error", delay=delay)
        if kind == "rate_limit":
            return Reply(status=429, retry_after=0.5, error_message="rate limited", delay=delay)
        if kind == "slow":
            return Reply(ANSWER, delay=3.0, chunk_delay=0.15)
        if kind == "dropped":
            return Reply(ANSWER, delay=delay, drop_after=3)
        if kind == "stream_error":
            return Reply(ANSWER, delay=delay, drop_after=2, stream_error="overloaded")
        if kind == "malformed":
            return Reply(malformed="{\"choices\": [", delay=delay)
        if kind == "truncated":
            return Reply(ANSWER, delay=delay, truncate=True)
        return Reply(ANSWER, delay=delay, chunk_delay=0.01)


def rss_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in kB, or None when the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    try:
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (KeyError, ValueError):
        return None


def steady_rss(pid: int | None, limit_s: float = 60.0) -> int | None:
    """VmRSS (kB) once it stayed within 1 MB for two seconds (or at the limit)."""
    if pid is None:
        return None
    last: int | None = None
    since = time.monotonic()
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        got = rss_kb(pid)
        if got is None:
            return None
        if last is None or abs(got[0] - last) > 1024:
            last, since = got[0], time.monotonic()
        elif time.monotonic() - since >= 2.0:
            break
        time.sleep(0.25)
    return last


def children(pid: int) -> list[tuple[int, str]]:
    """The direct children of PID with their command lines."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        if ppid == pid:
            out.append((int(entry.name), cmdline))
    return out


def server_pid() -> int:
    """This process's child running `lsp_server serve`."""
    for pid, cmdline in children(os.getpid()):
        if "lsp_server serve" in cmdline:
            return pid
    raise SystemExit("the server process was not found under /proc")


def context_pid(server: int) -> int | None:
    """The context process: the server's child started by multiprocessing's spawn (the parse
    pool runs under a forkserver, and the resource tracker is not spawn_main)."""
    found = sorted(pid for pid, cmdline in children(server) if "spawn_main" in cmdline)
    return found[0] if found else None


@dataclass
class Memory:
    start: int | None = None
    peak: int = 0
    end: int | None = None
    hwm: int = 0
    pid: int | None = None

    def sample(self, pid: int | None) -> None:
        got = rss_kb(pid) if pid is not None else None
        if got is None:
            return
        if self.pid != pid:  # a restarted context process starts a new record
            self.pid, self.start, self.peak, self.hwm = pid, got[0], 0, 0
        self.peak = max(self.peak, got[0])
        self.hwm = max(self.hwm, got[1])
        self.end = got[0]


@dataclass
class Tally:
    asks_sent: int = 0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    attempt_errors: collections.Counter[str] = field(default_factory=collections.Counter)
    finished: int = 0
    unfinished: int = 0
    actions: list[float] = field(default_factory=list)
    hovers: list[float] = field(default_factory=list)
    changes: int = 0
    reindex_ms: list[float] = field(default_factory=list)
    other_errors: collections.Counter[str] = field(default_factory=collections.Counter)


def error_kind(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:70]}"


def ledger_rows(home: str) -> tuple[int, int]:
    """(rows, rows with a finish time) in the ledger's requests table."""
    path = Path(home) / "ledger.sqlite3"
    if not path.exists():
        return 0, 0
    with sqlite3.connect(path) as db:
        total = db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
        done = db.execute("SELECT COUNT(*) FROM requests WHERE finished_ts IS NOT NULL").fetchone()[0]
    return int(total), int(done)


def mb(kb: float | None, unit: str = " MB") -> str:
    return "-" if kb is None else f"{kb / 1024:.0f}{unit}"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", type=Path)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--concurrency", type=int, default=10, help="model requests in flight")
    ap.add_argument("--typing-rate", type=float, default=30.0, help="didChange per second (20-50)")
    ap.add_argument("--hover-rate", type=float, default=4.0, help="hovers per second")
    ap.add_argument("--reindex-every", type=float, default=30.0, help="seconds between reindexes")
    ap.add_argument("--fault-rate", type=float, default=0.4, help="share of model calls that fail")
    ap.add_argument("--idle-rounds", type=int, default=300, help="idle codeAction listings")
    ap.add_argument("--request-timeout", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--context-in-process", action="store_true", help="serve --context-in-process")
    args = ap.parse_args()
    root: Path = args.root.resolve()
    rng = random.Random(args.seed)
    home = tempfile.mkdtemp(prefix="agentic-soak-")
    model = FaultyModel(args.seed, args.fault_rate)
    stand = StandinServer("openai", fallback=model, api_key="sk-bench")
    stand.start()
    config = Path(home) / "soak.toml"
    config.write_text("".join(
        f"[[models]]\nname = \"{name}\"\nprovider = \"openai\"\nmodel = \"{name}\"\ntier = \"{tier}\"\n"
        f"base_url = \"{stand.url}\"\napi_key_env = \"{KEY_VAR}\"\nmax_retries = 1\n"
        for name, tier in (("gpt-4.1-mini", "budget"), ("gpt-4.1", "premium")))
        + "[hover]\nexplain = false\n[cache]\nenabled = false\n[budget]\ndaily_usd = 1000000\n")
    extra = ("--context-in-process",) if args.context_in_process else ()
    client = await start_server(root, home, config, {KEY_VAR: "sk-bench"}, *extra)
    server = server_pid()
    shown: collections.Counter[str] = collections.Counter()

    @client.feature("window/showMessage")
    def show_message(params: Any) -> None:
        shown[str(getattr(params, "message", params))[:70]] += 1

    @client.feature("agentic/spend")
    def spend(params: Any) -> None:
        pass

    target, text = await index_and_open(client, root)
    uri = target.as_uri()
    lines = text.splitlines()
    typing_line = len(lines) - 2  # below every range the other requests use
    print(f"file: {target.relative_to(root)} ({len(lines)} lines); server pid {server}")
    idents = [(i, line.index("fn ") + 3) for i, line in enumerate(lines[:typing_line]) if "fn " in line]

    def some_range() -> dict[str, Any]:
        line = rng.choice(idents)[0]
        return {"start": {"line": line, "character": 0}, "end": {"line": line + 4, "character": 0}}

    def action_params() -> lsp.CodeActionParams:
        r = some_range()
        rng_ = lsp.Range(start=lsp.Position(**r["start"]), end=lsp.Position(**r["end"]))
        return lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), range=rng_,
            context=lsp.CodeActionContext(diagnostics=[lsp.Diagnostic(range=rng_, message="unused variable: `x`")]))

    async def list_actions() -> None:
        await client.text_document_code_action_async(action_params())

    tally = Tally()
    server_mem, context_mem = Memory(), Memory()

    def sample() -> None:
        server_mem.sample(server)
        context_mem.sample(context_pid(server))

    # The context process builds its ranking tables after start-up: let it finish first.
    await asyncio.to_thread(steady_rss, context_pid(server))
    for _ in range(20):  # warm up
        await list_actions()
    idle = [await timed(list_actions()) for _ in range(args.idle_rounds)]
    sample()
    print(f"idle codeAction listing: p50 {statistics.median(idle):.2f} ms, p95 {pct(idle, .95):.2f} ms")

    deadline = time.monotonic() + args.seconds

    def running() -> bool:
        return time.monotonic() < deadline

    async def typing() -> None:
        version = 1
        period = 1.0 / args.typing_rate
        next_at = time.monotonic()
        while running():
            version += 1
            pos = lsp.Position(line=typing_line, character=0)
            change = (lsp.TextDocumentContentChangePartial(range=lsp.Range(start=pos, end=pos), text="x")
                      if version % 2 == 0 else lsp.TextDocumentContentChangePartial(
                          range=lsp.Range(start=pos, end=lsp.Position(line=typing_line, character=1)), text=""))
            client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[change]))
            tally.changes += 1
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def actions() -> None:
        while running():
            try:
                tally.actions.append(await timed(list_actions()))
            except Exception as exc:  # counted, the session goes on
                tally.other_errors["codeAction " + error_kind(exc)] += 1
            await asyncio.sleep(0.02)

    async def hovers() -> None:
        while running():
            line, col = rng.choice(idents)
            try:
                tally.hovers.append(await timed(client.text_document_hover_async(lsp.HoverParams(
                    text_document=lsp.TextDocumentIdentifier(uri=uri),
                    position=lsp.Position(line=line, character=col)))))
            except Exception as exc:
                tally.other_errors["hover " + error_kind(exc)] += 1
            await asyncio.sleep(1.0 / args.hover_rate)

    async def reindexes() -> None:
        while True:
            await asyncio.sleep(min(args.reindex_every, max(0.0, deadline - time.monotonic())))
            if not running():
                return
            t = time.perf_counter()
            try:
                await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command="agentic.reindex"))
                tally.reindex_ms.append((time.perf_counter() - t) * 1000)
            except Exception as exc:
                tally.other_errors["reindex " + error_kind(exc)] += 1

    async def asker(i: int) -> None:
        while running():
            if rng.random() < 0.5:
                params = lsp.ExecuteCommandParams(command="agentic.explain", arguments=[uri, some_range()])
            else:
                params = lsp.ExecuteCommandParams(command="agentic.ask", arguments=[
                    uri, some_range(), rng.choice(INSTRUCTIONS)])
            tally.asks_sent += 1
            try:
                result = await asyncio.wait_for(client.workspace_execute_command_async(params),
                                                args.request_timeout)
            except TimeoutError:
                tally.unfinished += 1
                tally.outcomes["no answer within the timeout"] += 1
                continue
            except Exception as exc:  # an LSP error response: the request finished
                tally.finished += 1
                tally.outcomes["LSP error " + error_kind(exc)] += 1
                continue
            tally.finished += 1
            outcome = result.get("outcome") if isinstance(result, dict) else None
            tally.outcomes[f"outcome {outcome}"] += 1
            for attempt in result.get("attempts", []) if isinstance(result, dict) else []:
                if attempt.get("error"):  # "Type: model (provider model): message"
                    kind, _, rest = str(attempt["error"]).partition(": ")
                    tally.attempt_errors[f"{kind}: {rest.partition('): ')[2][:50]}"] += 1

    async def sampler() -> None:
        while running():
            sample()
            await asyncio.sleep(0.5)

    t_load = time.perf_counter()
    load = [typing(), actions(), hovers(), reindexes(), sampler(),
            *(asker(i) for i in range(args.concurrency))]
    await asyncio.gather(*load)
    sample()
    elapsed = time.perf_counter() - t_load
    await client.text_document_code_action_async(action_params())  # still serving
    end_server_kb, end_context_kb = server_mem.end, context_mem.end
    context_at_end = context_pid(server)
    await stop_server(client)
    stand.stop()
    rows, finished_rows = ledger_rows(home)
    log_lines = (Path(home) / "server.log").read_text(errors="replace").splitlines() \
        if (Path(home) / "server.log").exists() else []

    print(f"\nload: {elapsed:.0f} s, {args.concurrency} model requests in flight, "
          f"fault rate {args.fault_rate:.0%}; os.getloadavg() at the end: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"didChange sent: {tally.changes} ({tally.changes / elapsed:.1f}/s); codeAction listings: "
          f"{len(tally.actions)}; hovers: {len(tally.hovers)}; reindexes: {len(tally.reindex_ms)}"
          + (f" (median {statistics.median(tally.reindex_ms):.0f} ms)" if tally.reindex_ms else ""))
    print(f"model requests sent: {tally.asks_sent}, served (a result or an LSP error): {tally.finished}, "
          f"without an answer in {args.request_timeout:.0f} s: {tally.unfinished}")
    print("\nrequests by outcome (client side):")
    for kind, n in tally.outcomes.most_common():
        print(f"  {n:>6}  {kind}")
    print("attempt errors reported in the results:")
    for kind, n in tally.attempt_errors.most_common():
        print(f"  {n:>6}  {kind}")
    print("faults the stand-in injected (per model call):")
    for kind, n in model.injected.most_common():
        print(f"  {n:>6}  {kind}")
    if tally.other_errors:
        print("other request errors:")
        for kind, n in tally.other_errors.most_common():
            print(f"  {n:>6}  {kind}")
    if shown:
        print("window/showMessage sent to the editor:")
        for kind, n in shown.most_common():
            print(f"  {n:>6}  {kind}")
    levels = collections.Counter(w for line in log_lines for w in line.split()[:4]
                                 if w in ("WARNING", "ERROR", "CRITICAL"))
    print(f"server log: {len(log_lines)} lines ({dict(levels) or 'no warnings'}); "
          f"tracebacks: {sum('Traceback' in line for line in log_lines)}")
    verdict = "equal" if rows == tally.finished else f"MISMATCH ({rows - tally.finished:+d})"
    print(f"\nledger rows: expected {tally.finished}, written {rows} ({finished_rows} with a finish time): "
          f"{verdict}")
    i95, l95 = pct(idle, .95), pct(tally.actions, .95) if tally.actions else float("nan")
    print(f"codeAction listing p95: idle {i95:.2f} ms, under load {l95:.2f} ms: ratio {l95 / i95:.1f}x "
          f"(p50 idle {statistics.median(idle):.2f} ms, under load "
          f"{statistics.median(tally.actions) if tally.actions else float('nan'):.2f} ms)")
    if tally.hovers:
        print(f"hover (index part) under load: p50 {statistics.median(tally.hovers):.2f} ms, "
              f"p95 {pct(tally.hovers, .95):.2f} ms")
    print(f"\n{'resident memory':<22}{'start':>10}{'peak':>10}{'end':>10}{'VmHWM':>10}")
    print(f"{'server':<22}{mb(server_mem.start):>10}{mb(server_mem.peak):>10}{mb(end_server_kb):>10}"
          f"{mb(server_mem.hwm):>10}")
    if context_mem.pid is None:
        print("context process: none seen")
    else:
        restarted = "" if context_mem.pid == context_at_end else " (not alive at the end)"
        print(f"{'context process':<22}{mb(context_mem.start):>10}{mb(context_mem.peak):>10}"
              f"{mb(end_context_kb):>10}{mb(context_mem.hwm):>10}{restarted}")


if __name__ == "__main__":
    asyncio.run(main())
