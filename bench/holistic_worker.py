"""MediaPipe Holistic on frames given as ``.npy`` / ``.npz`` files; run by ``bench/vs_mediapipe.py``
with the bench venv's Python (``mediapipe==0.10.14``), never with the project's.

Imports only ``mediapipe`` and ``numpy`` (the project is not installed in that venv).

Usage::

    python holistic_worker.py video FRAMES.npy OUT.json     # video mode, timed
    python holistic_worker.py images CROPS.npz OUT.json     # one image at a time (static mode)

``FRAMES.npy``: ``(N, H, W, 3)`` uint8 BGR. ``CROPS.npz``: arrays ``crop_0``, ``crop_1``, ... of
``(H, W, 3)`` uint8 BGR. OUT.json: ``{"seconds", "cpu_seconds", "frames", "found"}`` for video
(wall and process CPU seconds of the ``process`` loop, colour conversion included; ``found``:
frames with a pose) and, for images, ``{"people": [{"body", "face", "left_hand",
"right_hand"} | null, ...]}`` with points as ``[[x, y], ...]`` in image pixels (pixel centres at
integers; ``body`` has 33 BlazePose points plus their visibility as a third value), ``null`` for
a part not found.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def _points(landmarks, width: int, height: int, visibility: bool = False) -> list | None:
    if landmarks is None:
        return None
    # MediaPipe's normalised coordinates put the image's edges at 0 and 1: shift by half a
    # pixel to the pixel-centre convention of the project
    return [[p.x * width - 0.5, p.y * height - 0.5] + ([p.visibility] if visibility else [])
            for p in landmarks.landmark]


def holistic(static: bool):
    import mediapipe as mp

    return mp.solutions.holistic.Holistic(static_image_mode=static, model_complexity=1,
                                          smooth_landmarks=True, refine_face_landmarks=False)


def run_video(frames_path: str, out_path: str) -> None:
    frames = np.load(frames_path, mmap_mode="r", allow_pickle=False)
    model = holistic(static=False)
    model.process(np.ascontiguousarray(frames[0][:, :, ::-1]))  # graph start-up, not timed
    model.close()
    model = holistic(static=False)  # fresh tracking state for the timed run
    found = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for frame in frames:
        result = model.process(np.ascontiguousarray(frame[:, :, ::-1]))
        found += result.pose_landmarks is not None
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    model.close()
    with open(out_path, "w") as out:
        json.dump({"seconds": seconds, "cpu_seconds": cpu_seconds, "frames": len(frames),
                   "found": found}, out)


def run_images(crops_path: str, out_path: str) -> None:
    crops = np.load(crops_path, allow_pickle=False)
    model = holistic(static=True)
    people = []
    for n in range(len(crops.files)):
        image = crops[f"crop_{n}"]
        height, width = image.shape[:2]
        result = model.process(np.ascontiguousarray(image[:, :, ::-1]))
        if result.pose_landmarks is None:
            people.append(None)
            continue
        people.append({
            "body": _points(result.pose_landmarks, width, height, visibility=True),
            "face": _points(result.face_landmarks, width, height),
            "left_hand": _points(result.left_hand_landmarks, width, height),
            "right_hand": _points(result.right_hand_landmarks, width, height),
        })
    model.close()
    with open(out_path, "w") as out:
        json.dump({"people": people}, out)


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] not in ("video", "images"):
        sys.exit("usage: holistic_worker.py video|images FRAMES OUT.json")
    (run_video if sys.argv[1] == "video" else run_images)(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
