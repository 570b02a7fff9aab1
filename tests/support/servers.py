"""Real ``mlflow server`` subprocesses on 127.0.0.1 for tests (see TESTING.md).

Each server runs in its own process group, binds a free port, and is waited on through
``GET /health``. :meth:`MlflowServer.stop` sends SIGTERM to the group, :meth:`kill` SIGKILL (a
crash), :meth:`start` brings it back on the same port with the same stores.

Example:
    >>> with MlflowServer(tmp_path, registry_uri=f"governed+sqlite:///{tmp_path}/m.db") as server:
    ...     client = MlflowClient(tracking_uri=server.url)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping

__all__ = ["MlflowServer", "free_port", "wait_http_ok", "python_command"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http_ok(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Poll ``url`` until it answers 200; raise if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s (last error: {last})")


def python_command(module_or_script: str, *args: str) -> list[str]:
    """``[python, -m, module, *args]`` with the interpreter running the tests."""
    return [sys.executable, "-m", module_or_script, *args]


class MlflowServer:
    """An ``mlflow server`` subprocess.

    Args:
        workdir: Where logs, the default backend database and artifacts go.
        registry_uri: ``--registry-store-uri`` (e.g. ``governed+sqlite:///...``).
        backend_uri: ``--backend-store-uri`` (default: an SQLite file in ``workdir``).
        app_name: ``--app-name`` (default ``governance``; ``None`` for plain MLflow).
        workers: ``--workers``.
        env: Extra environment variables.
        port: A fixed port (default: a free one, kept across restarts).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        registry_uri: str | None = None,
        backend_uri: str | None = None,
        app_name: str | None = "governance",
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        startup_timeout: float = 90.0,
    ):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.backend_uri = backend_uri or f"sqlite:///{self.workdir / 'backend.db'}"
        self.registry_uri = registry_uri
        self.app_name = app_name
        self.workers = workers
        self.extra_env = dict(env or {})
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.log_path = self.workdir / f"server-{self.port}.log"
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [
            sys.executable, "-m", "mlflow", "server",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--workers", str(self.workers),
            "--backend-store-uri", self.backend_uri,
            "--default-artifact-root", str(self.workdir / "artifacts"),
        ]
        if self.registry_uri:
            cmd += ["--registry-store-uri", self.registry_uri]
        if self.app_name:
            cmd += ["--app-name", self.app_name]
        return cmd

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        env.setdefault("NO_PROXY", "127.0.0.1,localhost")
        env.update(self.extra_env)
        return env

    def start(self) -> MlflowServer:
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n==== start #{self.starts}: {' '.join(self.command())}\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.workdir,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_http_ok(f"{self.url}/health", self.startup_timeout, self.process)
        except Exception:
            self.kill()
            raise RuntimeError(f"mlflow server did not start; log:\n{self.log_tail()}") from None
        return self

    def _signal(self, signum: int) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the process group and wait for it."""
        if self.process is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait(10)
        self._reap_group()
        self.process = None

    def kill(self) -> None:
        """SIGKILL the whole process group at once (a crash: nothing gets to clean up)."""
        if self.process is None:
            return
        self._signal(signal.SIGKILL)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._reap_group()
        self.process = None

    def _reap_group(self) -> None:
        # uvicorn workers are in the same group; make sure none outlives the test.
        pid = self.process.pid if self.process else None
        if pid is None:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
