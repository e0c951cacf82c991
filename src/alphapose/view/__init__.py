"""``alphapose view``: a self-contained results page for a finished run.

``view(outdir)`` writes ``outdir/view.html``: one HTML file (script, styles and data inline, no
network) showing the run's skeletons over its video or images, per-track presence lanes,
confidence per part over time, and a per-run summary. ``compare(a, b)`` overlays two runs in
two colours with per-frame differences. ``serve(page)`` serves a page on 127.0.0.1 for browsers
that refuse local video files.

Example:
    >>> from alphapose.view import view
    >>> view("out/")            # then open out/view.html
"""

from __future__ import annotations

import os
from pathlib import Path

from alphapose.view.media import find_media
from alphapose.view.page import write_page
from alphapose.view.results import Run, load_run
from alphapose.view.server import serve

__all__ = ["PAGE_NAME", "Run", "compare", "load_run", "serve", "view"]

#: the page's file name in the output folder
PAGE_NAME = "view.html"

PathLike = str | os.PathLike[str]


def view(outdir: PathLike, *, media: PathLike | None = None, page: PathLike | None = None,
         threshold: float = 0.3, transcode: bool = True, quiet: bool = False) -> Path:
    """Write the results page of the run in ``outdir``.

    Args:
        outdir: an ``alphapose run`` output folder (or a folder with an official
            ``alphapose-results.json``, or a results file).
        media: the video or image folder the run was made on (default: the video the run's
            done marker names; without media, skeletons are drawn on a dark canvas).
        page: where to write the page (default ``outdir/view.html``).
        threshold: initial keypoint score threshold of the page.
        transcode: copy a video browsers cannot play (e.g. AVI) next to the page as WebM.
        quiet: no progress bar.

    Returns:
        The page's path.

    Raises:
        FileNotFoundError: no results (or no such media).
        ValueError: unreadable results or media (the message names the file).
    """
    run = load_run(outdir)
    folder = Path(outdir) if Path(outdir).is_dir() else Path(outdir).parent
    target = Path(page) if page is not None else folder / PAGE_NAME
    return write_page([run], find_media(run, media), target, title=f"alphapose view: {run.name}",
                      threshold=threshold, transcode_video=transcode, quiet=quiet)


def compare(outdir_a: PathLike, outdir_b: PathLike, *, media: PathLike | None = None,
            page: PathLike | None = None, threshold: float = 0.3, transcode: bool = True,
            quiet: bool = False) -> Path:
    """Write a page overlaying the runs in ``outdir_a`` and ``outdir_b`` (default page:
    ``outdir_a/view-compare.html``); arguments as :func:`view`. Frames are matched by name."""
    a, b = load_run(outdir_a), load_run(outdir_b)
    if a.name == b.name:
        a.name, b.name = f"A: {a.name}", f"B: {b.name}"
    if a.num_keypoints != b.num_keypoints:
        raise ValueError(f"{outdir_a} has {a.num_keypoints} keypoints per person but {outdir_b} "
                         f"has {b.num_keypoints}: compare runs of the same layout")
    found = find_media(a, media)
    if found.kind == "none" and media is None:
        found = find_media(b, None)
    folder = Path(outdir_a) if Path(outdir_a).is_dir() else Path(outdir_a).parent
    target = Path(page) if page is not None else folder / "view-compare.html"
    return write_page([a, b], found, target, title=f"alphapose view: {a.name} vs {b.name}",
                      threshold=threshold, transcode_video=transcode, compare=True, quiet=quiet)
