"""Precomputed person detections from a COCO-style JSON file (the official ``--detfile``).

Accepted forms:

* a COCO results list: ``[{"image_id": 785 | "000000000785.jpg", "bbox": [x, y, w, h],
  "score": 0.9, "category_id": 1}, ...]``;
* a COCO annotation file (dict with ``images`` and ``annotations``): the ground-truth boxes,
  score 1, useful to evaluate an estimator alone.

Boxes of other categories than 1 (person) are ignored. Images are matched by file name (the
frame name) or, failing that, by the integer id parsed from it (``000000000785.jpg`` -> 785).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from alphapose.structures import Detections
from alphapose.writers import image_id_from_name

__all__ = ["FileDetector"]


class FileDetector:
    """Detections read from a file instead of a detector.

    Args:
        path: the JSON file.
        min_score: drop boxes below this score.

    The pipeline calls it with the frame's name (``uses_frame_name``):
    ``detector(image, name="000000000785.jpg")``.
    """

    uses_frame_name = True

    def __init__(self, path: str | Path, min_score: float = 0.0) -> None:
        self.path = Path(path)
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise ValueError(f"detection file {self.path}: no such file") from None
        except json.JSONDecodeError as error:
            raise ValueError(f"detection file {self.path}: not valid JSON ({error})") from None
        names: dict[int, str] = {}
        if isinstance(data, dict) and "annotations" in data:
            names = {int(im["id"]): str(im["file_name"]) for im in data.get("images", [])}
            entries = [dict(a, score=1.0) for a in data["annotations"]]
        elif isinstance(data, list):
            entries = data
        else:
            raise ValueError(f"detection file {self.path}: expected a list of detections or a "
                             f"COCO annotation dict, got {type(data).__name__}")
        self._boxes: dict[str, list[tuple[list[float], float]]] = defaultdict(list)
        for n, entry in enumerate(entries):
            if int(entry.get("category_id", 1)) != 1:
                continue
            try:
                x, y, w, h = [float(v) for v in entry["bbox"]]
                score = float(entry.get("score", 1.0))
                key = entry["image_id"]
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"detection file {self.path}: entry {n} needs image_id, bbox "
                                 f"[x, y, w, h] and score, got {entry!r:.200}") from None
            if score < min_score:
                continue
            key = names.get(key, key) if isinstance(key, int) else key
            self._boxes[str(key)].append(([x, y, x + w, y + h], score))

    def lookup(self, name: str) -> Detections:
        """Detections of the image filed under ``name`` (file name, path, or integer id)."""
        found = self._boxes.get(name) or self._boxes.get(Path(name).name)
        if found is None:
            try:
                found = self._boxes.get(str(image_id_from_name(name)))
            except ValueError:
                found = None
        if not found:
            return Detections.empty()
        return Detections(np.array([b for b, _ in found], np.float32),
                          np.array([s for _, s in found], np.float32))

    def __call__(self, image: np.ndarray, name: str) -> Detections:
        return self.lookup(name)

    def __len__(self) -> int:
        return sum(len(v) for v in self._boxes.values())
