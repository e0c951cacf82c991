"""MediaPipe Pose world landmarks on person crops; run by ``bench/world.py --mediapipe`` with the
bench venv's Python (``mediapipe==0.10.14``), never with the project's.

Imports only ``mediapipe`` and ``numpy`` (the project is not installed in that venv). MediaPipe
Pose runs in static-image mode with ``model_complexity=1`` (the full landmark model, the one the
balanced mode keeps).

Usage::

    python pose_world_worker.py CROPS.npz OUT.json

``CROPS.npz``: arrays ``crop_0``, ``crop_1``, ... of ``(H, W, 3)`` uint8 BGR. OUT.json:
``{"people": [[[x, y, z], ...] | null, ...]}``: per crop the 33 ``pose_world_landmarks`` in
metres, ``null`` when MediaPipe finds no pose.
"""

from __future__ import annotations

import json
import sys

import numpy as np


def main(crops_path: str, out_path: str) -> None:
    import mediapipe as mp

    crops = np.load(crops_path, allow_pickle=False)
    people = []
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        for n in range(len(crops.files)):
            image = crops[f"crop_{n}"]
            result = pose.process(np.ascontiguousarray(image[:, :, ::-1]))
            world = result.pose_world_landmarks
            people.append(None if world is None
                          else [[p.x, p.y, p.z] for p in world.landmark])
    with open(out_path, "w") as out:
        json.dump({"people": people}, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
