"""The VS Code extension in a real VS Code: code-server (VS Code in the browser, with the same
extension host) driven by Playwright on Debian's Chromium, headless.

The packaged bundled ``.vsix`` (``npm run package`` in vscode-extension/) is installed with
``--install-extension``; the example crate, copied to a temporary workspace, is configured with
a model served by a vendor stand-in on 127.0.0.1. ``vscode_e2e/drive.mjs`` then does what a user
does (light bulb, Document, Ask, Explain, the status bar, a stand-in failure, the Settings UI)
and checks what is on screen; a failed step leaves a screenshot in the artifacts folder
(``$AO_E2E_ARTIFACTS``, else the test's temporary folder, printed on failure).

code-server and playwright-core come from ``vscode_e2e/install.sh`` (cached, ~6 minutes of
native builds the first time). Without them these tests are skipped, unless
``AO_REQUIRE_VSCODE_E2E=1`` (set by ``.ci/run``), which installs them and fails on any problem.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from standins import StandinServer

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
INSTALL = HERE / "vscode_e2e" / "install.sh"
DRIVER = HERE / "vscode_e2e" / "drive.mjs"
# AO_E2E_VSIX: test another package (e.g. one built from a modified copy) instead.
VSIX = Path(os.environ.get("AO_E2E_VSIX") or REPO / "vscode-extension" / "agentic-optimizer.vsix")
REQUIRED = os.environ.get("AO_REQUIRE_VSCODE_E2E") == "1"
KEY_VAR = "AO_E2E_OPENAI_KEY"
KEY = "sk-e2e-not-real"


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"AO_REQUIRE_VSCODE_E2E=1 but {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class Tools:
    code_server: Path
    playwright_core: Path
    chromium: str
    server: str


@pytest.fixture(scope="module")
def tools() -> Tools:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    chromium = shutil.which("chromium")
    if chromium is None:
        unavailable("Chromium is not installed (apt-get install -y chromium)")
    # Installing takes minutes: done here only when required (CI), else only a finished install
    # (the script returns its folder at once when it is cached) is used.
    probe = subprocess.run(["bash", str(INSTALL), "--cached-only"] if not REQUIRED else ["bash", str(INSTALL)],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        unavailable(f"code-server is not installed ({INSTALL.name}): {probe.stderr.strip()[-600:]}")
    folder = Path(probe.stdout.strip().splitlines()[-1])
    if not VSIX.is_file():
        unavailable(f"{VSIX.name} is missing: run `npm ci && npm run package` in vscode-extension/")
    server = Path(sys.executable).parent / "agentic-optimizer"
    assert server.is_file(), f"{server} missing: pip install -e ."
    assert chromium is not None
    return Tools(folder / "node_modules" / ".bin" / "code-server",
                 folder / "node_modules" / "playwright-core", chromium, str(server))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"code-server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (a redirect to the workbench counts)
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"code-server did not answer on {url}: {log.read_text(errors='replace')[-2000:]}")


@dataclass
class Session:
    root: Path
    artifacts: Path
    tools: Tools
    env: dict[str, str]

    def drive(self, mode: str, standin_url: str = "") -> None:
        """Start code-server on the workspace, run the driver, stop code-server."""
        user_data = self.root / "user-data"
        (user_data / "User").mkdir(parents=True)
        (user_data / "User" / "settings.json").write_text(json.dumps({
            "workbench.startupEditor": "none",
            "workbench.tips.enabled": False,
            "telemetry.telemetryLevel": "off",
            "agenticOptimizer.server.path": self.tools.server,
        }))
        extensions = self.root / "extensions"
        common = [str(self.tools.code_server), "--config", str(self.root / "code-server.yaml"),
                  "--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
        install = subprocess.run([*common, "--install-extension", str(VSIX)], env=self.env,
                                 capture_output=True, text=True, timeout=120, check=False)
        assert install.returncode == 0 and "successfully installed" in install.stdout, install
        port = free_port()
        log = self.root / "code-server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*common, "--auth", "none", "--bind-addr", f"127.0.0.1:{port}", "--disable-telemetry",
                 "--disable-update-check", "--disable-workspace-trust", str(self.root / "ws")],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/", proc, log)
            env = {**self.env, "AO_E2E_URL": f"http://127.0.0.1:{port}/", "AO_E2E_MODE": mode,
                   "AO_E2E_STANDIN": standin_url, "AO_E2E_ARTIFACTS": str(self.artifacts),
                   "PLAYWRIGHT_CORE": str(self.tools.playwright_core), "CHROMIUM": self.tools.chromium}
            run = subprocess.run(["node", str(DRIVER)], env=env, capture_output=True, text=True,
                                 timeout=600, check=False)
            print(run.stdout)
            assert run.returncode == 0, (
                f"{run.stdout}\n{run.stderr[-2000:]}\nscreenshots: {self.artifacts}\n"
                f"server log: {sorted(user_data.glob('logs/*/exthost*/output_logging_*/*Server.log'))}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def session(tools: Tools, tmp_path: Path, rust_example: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    shutil.copytree(rust_example, tmp_path / "ws")
    artifacts = Path(os.environ.get("AO_E2E_ARTIFACTS") or tmp_path / "artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    # No Ollama (port 9 has none); conftest already dropped the vendors' key variables.
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    monkeypatch.setenv(KEY_VAR, KEY)
    yield Session(tmp_path, artifacts, tools, dict(os.environ))


def test_vscode_extension_end_to_end(session: Session) -> None:
    with StandinServer("openai", api_key=KEY) as standin:
        (session.root / "ws" / "agentic-optimizer.toml").write_text(
            "[[models]]\n"
            'name = "budget-gpt"\nprovider = "openai"\nmodel = "gpt-4.1-mini"\ntier = "budget"\n'
            f'base_url = "{standin.url}"\napi_key_env = "{KEY_VAR}"\nmax_retries = 0\n'
            # A loopback endpoint is not free: the stand-in carries the price of the vendor it plays.
            "price = { input = 0.4, output = 1.6 }\n"
            # Two Explain requests on the same code must both reach the stand-in.
            "[cache]\nenabled = false\n")
        session.drive("full", standin.url)
        assert standin.pending == 0, "a queued reply was never asked for"


def test_vscode_without_a_model_says_so(session: Session) -> None:
    session.drive("no-model")
    assert (session.root / "ws" / "agentic-optimizer.toml").is_file()
