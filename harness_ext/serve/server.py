"""``dq serve``: a packaged model (or any GGUF) behind llama.cpp's OpenAI-compatible server.

    dq serve smollm2-135m --port 8011            # prints http://127.0.0.1:8011/v1, Ctrl-C stops
    dq serve path/to/model.gguf --ctx 4096 --wait 120

The server is llama-cpp-python's (``python -m llama_cpp.server``, the ``serve`` extra) bound to
127.0.0.1. Use it from lm-eval or two_stage with the ``local-completions`` backend
(``base_url=<url>/completions``) or ``local-chat-completions`` (``<url>/chat/completions``,
with ``--apply_chat_template``); ``model=<alias>`` is the packaged name or the GGUF's stem.

Python API (what the tests use)::

    with LlamaServer("smollm2-135m", port=0) as server:   # port 0: a free port
        server.completions_url, server.chat_url
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from harness_ext.errors import DQError

HOST = "127.0.0.1"
INSTALL = "pip install 'llama-cpp-python[server]==0.3.36'  (or: pip install '.[serve]')"


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = HOST) -> bool:
    """True when something listens there (SO_REUSEADDR: a TIME_WAIT leftover does not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def resolve_model(model: str) -> tuple[Path, str]:
    """A packaged model name or a GGUF path -> (the GGUF file, the served model alias)."""
    from harness_ext.serve.packaged import PACKAGED

    if model in PACKAGED:
        return PACKAGED[model].gguf_path(), model
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise DQError(f"GGUF file {model!r} does not exist")
        return path.resolve(), path.stem
    raise DQError(f"unknown model {model!r}: use a packaged model ({', '.join(PACKAGED)}) or a path to a .gguf file")


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, so no server outlives a killed run."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class LlamaServer:
    """llama-cpp-python's OpenAI server as a child process; a context manager."""

    def __init__(
        self,
        model: str,
        *,
        port: int = 0,
        ctx: int = 2048,
        parallel: int = 1,
        threads: int | None = None,
        wait: float = 60.0,
        host: str = HOST,
        log_path: str | Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise DQError(f"llama-cpp-python is not installed: run `{INSTALL}`")
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise DQError(f"--port must be 0..65535, got {port!r}")
        for flag, value in (("--ctx", ctx), ("--parallel", parallel), ("--wait", wait)):
            if value <= 0:
                raise DQError(f"{flag} must be positive, got {value}")
        if threads is not None and threads <= 0:
            raise DQError(f"--threads must be positive, got {threads}")
        parallel_args(parallel)
        self.gguf, self.name = resolve_model(model)
        self.host, self.ctx, self.parallel, self.threads, self.wait = host, ctx, parallel, threads, wait
        self.port = port or free_port(host)
        self.extra_args = tuple(extra_args)
        self._own_log = log_path is None
        if log_path is None:
            fd, log_path = tempfile.mkstemp(prefix="dq-serve-", suffix=".log")
            os.close(fd)
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen | None = None

    # -- addresses ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def completions_url(self) -> str:
        return f"{self.base_url}/completions"

    @property
    def chat_url(self) -> str:
        return f"{self.base_url}/chat/completions"

    # -- lifecycle -----------------------------------------------------------------------
    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.gguf),
            "--model_alias",
            self.name,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.ctx),
            # Requests queue on the server's one model; never abort one for the next.
            "--interrupt_requests",
            "False",
            "--verbose",
            "False",
        ]
        if self.threads:
            cmd += ["--n_threads", str(self.threads), "--n_threads_batch", str(self.threads)]
        return cmd + parallel_args(self.parallel) + list(self.extra_args)

    def start(self) -> LlamaServer:
        if port_in_use(self.port, self.host):
            raise DQError(
                f"port {self.port} on {self.host} is in use; pick another with --port (or --port 0 for a free one)"
            )
        log = open(self.log_path, "ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.wait
        while True:
            if self.proc.poll() is not None:  # type: ignore[union-attr]
                tail = self.log_tail()
                if "address already in use" in tail.lower():
                    raise DQError(f"port {self.port} on {self.host} is in use; pick another with --port")
                raise DQError(
                    f"llama.cpp server for {self.name} exited with code {self.proc.returncode} before "  # type: ignore[union-attr]
                    f"answering; last log lines: {tail[-600:]!r} (full log: {self.log_path})"
                )
            if self.ready():
                return
            if time.monotonic() > deadline:
                raise DQError(
                    f"llama.cpp server for {self.name} did not answer at {self.base_url}/models within "
                    f"{self.wait:g} s; raise --wait (log: {self.log_path})"
                )
            time.sleep(0.2)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as resp:
                data = json.loads(resp.read())
        except (OSError, ValueError):
            return False
        return any(m.get("id") == self.name for m in data.get("data", []))

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        if self.alive:
            self.proc.send_signal(sig)  # type: ignore[union-attr]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Signal the server, wait for it to exit (SIGKILL after ``timeout``); its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        """Abrupt death (SIGKILL), as a crash would be."""
        self.stop(signal.SIGKILL)

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, exc_type, *exc) -> None:
        self.stop()
        if self._own_log and exc_type is None:  # keep the log of a failed run for a look
            self.log_path.unlink(missing_ok=True)


