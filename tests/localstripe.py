"""localstripe, the Stripe emulator, run as a separate process for tests (GPL-3.0: started with
``python -m localstripe``, never imported), and a small idempotency proxy of our own in front of
it: localstripe keeps no idempotency keys, the proxy does what Stripe does with them (replay the
first answer; refuse the same key with other parameters) and can lose or delay an answer after
forwarding. The fixtures are in ``tests/adapters/conftest.py``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

KEY = "sk_test_localstripe"
_FORWARDED = ("Authorization", "Content-Type", "Idempotency-Key", "Stripe-Version")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def localstripe_unavailable() -> str | None:
    """Why localstripe cannot run here (checked in a subprocess, never imported), or None."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "localstripe", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"localstripe cannot be started: {exc}"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"localstripe is not runnable on this Python ({sys.version.split()[0]}): {tail[0]}"
    return None


def wait_until_answers(base: str, proc: subprocess.Popen[bytes]) -> None:
    request = urllib.request.Request(
        f"{base}/v1/payment_intents", headers={"Authorization": f"Bearer {KEY}"}
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.skip(f"localstripe exited at start with code {proc.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    pytest.skip("localstripe did not answer within 20 s")


class IdempotencyProxy:
    """Stripe's idempotency in front of the emulator; can lose answers after forwarding."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.answers: dict[str, tuple[bytes, int, bytes]] = {}
        self.posts: list[tuple[str, str | None]] = []
        self.lose_next_answers = 0
        self.stall_next_answers = 0.0  # seconds the next POST's answer is held back
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, bytes]:
        sent = {h: headers[h] for h in _FORWARDED if headers.get(h)}
        request = urllib.request.Request(
            self.upstream + path, data=body or None, headers=sent, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.read()

    def post(self, path: str, headers: Any, body: bytes) -> tuple[int, bytes]:
        key = headers.get("Idempotency-Key")
        with self.lock:
            self.posts.append((path, key))
            if key in self.answers:
                first_body, status, answer = self.answers[key]
                if first_body != body:
                    error = {"type": "idempotency_error", "message": "Key reused, other params"}
                    return 400, json.dumps({"error": error}).encode()
                return status, answer
            status, answer = self.forward("POST", path, headers, body)
            if key and status < 500:
                self.answers[key] = (body, status, answer)
            stall, self.stall_next_answers = self.stall_next_answers, 0.0
            lose = self.lose_next_answers > 0
            self.lose_next_answers -= 1 if lose else 0
        if stall:
            time.sleep(stall)  # the request reached the provider; its answer comes too late
        if lose:
            return 500, json.dumps({"error": {"type": "api_error", "message": "lost"}}).encode()
        return status, answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer(*proxy.forward("GET", self.path, self.headers, b""))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer(*proxy.post(self.path, self.headers, body))

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running_localstripe() -> Iterator[str]:
    """A fresh localstripe process on a free port (skips when it cannot run here)."""
    reason = localstripe_unavailable()
    if reason:
        pytest.skip(reason)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answers(base, proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
