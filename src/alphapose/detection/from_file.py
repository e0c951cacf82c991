"""Precomputed person detections from a COCO-style JSON file (the official ``--detfile``).

Accepted forms:

* a COCO results list: ``[{"image_id": 785 | "000000000785.jpg", "bbox": [x, y, w, h],
  "score": 0.9, "category_id": 1}, ...]``; ``image_id`` and ``bbox`` are required, ``score``
  (default 1) and ``category_id`` (default 1) are optional;
* a COCO annotation file (dict with ``images`` and ``annotations``): the ground-truth boxes,
  score 1, useful to evaluate an estimator alone.

Boxes of other categories than 1 (person) are ignored. Images are matched by file name (the
frame name) or, failing that, by the integer id parsed from it (``000000000785.jpg`` -> 785).

A malformed file or entry (not JSON, no ``bbox`` of 4 numbers, ...) is refused with a
``ValueError`` naming the file and the entry. A box whose numbers are unusable (NaN, infinite,
zero or negative width or height, a NaN score) is dropped with one warning that names it; the
image's other boxes are kept. An input the file does not list is an input problem when the file
is an annotation file (it lists every image it covers); for a results list, where images without
detections are simply absent, it gets no people, and a warning names the file and the input
when no input so far was found in the file (the usual sign of a file for other images).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from alphapose.formats import image_id_from_name
from alphapose.structures import Detections

__all__ = ["FileDetector"]

LOG = logging.getLogger("alphapose")
_SHOWN = 3  # dropped boxes / unmatched inputs named in a message


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class FileDetector:
    """Detections read from a file instead of a detector.

    Args:
        path: the JSON file.
        min_score: drop boxes below this score.

    Attributes:
        dropped: ``(entry number, image, reason)`` of the boxes left out as unusable.
        matched: inputs looked up that the file lists.
        unmatched: the first inputs looked up that the file does not list (at most 5).

    The pipeline calls it with the frame's name (``uses_frame_name``):
    ``detector(image, name="000000000785.jpg")``.

    Raises:
        ValueError: no such file, not JSON, or a malformed entry (the message names the file and
            the entry, numbered from 1).
    """

    uses_frame_name = True

    def __init__(self, path: str | Path, min_score: float = 0.0) -> None:
        from alphapose.jsonfile import load_json

        self.path = Path(path)
        label = f"detection file {self.path}"
        try:
            data = load_json(self.path, "detection")
        except FileNotFoundError:
            raise ValueError(f"{label}: no such file") from None
        except ValueError as error:
            raise ValueError(f"detection file {error}") from None
        names: dict[int, str] = {}
        self._listed: set[str] | None = None  # every image the file covers (annotation form)
        if isinstance(data, dict) and "annotations" in data:
            images, annotations = data.get("images", []), data["annotations"]
            if not isinstance(images, list) or not isinstance(annotations, list):
                raise ValueError(f"{label}: 'images' and 'annotations' must be lists")
            for i, image in enumerate(images, 1):
                if not isinstance(image, dict) or isinstance(image.get("id"), bool) or \
                        not isinstance(image.get("id"), int) or \
                        not isinstance(image.get("file_name"), str):
                    raise ValueError(f"{label}: image {i} needs an integer 'id' and a "
                                     f"'file_name', got {image!r:.120}")
                names[image["id"]] = image["file_name"]
            self._listed = set(names.values()) | {str(k) for k in names}
            entries = [dict(a, score=1.0) if isinstance(a, dict) else a for a in annotations]
        elif isinstance(data, list):
            entries = data
        else:
            raise ValueError(f"{label}: expected a list of detections or a COCO annotation "
                             f"dict, got {type(data).__name__}")
        self.dropped: list[tuple[int, str, str]] = []
        self._boxes: dict[str, list[tuple[list[float], float]]] = defaultdict(list)
        for n, entry in enumerate(entries, 1):
            box, score, key = self._parse(entry, n, label)
            category = entry.get("category_id", 1)
            if not _number(category) or not float(category).is_integer():
                raise ValueError(f"{label}: entry {n}: 'category_id' must be an integer, got "
                                 f"{category!r:.60}")
            if int(category) != 1:
                continue
            key = names.get(key, key) if isinstance(key, int) else key
            x, y, w, h = box
            reason = None
            if not all(math.isfinite(v) for v in box):
                reason = "bbox is not finite"
            elif w <= 0 or h <= 0:
                reason = "bbox has no area (width or height <= 0)"
            elif not math.isfinite(score):
                reason = "score is not finite"
            if reason is not None:
                self.dropped.append((n, str(key), f"{reason}: {box}"))
                continue
            if score < min_score:
                continue
            self._boxes[str(key)].append(([x, y, x + w, y + h], score))
        if self.dropped:
            shown = "; ".join(f"entry {n} (image {key}): {why}"
                              for n, key, why in self.dropped[:_SHOWN])
            more = f"; and {len(self.dropped) - _SHOWN} more" if len(self.dropped) > _SHOWN else ""
            LOG.warning("%s: %d unusable box(es) left out, the other boxes of their images "
                        "kept: %s%s", label, len(self.dropped), shown, more)
        self.matched = 0
        self.unmatched: list[str] = []
        self._warned = False

    @staticmethod
    def _parse(entry: Any, n: int, label: str) -> tuple[list[float], float, int | str]:
        required = "entries need image_id and bbox [x, y, w, h]; score is optional (default 1)"
        if not isinstance(entry, dict):
            raise ValueError(f"{label}: entry {n} is a {type(entry).__name__}, not an object "
                             f"({required})")
        key, box, score = entry.get("image_id"), entry.get("bbox"), entry.get("score", 1.0)
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise ValueError(f"{label}: entry {n}: 'image_id' must be an integer or a file name, "
                             f"got {key!r:.60} ({required})")
        if not isinstance(box, list) or len(box) != 4 or not all(_number(v) for v in box):
            raise ValueError(f"{label}: entry {n}: 'bbox' must be [x, y, w, h] numbers, got "
                             f"{box!r:.80} ({required})")
        if not _number(score):
            raise ValueError(f"{label}: entry {n}: 'score' must be a number, got {score!r:.60} "
                             f"({required})")
        return [float(v) for v in box], float(score), key

    def _find(self, name: str) -> list[tuple[list[float], float]] | None:
        """The boxes filed under ``name`` (None when the file does not list it)."""
        keys = [name, Path(name).name]
        try:
            keys.append(str(image_id_from_name(name)))
        except ValueError:
            pass
        for key in keys:
            if key in self._boxes:
                return self._boxes[key]
        if self._listed is not None and any(key in self._listed for key in keys):
            return []
        return None

    def lookup(self, name: str) -> Detections:
        """Detections of the image filed under ``name`` (file name, path, or integer id).

        Raises:
            ValueError: the file is an annotation file that does not list this image.
        """
        found = self._find(name)
        if found is None:
            if len(self.unmatched) < 5:
                self.unmatched.append(name)
            if self._listed is not None:
                raise ValueError(f"detection file {self.path} does not list this image "
                                 f"(matched by file name or the integer in it)")
            if not self.matched and not self._warned:
                self._warned = True
                known = ", ".join(repr(k) for k in list(self._boxes)[:_SHOWN])
                LOG.warning("detection file %s: no boxes for input %r, and none so far for "
                            "any input: is it the file for these inputs? (it lists %d images, "
                            "e.g. %s; images are matched by file name or the integer in it). "
                            "Inputs it does not list get no people.", self.path, name,
                            len(self._boxes), known or "none")
        else:
            self.matched += 1
        if not found:
            return Detections.empty()
        return Detections(np.array([b for b, _ in found], np.float32),
                          np.array([s for _, s in found], np.float32))

    def __call__(self, image: np.ndarray, name: str) -> Detections:
        return self.lookup(name)

    def __len__(self) -> int:
        return sum(len(v) for v in self._boxes.values())