def parallel_args(parallel: int) -> list[str]:
    """Server flags for ``--parallel N``.

    llama-cpp-python's server (checked on 0.3.36) holds one ``Llama`` behind one lock: it has
    no parallel slots or continuous batching (no ``n_parallel``/``n_seq_max`` setting, and a
    list ``prompt`` must have one element), so requests are served one at a time. Asking for
    more is refused rather than silently ignored.
    """
    if parallel == 1:
        return []
    raise DQError(
        f"--parallel {parallel}: llama-cpp-python's server serves one request at a time (no parallel slots "
        f"or batching in its settings); use --parallel 1, or for concurrent requests llama.cpp's own "
        f"`llama-server -np {parallel}` or vLLM (see docs/vllm.md)"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dq serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="packaged model name (dq models) or a .gguf path")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: a free one; default 8000)")
    parser.add_argument("--parallel", type=int, default=1, help="requests served at once (default 1)")
    parser.add_argument("--ctx", type=int, default=2048, help="context size in tokens (default 2048)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: llama.cpp's)")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the server to answer")
    parser.add_argument("--log", default=None, help="server log file (default: a temp file)")
    args = parser.parse_args(argv)
    server = LlamaServer(
        args.model,
        port=args.port,
        ctx=args.ctx,
        parallel=args.parallel,
        threads=args.threads,
        wait=args.wait,
        log_path=args.log,
    )
    stopping: list[int] = []

    def forward(signum, _frame) -> None:
        stopping.append(signum)
        server.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server.start()
        except DQError:
            if stopping:  # stopped while starting
                return 0
            raise
        print(f"serving {server.name} ({server.gguf}) at {server.base_url}", file=sys.stderr)
        print(
            f"  two_stage: solver=local-completions,solver.base_url={server.completions_url},"
            f"solver.model={server.name},solver.tokenized_requests=False  (or local-chat-completions with "
            f"solver.base_url={server.chat_url} and --apply_chat_template)",
            file=sys.stderr,
        )
        print(f"  log: {server.log_path}; Ctrl-C stops", file=sys.stderr)
        print(server.base_url, flush=True)
        while server.alive and not stopping:
            try:
                server.proc.wait(0.5)  # type: ignore[union-attr]
            except subprocess.TimeoutExpired:
                pass
        if stopping:
            server.stop(stopping[0])
            return 0
        print(
            f"dq serve: the server exited with code {server.proc.returncode} (log: {server.log_path})",  # type: ignore[union-attr]
            file=sys.stderr,
        )
        return 1
    finally:
        server.stop()
        for s, handler in old.items():
            signal.signal(s, handler)
