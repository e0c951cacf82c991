"""A headless Chromium driven over the DevTools protocol on a pipe (stdlib only).

Chromium is started with ``--remote-debugging-pipe``: it reads commands on file descriptor 3 and
writes replies and events on 4, each a JSON message ended by a NUL byte. One page target is
attached in flat mode; console messages and uncaught exceptions are collected.

Example:
    >>> with Chromium.start() as browser:
    ...     browser.open("file:///tmp/view.html")
    ...     browser.evaluate("document.title")
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

__all__ = ["Chromium", "ensure_chromium"]


def ensure_chromium() -> tuple[str | None, str]:
    """The Chromium executable, installed with apt-get (Debian's ``chromium`` and
    ``chromium-driver``) when missing and this process is root; else ``(None, reason)``."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found, ""
    if shutil.which("apt-get") is None:
        return None, "chromium is not installed and there is no apt-get to install it"
    if os.geteuid() != 0:
        return None, ("chromium is not installed and installing it needs root "
                      "(apt-get install chromium chromium-driver)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium",
               "chromium-driver"]
    done = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:  # stale package lists: update once and retry
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env, capture_output=True, timeout=600)
        done = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=600)
    found = shutil.which("chromium")
    if not found:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
        return None, f"apt-get could not install chromium: {tail[0]}"
    return found, ""


class Chromium:
    """A running headless Chromium with one page."""

    def __init__(self, process: subprocess.Popen, to_browser: int, from_browser: int,
                 profile: tempfile.TemporaryDirectory) -> None:
        self.process = process
        self._out = os.fdopen(to_browser, "wb", buffering=0)
        self._in = os.fdopen(from_browser, "rb", buffering=0)
        self._profile = profile
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self._lock = threading.Condition()
        self.console: list[dict] = []     # Runtime.consoleAPICalled params
        self.exceptions: list[dict] = []  # Runtime.exceptionThrown params
        self.logs: list[dict] = []        # Log.entryAdded entries
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session: str | None = None

    @classmethod
    def start(cls, executable: str = "chromium", width: int = 1400,
              height: int = 1000) -> Chromium:
        profile = tempfile.TemporaryDirectory(prefix="alphapose-chromium-")
        to_read, to_write = os.pipe()      # commands: we write, chromium reads fd 3
        from_read, from_write = os.pipe()  # replies: chromium writes fd 4, we read
        args = [executable, "--headless=new", "--remote-debugging-pipe", "--no-sandbox",
                "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--mute-audio", "--hide-scrollbars",
                "--autoplay-policy=no-user-gesture-required",
                f"--user-data-dir={profile.name}", f"--window-size={width},{height}",
                "about:blank"]

        def child_fds() -> None:  # the pipe ends at 3 and 4 (copies first: they may be 3, 4)
            read_copy, write_copy = os.dup(to_read), os.dup(from_write)
            os.dup2(read_copy, 3)
            os.dup2(write_copy, 4)

        # close_fds=False keeps 3 and 4 (dup2 makes them inheritable); every other descriptor
        # of this process is non-inheritable (PEP 446)
        process = subprocess.Popen(args, preexec_fn=child_fds, close_fds=False,  # noqa: PLW1509
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        os.close(to_read)
        os.close(from_write)
        browser = cls(process, to_write, from_read, profile)
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        browser.session = browser.send("Target.attachToTarget",
                                       {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=True)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": height, "deviceScaleFactor": 1,
                      "mobile": False}, session=True)
        return browser

    # ---------------------------------------------------------------- protocol
    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                data = self._in.read(65536)
            except (OSError, ValueError):
                data = b""
            if not data:
                with self._lock:
                    self._lock.notify_all()
                return
            buffer += data
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self._lock:
                    if "id" in message:
                        self._replies[message["id"]] = message
                    else:
                        self._event(message)
                    self._lock.notify_all()

    def _event(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled":
            self.console.append(params)
        elif method == "Runtime.exceptionThrown":
            self.exceptions.append(params)
        elif method == "Log.entryAdded":
            self.logs.append(params.get("entry", {}))

    def send(self, method: str, params: dict | None = None, session: bool = False,
             timeout: float = 30.0) -> dict:
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self._out.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._lock:
            while message_id not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise TimeoutError(f"chromium did not answer {method} in {timeout} s")
                self._lock.wait(min(left, 0.5))
            reply = self._replies.pop(message_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    # ---------------------------------------------------------------- page
    def open(self, url: str, timeout: float = 30.0) -> None:
        """Navigate and wait until the document has loaded."""
        self.send("Page.navigate", {"url": url}, session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.evaluate("document.readyState") == "complete" and \
                        self.evaluate("location.href") == url:
                    return
            except RuntimeError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{url} did not load in {timeout} s")

    def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """The value of a JavaScript expression (promises awaited); a thrown error raises."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, session=True,
                           timeout=timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise RuntimeError(f"page script failed: {text}")
        return result.get("result", {}).get("value")

    def screenshot(self, path: str | os.PathLike[str]) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries, as text."""
        found = [" ".join(str(a.get("value", a.get("description", ""))) for a in c.get("args", []))
                 for c in self.console if c.get("type") in ("error", "assert")]
        found += [e.get("exceptionDetails", {}).get("exception", {}).get("description")
                  or e.get("exceptionDetails", {}).get("text", "?") for e in self.exceptions]
        found += [f"{e.get('source')}: {e.get('text')} {e.get('url', '')}" for e in self.logs
                  if e.get("level") == "error"]
        return found

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (TimeoutError, RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for f in (self._out, self._in):
            try:
                f.close()
            except OSError:
                pass
        self._profile.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
