"""Kill -9 at random points of `alphapose run`, then read every output with standard tools.

Each trial runs ``alphapose run`` on a 60-frame cut of the shared video plus the shared still
images (formats alphapose, coco, posetrack, jsonl; ``--save-video``), kills it with SIGKILL
once a random number of frames (seeded) is finished plus a random fraction of a
frame's time, and checks:

* readable: every results file loads with ``json.load``; ``coco-results.json`` with
  pycocotools ``COCO().loadRes``; the rendered video (the finished ``.mp4``, or while it was
  being written, its ``.partial.avi``) opens with OpenCV and its frames decode;
* lost_frames: frames whose result the run had written before the kill (the JSON-lines file is
  written last for each frame, so a frame in it is finished in every format) but that are
  missing from the AlphaPose JSON, the COCO JSON or the PoseTrack image list;
  video_lost: finished frames missing from the video, beyond the one being drawn at the kill;
* resumed: ``alphapose run ... --resume`` then exits 0 and leaves complete results (60 frames,
  the final .mp4 with 60 frames, no preview file, the done marker).

Also measured: the cost of keeping the video playable during the run (VideoWriter with and
without its MJPEG preview, on the same frames).

Usage: .venv/bin/python bench/faults.py [--trials 10] [--seed 0] [--frames 60]
Last line: trials=10 readable=10 resumed=10 lost_frames=0 ...
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ALPHAPOSE = [sys.executable, "-m", "alphapose"]


def cut_video(src: Path, dst: Path, frames: int) -> None:
    capture = cv2.VideoCapture(str(src))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    writer = None
    for _ in range(frames):
        ok, image = capture.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"MJPG"), fps,
                                     (image.shape[1], image.shape[0]))
        writer.write(image)
    capture.release()
    writer.release()


def video_frames(path: Path) -> int | None:
    """Frames OpenCV decodes from ``path`` (None: it does not open)."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        return None
    count = 0
    while capture.grab():
        ok, _ = capture.retrieve()
        if not ok:
            break
        count += 1
    capture.release()
    return count


def coco_loads(path: Path) -> bool:
    from pycocotools.coco import COCO

    results = json.loads(path.read_text())
    if not results:
        return True  # loadRes refuses an empty list; an empty list is valid JSON
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        gt = COCO()
        gt.dataset = {"images": [{"id": r["image_id"]} for r in results], "annotations": [],
                      "categories": [{"id": 1, "name": "person"}]}
        gt.createIndex()
        return len(gt.loadRes(str(path)).anns) == len(results)


