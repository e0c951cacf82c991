"""End-to-end throughput, cost per person and memory over a long stream (issue 6).

Sections (figures defined in :mod:`alphapose.benchmark`; ``efficiency`` is the models' ideal
time over the wall time, parallelism accounted):

1. **videos**: the embedded default (detector every 5th frame, landmark tracking between, body,
   hands, face, pose NMS, AlphaPose JSON writing) on the mmpose demo video (5 frames of 960x540
   looped ``--loops`` times as one continuous video) and the OpenPose sample video (205 frames of
   1280x720), each run with ``--sp`` (one thread) and concurrent (stage threads), 1 interpreter
   thread per model (``--threads``);
2. **cost per person**: synthetic 1152x864 frames tiled with 1, 5 or 20 real people cropped
   from the COCO images of ../shared/data with their ground-truth boxes (each crop scaled into a
   230x288 tile on grey; 230x216 for 20 people). The detector is replaced by one returning the
   tiles' ground-truth boxes (the embedded detector would not find all 20 small people, which would measure
   detection misses, not cost), ``detect_every=1``: every person gets the full estimation every
   frame (2 body passes, 2 hands x 2 passes, face x 2). Per-person time = wall / people given.
   Run with --sp, and concurrent with 1 and with ``--workers`` estimator workers;
3. **memory**: (a) 30 minutes of a 25 fps stream = 45000 generated 320x240 frames with 3 moving
   people through the full concurrent pipeline (reader, detector, estimator, pose NMS, the MSIM
   tracker with its appearance descriptors, AlphaPose JSON writing) with a cheap synthetic
   detector / estimator standing in for the models (real models would take hours here); the RSS
   is sampled every 20 ms and ``rss_growth`` = peak RSS during minute 30 / peak during minute 1
   - 1 (stream minutes, 1500 frames each). (b) a shorter real-model run: the OpenPose video
   looped ``--real-loops`` times, peak RSS of the last loop / of the first loop - 1.

Last line: ``fps=... efficiency=... speedup_vs_sp=... rss_growth=...`` (fps / efficiency of the
concurrent run on the OpenPose video, speedup = its fps / the --sp run's fps, rss_growth of 3a).

Usage: ``.venv/bin/python bench/e2e.py [--data ../shared/data] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from alphapose.benchmark import (
    RssSampler,
    calibrate,
    compare,
    machine_load,
    measure,
    video_loops,
)
from alphapose.pipeline import Pipeline, RunOptions
from alphapose.sources import VideoSource
from alphapose.structures import Detections, Frame, Poses

ROOT = Path(__file__).resolve().parents[1]
CANVAS = (864, 1152)  # H, W: 5 x 3 tiles of 230 x 288; 20 people: 5 x 4 tiles of 230 x 216


# ------------------------------------------------------------------------------------------------
# cost per person
# ------------------------------------------------------------------------------------------------

def person_crops(data: Path, min_height: int = 200, limit: int = 20) -> list[np.ndarray]:
    """Crops of single people from the COCO sample images, by ground-truth box (tallest first)."""
    coco = json.loads((data / "mmpose" / "coco" / "test_coco.json").read_text())
    files = {im["id"]: im["file_name"] for im in coco["images"]}
    crops = []
    for ann in sorted(coco["annotations"], key=lambda a: -a["bbox"][3]):
        x, y, w, h = (round(v) for v in ann["bbox"])
        if h < min_height or ann.get("num_keypoints", 0) < 10 or ann.get("iscrowd", 0):
            continue
        image = cv2.imread(str(data / "mmpose" / "coco" / files[ann["image_id"]]))
        pad = int(0.1 * h)
        y0, y1 = max(y - pad, 0), min(y + h + pad, image.shape[0])
        x0, x1 = max(x - pad, 0), min(x + w + pad, image.shape[1])
        crops.append(image[y0:y1, x0:x1].copy())
        if len(crops) == limit:
            break
    if not crops:
        raise SystemExit("no person crops found in the COCO samples")
    return crops


def tiled_frame(crops: list[np.ndarray], people: int) -> tuple[np.ndarray, np.ndarray]:
    """A grey canvas with ``people`` crops in a grid of equal tiles; returns (image, boxes)."""
    columns, rows = (5, 4) if people > 15 else (5, 3)
    height, width = CANVAS
    tile_w, tile_h = width // columns, height // rows
    canvas = np.full((height, width, 3), 128, np.uint8)
    boxes = []
    for n in range(people):
        crop = crops[n % len(crops)]
        scale = min(tile_w / crop.shape[1], tile_h / crop.shape[0])
        w, h = int(crop.shape[1] * scale), int(crop.shape[0] * scale)
        r, c = divmod(n, columns)
        x0, y0 = c * tile_w + (tile_w - w) // 2, r * tile_h + (tile_h - h) // 2
        canvas[y0:y0 + h, x0:x0 + w] = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
        boxes.append([x0, y0, x0 + w - 1, y0 + h - 1])
    return canvas, np.asarray(boxes, np.float32)


class GivenBoxes:
    """Detector returning fixed boxes (the tiles' ground truth), score 0.9."""

    def __init__(self, boxes: np.ndarray) -> None:
        self.boxes = boxes

    def __call__(self, image: np.ndarray) -> Detections:
        return Detections(self.boxes.copy(), np.full(len(self.boxes), 0.9, np.float32))


def cost_per_person(data: Path, frames: int, threads: int, sp: bool,
                    workers: int | None = 1) -> dict[int, tuple]:
    from alphapose.benchmark import pipeline_models
    from alphapose.estimators.blaze import BlazeWholeBody, BlazeWholeBodyConfig

    crops = person_crops(data)
    estimator = BlazeWholeBody(BlazeWholeBodyConfig(num_threads=threads))
    costs = None
    out = {}
    for people in (1, 5, 20):
        image, boxes = tiled_frame(crops, people)
        pipeline = Pipeline(GivenBoxes(boxes), estimator, detect_every=1,
                            run=RunOptions(sp=sp, workers=workers))
        costs = costs or calibrate(pipeline_models(pipeline))
        video = [Frame(image, i, f"{i}.jpg", path="tiles", source="tiles") for i in range(frames)]
        stats = measure(pipeline, video, f"{people:2d} people/frame", None, costs, threads)
        per_person_ms = 1000 * stats.wall / (frames * people)
        out[people] = (per_person_ms, stats)
        print(f"  {stats.line()}\n  -> {per_person_ms:.1f} ms per person "
              f"({stats.persons / frames:.1f} found per frame)", flush=True)
    return out


# ------------------------------------------------------------------------------------------------
# memory over a 30-minute stream
# ------------------------------------------------------------------------------------------------

class MovingPeople:
    """Generated 320x240 frames of ``people`` coloured figures walking back and forth; also the
    ground-truth boxes of each frame (the cheap detector reads them from the frame index)."""

    def __init__(self, frames: int, people: int = 3, seed: int = 0) -> None:
        self.frames, self.people = frames, people
        rng = np.random.default_rng(seed)
        self.speed = rng.uniform(0.5, 2.0, people)
        self.phase = rng.uniform(0, 2 * np.pi, people)
        self.colour = rng.integers(40, 255, (people, 3))

    def boxes(self, index: int) -> np.ndarray:
        x = 150 + 110 * np.sin(self.phase + self.speed * index / 50)
        y = 40 + 60 * np.arange(self.people) % 120
        return np.stack([x - 20, y, x + 20, y + 100], 1).astype(np.float32)

    def __iter__(self):
        for i in range(self.frames):
            image = np.full((240, 320, 3), 90, np.uint8)
            for (x1, y1, x2, y2), colour in zip(self.boxes(i).astype(int), self.colour):
                cv2.rectangle(image, (x1, y1), (x2, y2), colour.tolist(), -1)
            yield Frame(image, i, f"{i}.jpg", path="stream", timestamp=i / 25, source="stream")


class CheapDetector:
    def __init__(self, scene: MovingPeople) -> None:
        self.scene = scene

    def __call__(self, image: np.ndarray, name: str) -> Detections:
        boxes = self.scene.boxes(int(name.split(".")[0]))
        return Detections(boxes, np.full(len(boxes), 0.9, np.float32))

    uses_frame_name = True


class CheapEstimator:
    """Halpe-136 keypoints spread over each box (tracked people follow the frame's boxes)."""

    layout = "halpe136"
    supports_tracking = True
    grid = np.stack(np.meshgrid(np.linspace(0.1, 0.9, 8), np.linspace(0.05, 0.95, 17)),
                    -1).reshape(-1, 2)[:136]

    def __call__(self, image, detections, tracked=None):
        boxes = detections.xyxy if tracked is None else tracked.xyxy
        scores = detections.scores if tracked is None else tracked.box_scores
        size = boxes[:, 2:] - boxes[:, :2]
        keypoints = boxes[:, None, :2] + self.grid[None] * size[:, None]
        return Poses(keypoints.astype(np.float32), np.full(keypoints.shape[:2], 0.8, np.float32),
                     boxes, scores, layout=self.layout)

    @staticmethod
    def tracked_people(poses: Poses) -> Poses:
        """The next frame starts from this frame's people."""
        return poses


def stream_rss(minutes: int, fps: int, out: Path) -> tuple[float, list[float]]:
    """Peak RSS per stream minute; returns (rss_growth, peaks)."""
    from alphapose.tracking import MSIMTracker
    from alphapose.writers import AlphaPoseJsonWriter

    per_minute = 60 * fps
    scene = MovingPeople(minutes * per_minute)
    pipeline = Pipeline(CheapDetector(scene), CheapEstimator(), tracker=MSIMTracker(),
                        detect_every=5)
    peaks = []
    start = time.perf_counter()
    with RssSampler() as rss, AlphaPoseJsonWriter(out) as writer:
        for frame, poses in pipeline.run(scene):
            writer.write(frame, poses)
            if (frame.index + 1) % per_minute == 0:
                peaks.append(rss.reset())
                if len(peaks) in (1, 2, 5, 10, 20, 30) or len(peaks) % 10 == 0:
                    print(f"  minute {len(peaks):2d}: peak RSS {peaks[-1]:.1f} MB "
                          f"({time.perf_counter() - start:.0f} s)", flush=True)
    return peaks[-1] / peaks[0] - 1, peaks


def real_rss(video: Path, loops: int, threads: int, limit: int | None) -> tuple[float, list]:
    """The embedded default on ``video`` read ``loops`` times (decoded as it goes); peak RSS
    per loop and last / first - 1."""
    from alphapose.benchmark import build_default, video_loops

    pipeline = build_default(threads)
    per_loop = limit or sum(1 for _ in VideoSource(video))
    peaks = []
    with RssSampler() as rss:
        for n, _ in enumerate(pipeline.run(video_loops(video, loops, limit))):
            if (n + 1) % per_loop == 0:
                peaks.append(rss.reset())
    return peaks[-1] / peaks[0] - 1, peaks


# ------------------------------------------------------------------------------------------------


def gil_check() -> str:
    """Does a Python thread run while LiteRT invokes / OpenCV warps in another? Returns a line."""
    import threading

    from alphapose.runtime.litert import LiteRTModel
    from alphapose.weights import get_model_file

    model = LiteRTModel(get_model_file("blaze-pose-full"), num_threads=1)
    batch = np.zeros(model.input_shape, np.float32)
    image = np.random.default_rng(0).integers(0, 255, (1440, 2560, 3), np.uint8)
    matrix = np.array([[0.9, 0.1, 5], [-0.1, 0.9, 7]], np.float32)

    def spin_while(work) -> float:
        """Python iterations per second of the main thread while ``work`` runs in another."""
        done = threading.Event()

        def target():
            work()
            done.set()

        thread = threading.Thread(target=target)
        count, start = 0, time.perf_counter()
        thread.start()
        while not done.is_set():
            count += 1
        thread.join()
        return count / (time.perf_counter() - start)

    alone = spin_while(lambda: time.sleep(0.3))  # the same loop; sleeping holds no GIL
    during_invoke = spin_while(lambda: [model(batch) for _ in range(30)])
    during_warp = spin_while(lambda: [cv2.warpAffine(image, matrix, (2560, 1440))
                                      for _ in range(10)])
    return (f"GIL: a Python loop runs at {during_invoke / alone:.0%} (LiteRT invoke) and "
            f"{during_warp / alone:.0%} (cv2.warpAffine) of its solo speed while the other "
            f"thread works (near 0% would mean the GIL is held)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--loops", type=int, default=20, help="demo video loops (5 frames)")
    parser.add_argument("--threads", type=int, default=1, help="interpreter threads per model")
    parser.add_argument("--workers", type=int, default=None,
                        help="estimator workers of the concurrent runs (default: the "
                             "pipeline's, one per core)")
    parser.add_argument("--person-frames", type=int, default=8)
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--real-loops", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="short runs: 4 demo loops, 60 frames per video pass, 3 stream minutes")
    args = parser.parse_args()
    if args.quick:
        args.loops, args.minutes, args.real_loops, args.person_frames = 4, 3, 2, 3
    print(f"machine: {len(__import__('os').sched_getaffinity(0))} cores, {machine_load()}")
    print(gil_check(), flush=True)

    demo = args.data / "mmpose" / "demo" / "demo.mp4"
    sample = args.data / "openpose" / "video.avi"
    if not demo.is_file() or not sample.is_file():
        raise SystemExit(f"the demo videos are not in {args.data}: pass --data")
    limit = 60 if args.quick else None
    with tempfile.TemporaryDirectory() as tmp:
        # memory first, while the process holds nothing else
        print(f"\n== memory: {args.minutes}-minute 25 fps stream (cheap models, MSIM tracker, "
              f"JSON) ==")
        growth, peaks = stream_rss(args.minutes, 25, Path(tmp) / "stream.json")
        print(f"  rss_growth (minute {len(peaks)} / minute 1 - 1) = {growth:+.4f}; "
              f"min {min(peaks):.1f} MB, max {max(peaks):.1f} MB")
        real_growth, real_peaks = real_rss(sample, args.real_loops, args.threads, limit)
        print(f"  real models, video.avi x{args.real_loops}: peak RSS per loop "
              f"{[round(p, 1) for p in real_peaks]} MB, growth {real_growth:+.4f}", flush=True)

        print("\n== videos: --sp vs concurrent (embedded default, decoded as read, JSON "
              "written) ==")
        headline = None
        for label, path, loops in (("demo.mp4", demo, args.loops), ("video.avi", sample, 1)):
            def frames(path=path, loops=loops):
                return video_loops(path, loops, limit)

            single, multi, one = compare(frames, label, args.threads, out_dir=Path(tmp),
                                         workers=(args.workers, 1))
            print(f"  {single.line()}\n  {multi.line()}\n  {one.line()}")
            print(f"  -> speedup {multi.fps / single.fps:.2f}x ({one.fps / single.fps:.2f}x "
                  f"with 1 worker)", flush=True)
            headline = (multi, single)

        print("\n== cost per person (GT boxes of tiled COCO people, detect_every=1) ==")
        for sp, workers in ((True, 1), (False, 1), (False, args.workers)):
            print(f" {'--sp' if sp else 'concurrent'}, {workers or 'default'} estimator "
                  f"worker(s):")
            costs = cost_per_person(args.data, args.person_frames, args.threads, sp, workers)
            base = costs[1][0]
            print("  per-person time / 1-person figure: " + ", ".join(
                f"{n} people {c[0] / base:.2f}" for n, c in costs.items()), flush=True)
    multi, single = headline
    print(f"fps={multi.fps:.2f} efficiency={multi.efficiency:.2f} "
          f"speedup_vs_sp={multi.fps / single.fps:.2f} rss_growth={growth:+.4f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
