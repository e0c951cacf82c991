"""``alphapose view``: write (and optionally serve) the results page of a run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_commands", "view_command"]


def add_commands(subparsers: Any) -> None:
    """Register ``alphapose view``."""
    parser = subparsers.add_parser(
        "view", help="write a results page (view.html) for a finished run",
        description="Writes OUT/view.html: one self-contained page (no network) with the "
                    "skeletons over the run's video or images, per-track lanes, confidence "
                    "per part over time and a summary. Open it in a browser.")
    parser.add_argument("outdir", nargs="?", metavar="OUT",
                        help="the run's output folder (or its results file)")
    parser.add_argument("--compare", nargs=2, metavar=("OUT_A", "OUT_B"),
                        help="overlay two runs in two colours with per-frame differences "
                             "(page: OUT_A/view-compare.html)")
    parser.add_argument("--media", metavar="PATH",
                        help="the video or image folder the run was made on (default: the "
                             "video named by the run's done marker)")
    parser.add_argument("-o", "--page", metavar="HTML", help="where to write the page")
    parser.add_argument("--threshold", type=float, default=0.3,
                        help="initial keypoint score threshold (default: %(default)s)")
    parser.add_argument("--no-transcode", dest="transcode", action="store_false",
                        help="link a video browsers cannot play (AVI) as it is, instead of a "
                             "WebM copy next to the page")
    parser.add_argument("--serve", action="store_true",
                        help="then serve the page on 127.0.0.1 (for browsers that refuse "
                             "local video files) until Ctrl-C")
    parser.add_argument("--port", type=int, default=8765,
                        help="port of --serve (default: %(default)s; 0 = any free port)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=view_command)


def _run_folders(outdir: Path) -> list[Path]:
    """``outdir``, or when it holds no results itself, its sub-folders that do (an
    ``alphapose run`` over several videos writes one folder per video)."""
    from alphapose.view.results import RESULT_FILES

    if outdir.is_file() or any((outdir / name).is_file() for name in RESULT_FILES):
        return [outdir]
    found = sorted({p.parent for name in RESULT_FILES for p in outdir.glob(f"*/{name}")})
    return found or [outdir]  # none: view() says what is missing


def view_command(args: argparse.Namespace) -> int:
    """``alphapose view``: returns the exit status."""
    from alphapose.view import compare, view
    from alphapose.view.server import linked_files, serve

    options = {"media": args.media, "page": args.page, "threshold": args.threshold,
               "transcode": args.transcode, "quiet": args.quiet}
    if args.compare:
        if args.outdir:
            print("alphapose view: give OUT or --compare OUT_A OUT_B, not both", file=sys.stderr)
            return 2
        page = compare(*args.compare, **options)
    elif args.outdir:
        folders = _run_folders(Path(args.outdir))
        if len(folders) > 1 and (args.page or args.serve):
            print(f"alphapose view: {args.outdir} holds {len(folders)} runs (one per video): "
                  "give one of them for -o/--page or --serve", file=sys.stderr)
            return 2
        for folder in folders[:-1]:
            print(f"alphapose view: wrote {view(folder, **options)}", flush=True)
        page = view(folders[-1], **options)
    else:
        print("alphapose view: give the run's output folder (alphapose view OUT/)",
              file=sys.stderr)
        return 2
    print(f"alphapose view: wrote {page}", flush=True)
    if args.serve:
        serve(page, linked_files(page), port=args.port)
    return 0
