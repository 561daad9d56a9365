"""The project's git history as ranking evidence, on small real repositories made here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from git_repo import commit, git

from lsp_server.config import parse_settings
from lsp_server.context.index.project import ProjectIndex
from lsp_server.context.rank.builder import build_context, project_history
from lsp_server.context.rank.history import MAX_FILES_PER_COMMIT, RECENCY_HALF_LIFE, History
from lsp_server.context.rank.ranking import ContextRequest, rank


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit(root, "Start the scheduler and the parser", {
        "sched.py": "def run():\n    return 1\n", "timer.py": "def tick():\n    return 2\n",
        "parse.py": "def parse(s):\n    return s\n", "util.py": "def helper():\n    return 3\n"})
    for i in range(3):
        commit(root, f"Scheduler: wake timers on time ({i})",
               {"sched.py": f"def run():\n    return {i}\n", "timer.py": f"def tick():\n    return {i}\n"})
    commit(root, "Parser: accept a trailing comma", {"parse.py": "def parse(s):\n    return s.strip(',')\n"})
    return root


def known(*paths: str) -> dict[str, int]:
    return dict.fromkeys(paths, 1)


ALL = known("sched.py", "timer.py", "parse.py", "util.py")


def test_cochange_follows_files_that_changed_together(repo: Path) -> None:
    hist = History(repo)
    stats = hist.refresh()
    assert stats.available and stats.commits == 5 and stats.stopped_by == ""
    scores = hist.cochange({"sched.py": 1.0}, ALL)
    assert scores["sched.py"] == pytest.approx(1.0)  # a seed changed with itself every time
    assert scores["timer.py"] == pytest.approx(1.0)  # every commit of sched.py touched timer.py
    assert scores["parse.py"] == pytest.approx(0.25)  # one of its four
    assert "util.py" in scores and scores["util.py"] == pytest.approx(0.25)
    both = hist.cochange({"sched.py": 1.0, "timer.py": 0.5}, ALL)
    assert both["sched.py"] == pytest.approx(1.5) and both["timer.py"] == pytest.approx(1.5)
    assert both["parse.py"] == pytest.approx(0.25 + 0.5 / 4)
    assert hist.cochange({"sched.py": 1.0}, known("sched.py", "parse.py")) == {
        "sched.py": pytest.approx(1.0), "parse.py": pytest.approx(0.25)}
    assert hist.cochange({"nowhere.py": 1.0}, ALL) == {}


def test_commit_messages_rank_the_files_they_touched(repo: Path) -> None:
    hist = History(repo)
    hist.refresh()
    scores = hist.message_scores(["trail", "comma"], ALL)
    assert list(scores) == ["parse.py"]
    wake = hist.message_scores(["wake", "timer"], ALL)
    assert set(wake) == {"sched.py", "timer.py"}
    # Files the index does not hold are left out.
    assert hist.message_scores(["comma"], known("sched.py")) == {}


def test_recency_favours_files_changed_often_and_lately(repo: Path) -> None:
    hist = History(repo)
    hist.refresh()
    rec = hist.recency(ALL)
    assert rec["sched.py"] > rec["util.py"] and rec["parse.py"] > rec["util.py"]
    # Each change counts by its age in commits, newest first: half as much every half-life.
    def age(n: int) -> float:
        return float(0.5 ** (n / RECENCY_HALF_LIFE))
    assert rec["parse.py"] == pytest.approx(age(0) + age(4))
    assert rec["sched.py"] == pytest.approx(age(1) + age(2) + age(3) + age(4))
    assert rec["util.py"] == pytest.approx(age(4))


def test_depth_cap_keeps_the_newest_commits_and_says_so(repo: Path) -> None:
    hist = History(repo, max_commits=2)
    stats = hist.refresh()
    assert stats.commits == 2 and stats.stopped_by == "depth cap"
    assert "depth cap 2 commits reached" in stats.line(2)
    # The newest two: the parser fix and the last scheduler commit; util.py is older.
    assert hist.commit_count("parse.py") == 1 and hist.commit_count("util.py") == 0


def test_time_cap_stops_the_read(repo: Path) -> None:
    hist = History(repo, read_seconds=0.0)
    stats = hist.refresh()
    assert stats.available and stats.commits == 0 and stats.stopped_by == "time cap"
    assert "time cap" in stats.line(5000)


def test_commits_touching_many_files_are_skipped(repo: Path) -> None:
    commit(repo, "Reformat everything", {f"gen/m{i}.py": f"x = {i}\n" for i in range(MAX_FILES_PER_COMMIT + 1)})
    hist = History(repo)
    stats = hist.refresh()
    assert stats.skipped_large == 1 and stats.commits == 5
    assert hist.commit_count("gen/m0.py") == 0


def test_refresh_reads_only_new_commits(repo: Path) -> None:
    hist = History(repo)
    assert hist.refresh().new_commits == 5
    first = hist.stats
    same = hist.refresh()
    assert same is first  # unchanged HEAD: nothing read, the last read's figures stand
    commit(repo, "Util: a faster helper", {"util.py": "def helper():\n    return 4\n"})
    after = hist.refresh()
    assert after.new_commits == 1 and after.commits == 6
    assert hist.commit_count("util.py") == 2
    # A rewritten history (HEAD no longer descends from what was read) is read again whole.
    git(repo, "reset", "-q", "--hard", "HEAD~2")
    commit(repo, "Parser: another way", {"parse.py": "def parse(s):\n    return s.split()\n"})
    again = hist.refresh()
    assert again.new_commits == 5 and again.commits == 5
    assert hist.commit_count("util.py") == 1


def test_new_commits_beyond_the_cap_push_out_the_oldest(repo: Path) -> None:
    hist = History(repo, max_commits=3)
    hist.refresh()
    commit(repo, "Util: a faster helper", {"util.py": "def helper():\n    return 4\n"})
    stats = hist.refresh()
    assert stats.new_commits == 1 and stats.commits == 3 and stats.stopped_by == "depth cap"


def test_a_project_that_is_not_a_git_repository_has_no_history(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    stats = History(tmp_path).refresh()
    assert not stats.available and stats.reason == "not a git repository"
    assert History(tmp_path).cochange({"a.py": 1.0}, known("a.py")) == {}
    assert stats.line(5000) == "history: none (not a git repository)"


def test_without_git_there_is_no_history(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    stats = History(repo).refresh()
    assert not stats.available and stats.reason == "git is not installed"


def test_shallow_clone_reads_what_it_has_without_its_boundary(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "2", f"file://{repo}", str(clone))
    hist = History(clone)
    stats = hist.refresh()
    assert stats.available and stats.shallow
    # Two commits fetched; the older is the boundary, which git shows as adding every file.
    assert stats.commits == 1
    assert hist.commit_count("parse.py") == 1 and hist.commit_count("util.py") == 0
    assert "shallow clone" in stats.line(5000)


def test_history_only_through_head(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "side")
    commit(repo, "Side branch: touch util", {"util.py": "def helper():\n    return 9\n"})
    git(repo, "checkout", "-q", "main")
    hist = History(repo)
    assert hist.refresh().commits == 5
    assert hist.commit_count("util.py") == 1


def test_subdirectory_project_reads_paths_relative_to_it(tmp_path: Path) -> None:
    root = tmp_path / "mono"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit(root, "Both", {"svc/a.py": "x = 1\n", "svc/b.py": "y = 1\n", "other/c.py": "z = 1\n"})
    hist = History(root / "svc")
    assert hist.refresh().commits == 1
    assert hist.cochange({"a.py": 1.0}, known("a.py", "b.py", "c.py")) == {"a.py": 1.0, "b.py": 1.0}


def _project(repo: Path) -> None:
    """A project where only the history links the file a fix needs to the request."""
    commit(repo, "Add the retry loop", {
        "client.py": "def send_request(url):\n    return fetch(url)\n",
        "backoff.py": "def delay_for(attempt):\n    return 2 ** attempt\n",
        "render.py": "def draw(page):\n    return page\n",
    })
    # Files that share the request's words but never changed with the client.
    commit(repo, "Serve pages", {f"server{i}.py": f"def serve_{i}(server):\n    return 'slow server'\n"
                                 for i in range(4)})
    for i in range(3):
        commit(repo, f"Retry: tune the delays ({i})", {
            "client.py": f"def send_request(url):\n    return fetch(url) or {i}\n",
            "backoff.py": f"def delay_for(attempt):\n    return 2 ** attempt + {i}\n"})


def test_ranking_with_history_brings_in_cochanged_files(repo: Path, tmp_path: Path) -> None:
    _project(repo)
    request = ContextRequest(text="send_request gives up too early when the server is slow")
    on = parse_settings({"context": {"history": True}})
    off = parse_settings({"context": {"history": False}})
    with ProjectIndex.open(repo, settings=on, state_dir=tmp_path / "state") as index:
        index.refresh()
        hist = project_history(index, on)
        assert hist is not None and project_history(index, off) is None
        without, _ = rank(index, request)
        with_history, _ = rank(index, request, hist)
        order_off = [f.path for f in without]
        order_on = [f.path for f in with_history]
        assert order_on[0] == "client.py"
        score_on = {f.path: f.score for f in with_history}
        score_off = {f.path: f.score for f in without}
        gain = {p: score_on[p] - score_off[p] for p in score_on}
        # The file that changed with the client every time gains more than one that changed
        # with it once, and does not fall.
        assert gain["backoff.py"] > gain["render.py"] > 0
        assert order_on.index("backoff.py") <= order_off.index("backoff.py")
        backoff = next(f for f in with_history if f.path == "backoff.py")
        assert "changed together with the files above in past commits" in backoff.reasons
        client = next(f for f in with_history if f.path == "client.py")
        assert not any("past commits" in r for r in client.reasons)  # it seeded the list
        assert not any("past commits" in r for f in without for r in f.reasons)
        built_on = build_context(index, request, budget_tokens=2000, settings=on, for_cloud=False)
        built_off = build_context(index, request, budget_tokens=2000, settings=off, for_cloud=False)
        assert [f.path for f in built_on.files] == order_on
        assert [f.path for f in built_off.files] == order_off


def test_index_stats_line(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lsp_server import cli

    (repo / "agentic-optimizer.toml").write_text("[context]\nhistory = true\nhistory_max_commits = 3\n")
    assert cli.main(["index", "--project", str(repo), "--stats"]) == 0
    assert "history: 3 commits touching" in capsys.readouterr().out
    assert cli.main(["index", "--project", str(repo), "--stats", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["history"]["commits"] == 3 and out["history"]["stopped_by"] == "depth cap"
    (repo / "agentic-optimizer.toml").write_text("[context]\nhistory = false\n")
    assert cli.main(["index", "--project", str(repo), "--stats"]) == 0
    assert "history: off (context.history = false)" in capsys.readouterr().out


def test_history_for_rechecks_at_most_every_few_seconds(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lsp_server.context.rank import history as module

    first = module.history_for(repo)
    assert first.stats.commits == 5
    commit(repo, "Util: a faster helper", {"util.py": "def helper():\n    return 4\n"})
    assert module.history_for(repo) is first and first.stats.commits == 5  # not rechecked yet
    monkeypatch.setattr(module, "RECHECK_SECONDS", 0.0)
    assert module.history_for(repo).stats.commits == 6
