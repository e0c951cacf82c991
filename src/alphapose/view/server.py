"""Serve a results page on 127.0.0.1 (for browsers that refuse local video files).

Only the page and the media files it links are served (any other path is 404), from the
folder holding them all, so the page's relative links work unchanged.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Self

__all__ = ["HOST", "PageServer", "linked_files", "serve"]

#: the only address served: the page is never reachable from another machine
HOST = "127.0.0.1"


class _Handler(http.server.SimpleHTTPRequestHandler):
    allowed: frozenset[str] = frozenset()

    def translate_path(self, path: str) -> str:
        local = super().translate_path(path)
        return local if os.path.realpath(local) in self.allowed else ""

    def send_head(self):  # type: ignore[no-untyped-def]
        if not self.translate_path(self.path):
            self.send_error(404, "not part of this page")
            return None
        return super().send_head()

    def log_message(self, format: str, *args: object) -> None:
        pass


class PageServer:
    """An HTTP server on 127.0.0.1 (stdlib ``http.server``, in a thread) for ``files`` under
    ``root``; use as a context manager or call :meth:`close`.

    Args:
        root: the folder URLs are relative to.
        files: the only files served (anything else is 404).
        port: TCP port; 0 picks a free one (see :attr:`port`).
    """

    def __init__(self, root: str | os.PathLike[str], files: Iterable[str | os.PathLike[str]],
                 port: int = 0) -> None:
        allowed = frozenset(os.path.realpath(f) for f in files)
        handler_class = type("PageHandler", (_Handler,), {"allowed": allowed})
        handler = functools.partial(handler_class, directory=str(root))
        self.root = Path(root)
        self.httpd = http.server.ThreadingHTTPServer((HOST, port), handler)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, file: str | os.PathLike[str] = "") -> str:
        """The address of ``file`` (a path under the root)."""
        relative = Path(os.path.realpath(file)).relative_to(os.path.realpath(self.root)) \
            if file else Path("")
        return f"http://{HOST}:{self.port}/{relative.as_posix()}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def linked_files(page: str | os.PathLike[str]) -> list[Path]:
    """The media files a results page links (read from its ``view-data``), as paths."""
    import json

    text = Path(page).read_text(encoding="utf-8")
    start = text.find('id="view-data">')
    if start < 0:
        raise ValueError(f"{page}: not a page written by alphapose view")
    start += len('id="view-data">')
    data = json.loads(text[start:text.index("</script>", start)])
    media = data.get("media", {})
    links = [media.get("src")] if media.get("kind") == "video" else media.get("srcs") or []
    folder = Path(page).resolve().parent
    return [(folder / link).resolve() for link in links if link]


def serve(page: str | os.PathLike[str], media: Iterable[str | os.PathLike[str]] = (),
          port: int = 0) -> None:
    """Serve ``page`` and the ``media`` files it links on 127.0.0.1 until interrupted
    (Ctrl-C); prints the address to open."""
    files = [os.path.realpath(page), *(os.path.realpath(m) for m in media)]
    root = os.path.commonpath([os.path.dirname(f) for f in files])
    with PageServer(root, files, port) as server:
        print(f"alphapose view: serving {page} at {server.url(page)} (Ctrl-C to stop)",
              flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("alphapose view: stopped", flush=True)
