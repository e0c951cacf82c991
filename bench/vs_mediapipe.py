"""This project's modes against MediaPipe Holistic, on the same decoded frames (issue #11 item 6).

MediaPipe Holistic (``mediapipe==0.10.14``, legacy ``mp.solutions.holistic``,
``model_complexity=1``, video mode) is what CPU users run today for one person per frame. It
runs in a separate venv that this script makes and fills with ``pip`` (``--venv``, default
``out/bench-venvs/mediapipe``, git-ignored; the project's ``.venv`` is never touched), in a
child process (``bench/holistic_worker.py``) fed the frames this process decoded once
(``.npy``).

Speed: the first ``--frames`` frames of ``openpose/video.avi`` (1280x720, a crowded street);
every round runs each ``--mode`` as ``alphapose run --mode M`` builds it (detector every 5th
frame, landmark tracking in between; no output writing, as Holistic writes nothing), the order
reversed every other round, with a Holistic run before and after each; figures are medians
over ``--rounds`` (the machine is shared: compare figures of one run). Holistic counts one
person per frame (persons/s = frames/s); ours counts the people it outputs. ``ratio`` = ours /
Holistic persons/s: per round against the mean of the Holistic runs just before and after,
then the median over rounds.

Agreement: on single-person crops (people cut out of the shared images and video frames with a
margin, kept when the balanced pipeline finds exactly one person in the crop and Holistic finds
a body), per part the median over people of the median keypoint distance between the two,
over the part's size (sqrt of the area of Holistic's points' box): body (COCO-17, points
Holistic sees with visibility >= 0.5), face (68 points; Holistic's 468-point mesh through the
same 468 -> 68 table), each hand (21 points, the subject's left / right; when both found one).

CPU: process CPU milliseconds per person on each side (Holistic's worker process; this
process for ours), printed per round and as medians: what a person costs, whatever the number
of cores each side keeps busy.

One person (``--single-frames``, default 40; 0: skipped): a 640x480 clip of the one skier of
COCO ``000000000785.jpg`` (shared COCO samples), the view panning and zooming in slowly (a real
person, a made-up camera motion: the shared videos are crowds); frames/s of Holistic and each
mode, ``--rounds`` times, order alternating; printed as ``one_person holistic_fps=...
lightweight_fps=... balanced_fps=...`` (medians).

Last lines: ``lightweight_holistic_pps=... lightweight_pps=... lightweight_ratio=...`` (when
lightweight ran), then ``holistic_pps=... ours_pps=... ratio=...`` for balanced.

``--mode lightweight+lite`` adds a candidate that is no mode: lightweight with the lite body
model on frames without detection.

Usage: ``.venv/bin/python bench/vs_mediapipe.py [--data ../shared/data] [--frames 60]
[--rounds 3] [--mode lightweight --mode balanced] [--no-agreement] [--single-frames 40]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from alphapose.estimators.blaze import BLAZE_TO_COCO17, FACE, LEFT_HAND, RIGHT_HAND
from alphapose.estimators.face_hand import FACE_MESH_TO_68
from alphapose.pipeline import Pipeline
from alphapose.sources import ImageSource, VideoSource
from alphapose.structures import Frame

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "bench" / "holistic_worker.py"
MEDIAPIPE = "mediapipe==0.10.14"
PARTS = {"body": None, "face": FACE, "left_hand": LEFT_HAND, "right_hand": RIGHT_HAND}


def bench_venv(path: Path) -> Path:
    """The Python of a venv at ``path`` holding ``mediapipe==0.10.14`` (made and filled with
    pip when missing)."""
    python = path / "bin" / "python"
    if not python.exists():
        print(f"making the bench venv {path}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    probe = subprocess.run([str(python), "-c", "import mediapipe; print(mediapipe.__version__)"],
                           check=False, capture_output=True, text=True)
    if probe.returncode != 0 or probe.stdout.strip() != MEDIAPIPE.split("==")[1]:
        print(f"installing {MEDIAPIPE} into {path}", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", MEDIAPIPE], check=True)
    return python


def holistic(python: Path, kind: str, data: Path, work: Path) -> dict:
    """One run of the worker (``kind`` ``video`` or ``images``) on a frames file."""
    out = work / f"holistic-{kind}.json"
    done = subprocess.run([str(python), str(WORKER), kind, str(data), str(out)],
                          check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench/vs_mediapipe.py: the Holistic worker failed:\n{done.stderr[-2000:]}")
    return json.loads(out.read_text())


def build(mode: str) -> Pipeline:
    """The pipeline ``alphapose run --mode MODE`` builds; ``lightweight+lite`` is lightweight
    with the lite body model on frames without detection (a candidate, not a mode)."""
    from alphapose.cli import _build_pipeline, build_parser

    if mode == "lightweight+lite":
        from dataclasses import replace

        from alphapose.estimators.blaze import BlazeWholeBody

        base = build("lightweight")
        config = replace(base.estimator.config, tracking_body_model="lite")
        return Pipeline(base.detector, BlazeWholeBody(config))
    return _build_pipeline(build_parser().parse_args(["run", "unused", "--mode", mode]))


def ours(pipeline: Pipeline, frames: list[Frame]) -> tuple[float, int, float]:
    """``(seconds, persons, process CPU seconds)`` of one run over ``frames``."""
    persons = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for _, poses in pipeline.run(frames):
        persons += len(poses)
    return time.perf_counter() - start, persons, time.process_time() - cpu_start


def one_person_clip(data: Path, count: int) -> list[Frame]:
    """``count`` frames of 640x480 holding the one skier of COCO ``000000000785.jpg`` (in the
    shared COCO samples, 640x425), the view panning and zooming in slowly: a real person, a
    made-up camera motion (the shared videos are crowds)."""
    import cv2

    image = cv2.imread(str(data / "mmpose" / "coco" / "000000000785.jpg"))
    if image is None:
        sys.exit(f"bench/vs_mediapipe.py: {data}/mmpose/coco/000000000785.jpg not found")
    frames = []
    for n in range(count):
        scale = 1.0 + 0.004 * n
        view = np.float64([[scale, 0, -1.5 * n], [0, scale, 27 - 0.8 * n]])
        frames.append(Frame(cv2.warpAffine(image, view, (640, 480),
                                           borderMode=cv2.BORDER_REPLICATE),
                            n, f"{n}.jpg", path="one-person", source="one-person"))
    return frames


# ---------------------------------------------------------------------------------- agreement

def single_person_crops(pipeline: Pipeline, images: list[np.ndarray], min_height: float = 160,
                        margin: float = 0.2, limit: int = 40) -> list[np.ndarray]:
    """Crops of one person each: every person the pipeline finds at least ``min_height`` tall,
    cut with ``margin`` of the box size per side, kept when no other person's box reaches a
    tenth into the crop and the pipeline finds exactly one person in the crop."""
    crops = []
    for image in images:
        poses = pipeline.predict(image)
        height, width = image.shape[:2]
        for n in range(len(poses)):
            x1, y1, x2, y2 = poses.xyxy[n].tolist()
            if y2 - y1 < min_height:
                continue
            pad_x, pad_y = (x2 - x1) * margin, (y2 - y1) * margin
            c = [max(int(x1 - pad_x), 0), max(int(y1 - pad_y), 0),
                 min(int(x2 + pad_x) + 1, width), min(int(y2 + pad_y) + 1, height)]
            area = (c[2] - c[0]) * (c[3] - c[1])
            crowded = False
            for m in range(len(poses)):
                if m == n:
                    continue
                ox1, oy1, ox2, oy2 = poses.xyxy[m].tolist()
                inter = max(min(ox2, c[2]) - max(ox1, c[0]), 0) * max(
                    min(oy2, c[3]) - max(oy1, c[1]), 0)
                crowded |= inter > 0.1 * area
            if crowded:
                continue
            crop = np.ascontiguousarray(image[c[1]:c[3], c[0]:c[2]])
            if len(pipeline.predict(crop)) == 1:
                crops.append(crop)
            if len(crops) >= limit:
                return crops
    return crops


def holistic_parts(person: dict) -> dict[str, np.ndarray | None]:
    """Holistic's people as ``part -> (K, 2)`` points in our order (None: not found); the body's
    COCO-17 points Holistic does not see (visibility < 0.5) are NaN."""
    body = np.asarray(person["body"], np.float64)
    coco = body[BLAZE_TO_COCO17, :2].copy()
    coco[body[BLAZE_TO_COCO17, 2] < 0.5] = np.nan
    face = None
    if person["face"] is not None:
        face = np.asarray(person["face"], np.float64)[FACE_MESH_TO_68].mean(axis=1)
    return {"body": coco, "face": face,
            "left_hand": None if person["left_hand"] is None
            else np.asarray(person["left_hand"], np.float64),
            "right_hand": None if person["right_hand"] is None
            else np.asarray(person["right_hand"], np.float64)}


def agreement(ours_poses: list, theirs: list[dict | None],
              min_score: float = 0.5) -> dict[str, tuple[float, int]]:
    """Per part: ``(median over people of median distance / part size, people compared)``."""
    errors: dict[str, list[float]] = {part: [] for part in PARTS}
    for poses, person in zip(ours_poses, theirs, strict=True):
        if person is None or len(poses) != 1:
            continue
        reference = holistic_parts(person)
        for part, where in PARTS.items():
            truth = reference[part]
            if truth is None:
                continue
            points = poses.keypoints[0, :17] if where is None else poses.keypoints[0, where]
            scores = poses.keypoint_scores[0, :17] if where is None \
                else poses.keypoint_scores[0, where]
            if where is not None and float(scores.max()) < min_score:
                continue  # our part model did not find it
            seen = np.isfinite(truth).all(axis=1)
            if seen.sum() < 2:
                continue
            extent = truth[seen].max(0) - truth[seen].min(0)
            size = float(np.sqrt(max(extent[0], 1.0) * max(extent[1], 1.0)))
            distance = np.hypot(*(points[seen] - truth[seen]).T)
            errors[part].append(float(np.median(distance)) / size)
    return {part: (float(np.median(values)) if values else float("nan"), len(values))
            for part, values in errors.items()}


def agreement_images(data: Path) -> list[np.ndarray]:
    """The shared images and two frames of the video the crops are cut from."""
    paths = sorted((data / "openpose").glob("COCO_val2014_*.jpg")) + sorted(
        (data / "mmpose" / "coco").glob("*.jpg")) + sorted(
        (data / "openpifpaf" / "coco").glob("*.jpg"))
    images = [frame.image for frame in ImageSource(paths, name="shared images")] if paths else []
    video = data / "openpose" / "video.avi"
    if video.is_file():
        images += [frame.image for frame in VideoSource(video) if frame.index in (0, 100)]
    return images


# ------------------------------------------------------------------------------------------ main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--venv", type=Path, default=ROOT / "out" / "bench-venvs" / "mediapipe")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mode", action="append", default=None,
                        choices=("lightweight", "balanced", "performance", "lightweight+lite"),
                        help="repeatable (default: lightweight and balanced; "
                             "lightweight+lite: lightweight with the lite body model on "
                             "frames without detection)")
    parser.add_argument("--no-agreement", action="store_true")
    parser.add_argument("--single-frames", type=int, default=40,
                        help="frames of the one-person clip (0: not run)")
    args = parser.parse_args()
    modes = args.mode or ["lightweight", "balanced"]
    video = args.data / "openpose" / "video.avi"
    if not video.is_file():
        sys.exit(f"bench/vs_mediapipe.py: {video} not found (pass --data PATH/TO/shared/data)")
    python = bench_venv(args.venv)
    work = Path(tempfile.mkdtemp(prefix="alphapose-vs-mediapipe-"))

    frames = [frame for _, frame in zip(range(args.frames), VideoSource(video))]
    frames_file = work / "frames.npy"
    np.save(frames_file, np.stack([frame.image for frame in frames]))
    pipelines = {mode: build(mode) for mode in modes}
    for pipeline in pipelines.values():  # models fetched and loaded, worker copies made
        for _ in pipeline.run(frames[:5]):
            pass
    h, w = frames[0].image.shape[:2]
    print(f"video.avi: {len(frames)} frames of {w}x{h}; {args.rounds} rounds, order "
          f"alternating; 2 shared cores (medians; compare within this run)")

    pps: dict[str, list[float]] = {name: [] for name in ("holistic", *modes)}
    cpu: dict[str, list[float]] = {name: [] for name in ("holistic", *modes)}
    ratios: dict[str, list[float]] = {mode: [] for mode in modes}
    people: dict[str, list[float]] = {mode: [] for mode in modes}

    def holistic_turn(round_: int) -> float:
        result = holistic(python, "video", frames_file, work)
        pps["holistic"].append(result["frames"] / result["seconds"])
        cpu["holistic"].append(1000 * result["cpu_seconds"] / result["frames"])
        print(f"  round {round_ + 1} holistic: {pps['holistic'][-1]:.1f} persons/s "
              f"(pose found on {result['found']}/{result['frames']} frames; "
              f"{cpu['holistic'][-1]:.0f} CPU ms per person)", flush=True)
        return pps["holistic"][-1]

    for round_ in range(args.rounds):
        # Holistic (a few seconds) runs before and after every mode: each mode's ratio is
        # against the mean of the two, so load changing during a round cancels out
        before = holistic_turn(round_)
        for name in modes if round_ % 2 == 0 else modes[::-1]:
            seconds, persons, cpu_seconds = ours(pipelines[name], frames)
            pps[name].append(persons / seconds)
            cpu[name].append(1000 * cpu_seconds / max(persons, 1))
            people[name].append(persons / len(frames))
            print(f"  round {round_ + 1} {name}: {pps[name][-1]:.1f} persons/s "
                  f"({persons / len(frames):.1f} people/frame, "
                  f"{len(frames) / seconds:.2f} fps; {cpu[name][-1]:.0f} CPU ms per person)",
                  flush=True)
            after = holistic_turn(round_)
            ratios[name].append(pps[name][-1] / ((before + after) / 2))
            before = after

    single: dict[str, list[float]] = {name: [] for name in ("holistic", *modes)}
    if args.single_frames:
        # one person per frame, the case Holistic is made for (frames per second)
        clip = one_person_clip(args.data, args.single_frames)
        clip_file = work / "one-person.npy"
        np.save(clip_file, np.stack([frame.image for frame in clip]))
        for pipeline in pipelines.values():
            pipeline.reset()
        for round_ in range(args.rounds):
            result = holistic(python, "video", clip_file, work)
            single["holistic"].append(result["frames"] / result["seconds"])
            for name in modes if round_ % 2 == 0 else modes[::-1]:
                seconds, persons, _ = ours(pipelines[name], clip)
                single[name].append(len(clip) / seconds)
                pipelines[name].reset()
            print(f"  round {round_ + 1} one person: " + ", ".join(
                f"{name} {values[-1]:.1f} fps" for name, values in single.items()), flush=True)

    if not args.no_agreement:
        reference = pipelines.get("balanced") or build("balanced")
        crops = single_person_crops(reference, agreement_images(args.data))
        np.savez(work / "crops.npz", **{f"crop_{n}": crop for n, crop in enumerate(crops)})
        theirs = holistic(python, "images", work / "crops.npz", work)["people"]
        found = sum(person is not None for person in theirs)
        print(f"agreement on {len(crops)} single-person crops (Holistic found {found}): median "
              f"keypoint distance / part size")
        for mode in modes:
            scores = agreement([pipelines[mode].predict(crop) for crop in crops], theirs)
            print(f"  {mode}: " + "  ".join(f"{part} {value:.3f} (n={n})"
                                            for part, (value, n) in scores.items()))

    holistic_pps = statistics.median(pps["holistic"])
    for mode in modes:
        print(f"  {mode}: {statistics.median(pps[mode]):.1f} persons/s "
              f"({statistics.median(people[mode]):.1f} people/frame, "
              f"{statistics.median(cpu[mode]):.0f} CPU ms per person; Holistic "
              f"{statistics.median(cpu['holistic']):.0f}), Holistic "
              f"{holistic_pps:.1f}; ratio per round "
              + ", ".join(f"{r:.2f}" for r in ratios[mode]))
    if args.single_frames:
        print("one_person " + " ".join(f"{name.replace('+', '_')}_fps="
                                       f"{statistics.median(values):.1f}"
                                       for name, values in single.items()))
    if "lightweight" in modes:
        print(f"lightweight_holistic_pps={holistic_pps:.2f} "
              f"lightweight_pps={statistics.median(pps['lightweight']):.2f} "
              f"lightweight_ratio={statistics.median(ratios['lightweight']):.2f}")
    for mode in [m for m in modes if m not in ("lightweight", "balanced")]:
        print(f"{mode.replace('+', '_')}_pps={statistics.median(pps[mode]):.2f} "
              f"{mode.replace('+', '_')}_ratio={statistics.median(ratios[mode]):.2f}")
    if "balanced" in modes:
        print(f"holistic_pps={holistic_pps:.2f} ours_pps={statistics.median(pps['balanced']):.2f} "
              f"ratio={statistics.median(ratios['balanced']):.2f}")


if __name__ == "__main__":
    main()
