"""The results page of a long run (issue 15): build time, page size, time to open in Chromium.

Generates the JSON-lines results of a ``--minutes`` long video at ``--fps`` with ``--people``
tracked people in the ``--layout`` layout (default: 30 minutes, 25 fps, 3 people, halpe136,
the layout ``alphapose run`` writes). People walk smooth paths across a 1280x720 frame, their
keypoints jitter by ~1.5 px per frame and their scores drift (so the data compresses as real
results do, not like a constant). One person leaves and comes back, so tracks have gaps.
The file is written with :class:`alphapose.writers.JsonLinesWriter`, as ``alphapose run`` does.

Then ``alphapose view`` builds the page (``build_s``: reading the results, summaries, chunk
encoding, writing), and a headless Chromium (tests/chromium_cdp.py; Debian's ``chromium``)
opens it from the file: ``load_s`` = navigation start to the first frame drawn
(``alphaposeView.ready``); ``seek_ms`` = mean time to show a frame anywhere in the run (its
chunk decoded on demand), over 20 frames spread over the run, each in a chunk not decoded yet.

Last line: ``frames=... people=... html_mb=... build_s=... load_s=... seek_ms=...``

Usage: ``.venv/bin/python bench/view.py [--minutes 30] [--fps 25] [--people 3] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the Chromium driver of the browser tests


def generate(path: Path, minutes: float, fps: float, people: int, layout_name: str,
             seed: int = 0) -> int:
    """Write the results of a synthetic long run; returns the number of frames."""
    from alphapose.skeletons import get_layout
    from alphapose.structures import Frame, Poses
    from alphapose.writers import JsonLinesWriter

    rng = np.random.default_rng(seed)
    layout = get_layout(layout_name)
    k = layout.num_keypoints
    frames = round(minutes * 60 * fps)
    # a person's shape: keypoints around the centre, 300 px tall
    template = rng.normal(0, 1, (people, k, 2)).astype(np.float32) * np.array([40, 90])
    phase = rng.uniform(0, 2 * np.pi, (people, 2))
    speed = rng.uniform(0.02, 0.05, (people, 1))
    score_level = rng.uniform(0.3, 0.95, (people, k)).astype(np.float32)
    image = np.zeros((2, 2, 3), np.uint8)  # the writer does not look at pixels
    with JsonLinesWriter(path) as sink:
        for f in tqdm(range(frames), desc="bench view: results", unit="frame", leave=False):
            t = f / fps
            centre = np.stack([640 + 480 * np.sin(speed[:, 0] * t + phase[:, 0]),
                               360 + 160 * np.sin(0.7 * speed[:, 0] * t + phase[:, 1])], 1)
            keypoints = centre[:, None] + template + rng.normal(0, 1.5, (people, k, 2))
            scores = np.clip(score_level + rng.normal(0, 0.05, (people, k)), 0, 1)
            present = np.ones(people, bool)
            present[0] = (f // int(20 * fps)) % 3 != 2  # person 0 leaves for 20 s every minute
            keypoints, scores = keypoints[present].astype(np.float32), scores[present]
            xyxy = np.concatenate([keypoints.min(1), keypoints.max(1)], 1)
            n = len(keypoints)
            poses = Poses(keypoints=keypoints, keypoint_scores=scores.astype(np.float32),
                          xyxy=xyxy, box_scores=np.full(n, 0.9, np.float32),
                          scores=np.full(n, 2.5, np.float32),
                          track_ids=np.arange(people)[present].astype(np.int64),
                          layout=layout.name)
            sink.write(Frame(image=image, index=f, name=f"{f}.jpg", timestamp=t), poses)
    return frames


def _bytes_per_person(outdir: Path) -> str:
    """Page bytes (chunks: compressed, base64) per person and per keypoint of a run."""
    import base64
    import zlib

    from alphapose.view.page import _chunk_bounds, chunk_bytes
    from alphapose.view.results import load_run

    run = load_run(outdir)
    total = sum(len(base64.b64encode(zlib.compress(chunk_bytes(run, a, b), 6)))
                for a, b in _chunk_bounds(run))
    people = max(1, len(run.scores))
    return (f"{run.num_frames} frames, {len(run.scores)} people, {total / people:.0f} B per "
            f"person ({total / people / max(1, run.num_keypoints):.2f} per keypoint)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--layout", default="halpe136")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the run and its page here (default: a temporary folder)")
    parser.add_argument("--real", type=Path, default=None, metavar="OUT",
                        help="also print the page bytes per person of a real run's results "
                             "(an alphapose run output folder), to compare with the generated")
    args = parser.parse_args()
    if args.real is not None:
        print(f"real run {args.real}: {_bytes_per_person(args.real)}")

    from chromium_cdp import Chromium, ensure_chromium

    from alphapose.view import view

    folder = args.keep or Path(tempfile.mkdtemp(prefix="alphapose-bench-view-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        results = folder / "alphapose-results.jsonl"
        start = time.perf_counter()
        frames = generate(results, args.minutes, args.fps, args.people, args.layout)
        print(f"results: {frames} frames, {results.stat().st_size / 1e6:.0f} MB JSON lines, "
              f"written in {time.perf_counter() - start:.1f} s", flush=True)

        start = time.perf_counter()
        page = view(folder)
        build_s = time.perf_counter() - start
        html_mb = page.stat().st_size / 1e6
        print(f"page: {html_mb:.1f} MB, built in {build_s:.1f} s; generated run: "
              f"{_bytes_per_person(folder)}", flush=True)

        executable, reason = ensure_chromium()
        if executable is None:
            print(f"no browser: {reason}")
            print(f"frames={frames} html_mb={html_mb:.1f} build_s={build_s:.1f} load_s=nan "
                  "seek_ms=nan")
            return 0
        with Chromium.start(executable) as browser:
            start = time.perf_counter()
            browser.send("Page.navigate", {"url": page.as_uri()}, session=True, timeout=300)
            while True:  # until the page's script has run
                try:
                    if browser.evaluate("typeof alphaposeView") == "object":
                        break
                except RuntimeError:
                    pass
                time.sleep(0.02)
            browser.evaluate("alphaposeView.ready", timeout=300)
            load_s = time.perf_counter() - start
            people = browser.evaluate("alphaposeView.data.runs[0].people")
            chunks = browser.evaluate("alphaposeView.data.runs[0].chunks.map(c => c.first)")
            picks = np.linspace(len(chunks) // 20, len(chunks) - 1, 20).astype(int)
            times = []
            for c in picks:
                frame = int(chunks[c]) + 1
                t0 = time.perf_counter()
                browser.evaluate(f"alphaposeView.show({frame})")
                times.append(time.perf_counter() - t0)
            drawn = browser.evaluate("alphaposeView.state.drawn")
            errors = browser.errors()
        assert drawn == int(chunks[picks[-1]]) + 1, drawn  # bench sanity
        if errors:
            print(f"page errors: {errors}")
        seek_ms = 1000 * float(np.mean(times))
        print(f"Chromium: first frame drawn {load_s:.2f} s after navigation; a frame in a new "
              f"chunk in {seek_ms:.0f} ms (mean of {len(times)}); {len(chunks)} chunks")
        print(f"frames={frames} people={people} html_mb={html_mb:.1f} build_s={build_s:.1f} "
              f"load_s={load_s:.2f} seek_ms={seek_ms:.0f}")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