def check(out: Path, video_dir: Path, stem: str) -> tuple[bool, int, int, list[str]]:
    """(readable, lost frames, lost video frames, problems) of a killed run's outputs."""
    problems: list[str] = []
    lost = video_lost = 0
    for folder in (out, video_dir):
        if not folder.is_dir():
            continue
        finished = []
        jsonl = folder / "alphapose-results.jsonl"
        if jsonl.is_file():
            for line in jsonl.read_text().splitlines():
                try:
                    finished.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # the line the kill cut (JSON lines: the reader skips it)
        loaded = {}
        for name in ("alphapose-results.json", "coco-results.json", "posetrack-results.json"):
            path = folder / name
            if not path.is_file():
                continue
            try:
                loaded[name] = json.loads(path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                problems.append(f"{path}: {error}")
        coco = folder / "coco-results.json"
        if "coco-results.json" in loaded:
            try:
                if not coco_loads(coco):
                    problems.append(f"{coco}: loadRes lost entries")
            except Exception as error:  # noqa: BLE001 - any refusal is the finding
                problems.append(f"{coco}: loadRes: {error}")
        names = {e["image_id"] for e in loaded.get("alphapose-results.json", [])}
        ids = {e["image_id"] for e in loaded.get("coco-results.json", [])}
        track = {i["file_name"] for i in loaded.get("posetrack-results.json", {}).get("images", [])}
        for record in finished:
            if ((record["people"] and record["image_id"] not in names)
                    or (record["people"] and "coco-results.json" in loaded
                        and int(record["image_id"].split(".")[0]) not in ids)
                    or (folder == video_dir and record["image_id"] not in track)):
                lost += 1
        if folder == video_dir and finished:
            final, partial = folder / f"AlphaPose_{stem}.mp4", folder / f"AlphaPose_{stem}.partial.avi"
            path = partial if partial.is_file() else final
            count = video_frames(path) if path.is_file() else None
            if count is None:
                problems.append(f"{path}: OpenCV cannot open it")
            else:
                video_lost += max(0, len(finished) - 1 - count)
    return not problems, lost, video_lost, problems


def finished_frames(out: Path, stem: str) -> int:
    """Lines of the JSON-lines files so far (the video's, then the images')."""
    count = 0
    for path in (out / stem / "alphapose-results.jsonl", out / "alphapose-results.jsonl"):
        try:
            count += path.read_bytes().count(b"\n")
        except OSError:
            pass
    return count


def preview_cost(video: Path, frames: int) -> tuple[float, float]:
    """(ms per frame added by the playable preview, preview size / final video size)."""
    from alphapose.writers import VideoWriter

    capture = cv2.VideoCapture(str(video))
    images = [capture.read()[1] for _ in range(frames)]
    capture.release()
    times, sizes = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for preview in (False, True, False, True):
            path = Path(tmp) / f"v{int(preview)}.mp4"
            writer = VideoWriter(path, fps=25.0, render=None, preview=preview)
            start = time.perf_counter()
            for image in images:
                writer.write_image(image)
            if preview:
                sizes["preview"] = writer.preview_path.stat().st_size
            writer.close()
            times[preview] = (time.perf_counter() - start) / len(images) * 1e3
            sizes[preview] = path.stat().st_size
    return times[True] - times[False], sizes["preview"] / sizes[True]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    if not (DATA / "openpose" / "video.avi").is_file():
        sys.exit(f"bench/faults.py: the shared data is not at {DATA}")
    rng = np.random.default_rng(args.seed)
    root = Path(tempfile.mkdtemp(prefix="alphapose-faults-"))
    try:
        stem = "clip"
        video = root / f"{stem}.avi"
        cut_video(DATA / "openpose" / "video.avi", video, args.frames)
        images = DATA / "alphapose"
        out = root / "out"
        argv = [*ALPHAPOSE, "run", str(video), str(images), "-o", str(out), "--quiet",
                "--save-video", "--format", "alphapose,coco,posetrack,jsonl"]
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        full = time.perf_counter() - start
        print(f"full run: {full:.1f} s", flush=True)
        readable = resumed = lost_total = video_lost_total = 0
        for trial in range(args.trials):
            shutil.rmtree(out, ignore_errors=True)
            # kill once a random number of frames is finished (video first, then the images),
            # plus a random fraction of a frame's time: every phase of the run gets hit
            target = int(rng.integers(0, args.frames + 4))
            extra = float(rng.uniform(0, 1.5 * full / (args.frames + 3)))
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            start = time.perf_counter()
            while process.poll() is None and finished_frames(out, stem) < target:
                time.sleep(0.01)
            time.sleep(extra)
            delay = time.perf_counter() - start
            killed = process.poll() is None
            if killed:
                os.kill(process.pid, signal.SIGKILL)
            process.wait()
            ok, lost, video_lost, problems = check(out, out / stem, stem)
            readable += ok
            lost_total += lost
            video_lost_total += video_lost
            done = subprocess.run([*argv, "--resume"], capture_output=True, text=True, check=False)
            final = out / stem
            complete = (done.returncode == 0
                        and (final / "alphapose-done.json").is_file()
                        and not (final / f"AlphaPose_{stem}.partial.avi").exists()
                        and video_frames(final / f"AlphaPose_{stem}.mp4") == args.frames
                        and len((final / "alphapose-results.jsonl").read_text().splitlines())
                        == args.frames
                        and len(json.loads((final / "posetrack-results.json").read_text())
                                ["images"]) == args.frames
                        and len(json.loads((out / "alphapose-results.json").read_text())) > 0)
            resumed += complete
            print(f"trial {trial}: kill after {target} frames + {extra:.2f} s ({delay:.1f} s)"
                  f"{'' if killed else ' (already done)'}: "
                  f"readable={ok} lost={lost} video_lost={video_lost} resumed={complete}"
                  + "".join(f"\n  - {p}" for p in problems)
                  + ("" if complete else f"\n  resume: exit {done.returncode} "
                                         f"{done.stderr.strip()[-300:]}"), flush=True)
        cost_ms, size_ratio = preview_cost(video, args.frames)
        print(f"trials={args.trials} readable={readable} resumed={resumed} "
              f"lost_frames={lost_total} video_lost_frames={video_lost_total} "
              f"preview_ms_per_frame={cost_ms:.2f} preview_size_ratio={size_ratio:.1f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
