"""COCO-style keypoint AP / AR per body part, for every keypoint layout.

This is the evaluation behind ``alphapose eval`` (the paper's Tables 2 and 3): AP and AR over
OKS thresholds 0.50:0.05:0.95 with the layout's OKS sigmas, computed by pycocotools' ``COCOeval``
once per *part* (``body``, ``foot``, ``face``, ``hand``, ``whole``; each a set of keypoint
indices of the layout, :func:`evaluation_parts`).

For one part, the ground truth and the results are cut to that part's keypoints, the part's
``num_keypoints`` is recounted (people with no labelled point in the part are ignored for it)
and the part's sigmas are used; the OKS scale is the annotated area. Which results take part
differs between the reference tools, so it is a setting (``drop_empty``):

* ``"none"``: every result counts (pycocotools; the default for COCO-17, where the figures equal
  pycocotools' own).
* ``"part"``: a result whose keypoint scores are all 0 *within the part* is left out of that
  part (xtcocotools' whole-body protocol; the default for COCO-WholeBody-133, whose figures
  equal xtcocotools' ``keypoints_body`` ... ``keypoints_wholebody``).
* ``"pose"``: a result whose keypoint scores are all 0 over the whole pose is left out of every
  part (halpecocotools, which produced the Halpe-FullBody figures; the default for Halpe-136
  and Halpe-26). Halpe's parts follow halpecocotools: body = the first 20 points (COCO-17 + head,
  neck, hip), foot 6, face 68, hand 42 (both hands together). One known difference:
  halpecocotools does not ignore ``iscrowd`` people, pycocotools (used here) does.

Ground truth: a COCO keypoints dict whose annotations hold ``3 K`` values in ``keypoints``
(COCO, Halpe, the flattened COCO-WholeBody), or COCO-WholeBody's split fields (``keypoints`` 17
+ ``foot_kpts`` + ``face_kpts`` + ``lefthand_kpts`` + ``righthand_kpts``, joined into 133).
Results: COCO results (``image_id`` int) or the AlphaPose results list (``image_id`` the image
file name, matched to the ground truth's ``file_name``), or the AlphaPose "forvis" dict
``{image name: [{"keypoints", "score"}, ...]}``.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alphapose.skeletons import Layout, get_layout

__all__ = [
    "DROP_EMPTY_RULES",
    "EVAL_PARTS",
    "STAT_NAMES",
    "GroundTruth",
    "KeypointEvaluator",
    "default_drop_empty",
    "evaluate_keypoints",
    "evaluation_parts",
    "format_report",
    "load_ground_truth",
    "load_results",
    "read_results_file",
    "result_entries",
]

#: the parts reported by default, in the order of the paper's tables
EVAL_PARTS: tuple[str, ...] = ("whole", "body", "foot", "face", "hand")
#: which results take part in a part's evaluation (see the module docstring)
DROP_EMPTY_RULES: tuple[str, ...] = ("none", "part", "pose")
#: the figures of one part, in pycocotools' ``stats`` order
STAT_NAMES: tuple[str, ...] = ("AP", "AP50", "AP75", "APm", "APl",
                               "AR", "AR50", "AR75", "ARm", "ARl")

# Layout inferred from the number of keypoints per ground-truth person.
_LAYOUT_BY_COUNT = {17: "coco17", 26: "halpe26", 133: "coco_wholebody133", 136: "halpe136"}
# COCO-WholeBody's split annotation fields, in 133-keypoint order, with their sizes.
_WHOLEBODY_FIELDS = (("keypoints", 17), ("foot_kpts", 6), ("face_kpts", 68),
                     ("lefthand_kpts", 21), ("righthand_kpts", 21))


def default_drop_empty(layout: str | Layout) -> str:
    """The reference tool's rule for a layout: ``"none"``, ``"part"`` or ``"pose"``.

    Example:
        >>> default_drop_empty("coco_wholebody133"), default_drop_empty("halpe136")
        ('part', 'pose')
    """
    name = get_layout(layout).name
    return {"coco17": "none", "coco_wholebody133": "part"}.get(name, "pose")


def evaluation_parts(layout: str | Layout,
                     parts: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Keypoint indices of each evaluated part of a layout.

    Args:
        layout: layout name, alias or :class:`~alphapose.skeletons.Layout`.
        parts: part names to return; by default those of :data:`EVAL_PARTS` the layout has
            (COCO-17: ``whole`` and ``body``, which are the same points). Also accepted:
            ``"left_hand"``, ``"right_hand"``.

    Returns:
        ``{part: (P,) int64 indices}``; ``whole`` is every keypoint.

    Raises:
        ValueError: a requested part is unknown or has no keypoints in the layout.

    Example:
        >>> {k: len(v) for k, v in evaluation_parts("halpe136").items()}
        {'whole': 136, 'body': 20, 'foot': 6, 'face': 68, 'hand': 42}
    """
    lay = get_layout(layout)
    available = {"whole": np.arange(lay.num_keypoints, dtype=np.int64)}
    for name in ("body", "foot", "face", "hand", "left_hand", "right_hand"):
        index = np.asarray(lay.parts.get(name, ()), np.int64)
        if index.size:
            available[name] = np.sort(index)
    if parts is None:
        return {p: available[p] for p in EVAL_PARTS if p in available}
    out = {}
    for part in parts:
        if part not in available:
            raise ValueError(f"part {part!r}: not a part of layout {lay.name!r}; its parts are "
                             f"{', '.join(available)}")
        out[part] = available[part]
    return out


# ------------------------------------------------------------------------------------------------
# Reading ground truth and results
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroundTruth:
    """A keypoint annotation set, normalised for evaluation.

    Attributes:
        data: COCO dict; every annotation's ``keypoints`` holds ``3 K`` values in layout order,
            ``num_keypoints`` is recounted and ``area`` / ``iscrowd`` / ``category_id`` exist.
        layout: the keypoint layout.
        name: where it came from (a path, or ``"<dict>"``), for messages.
    """

    data: dict
    layout: Layout
    name: str = "<dict>"
    _ids_by_name: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def image_ids(self) -> list[int]:
        """The ids of all annotated images."""
        return [int(image["id"]) for image in self.data["images"]]

    def image_id(self, value: Any) -> int | None:
        """The image id a result's ``image_id`` refers to, or ``None`` when it names no image.

        Ints must be ids of the ground truth; strings are matched to ``file_name`` (also by
        base name, with or without extension), then read as an integer id (``"785"``, or
        ``"000000000785.jpg"`` by the official ``--eval`` rule).
        """
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, np.integer)) or (isinstance(value, float)
                                                    and float(value).is_integer()):
            number = int(value)
            return number if str(number) in self._ids_by_name else None
        if not isinstance(value, str):
            return None
        text = value.strip()
        for key in (text, re.split(r"[\\/]", text)[-1], Path(re.split(r"[\\/]", text)[-1]).stem):
            if "name:" + key in self._ids_by_name:
                return self._ids_by_name["name:" + key]
        token = Path(re.split(r"[\\/]", text)[-1]).name.split(".")[0].split("_")[-1]
        if re.fullmatch(r"[0-9]+", token) and str(int(token)) in self._ids_by_name:
            return int(token)
        return None


def _read_json(path: str | Path, what: str) -> Any:
    """A JSON file read all the way (a file cut short is refused too: AP of part of the results
    would mislead)."""
    from alphapose.jsonfile import load_json

    return load_json(path, what)


def _annotation_keypoints(ann: dict, name: str) -> np.ndarray:
    """``(K, 3)`` keypoints of one annotation, joining COCO-WholeBody's split fields."""
    where = f"{name}: annotation {ann.get('id', '?')} (image {ann.get('image_id', '?')})"
    if "foot_kpts" in ann or "face_kpts" in ann or "lefthand_kpts" in ann:
        pieces = []
        for key, size in _WHOLEBODY_FIELDS:
            values = ann.get(key) or [0.0] * (3 * size)
            if not isinstance(values, list) or len(values) != 3 * size:
                count = len(values) if isinstance(values, list) else type(values).__name__
                raise ValueError(f"{where}: '{key}' has {count} values, expected "
                                 f"{3 * size} ({size} keypoints x 3)")
            pieces.append(values)
        values = [v for piece in pieces for v in piece]
    else:
        values = ann.get("keypoints")
        if values is None:
            raise ValueError(f"{where}: no 'keypoints' (a keypoint annotation file is needed)")
    try:
        array = np.asarray(values, np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: 'keypoints' must be numbers ({error})") from error
    if array.ndim != 1 or array.size % 3 or array.size == 0:
        raise ValueError(f"{where}: 'keypoints' must be a flat list of x, y, v triples, got "
                         f"{array.size} values")
    return array.reshape(-1, 3)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def _check_annotation(ann: dict, label: str) -> None:
    """Ground truth is checked as strictly as results: a finite ``bbox`` [x, y, w, h] with
    non-negative sizes (pycocotools reads it for every person), a finite non-negative ``area``
    (the OKS scale; a negative one would change AP), ``iscrowd`` 0 or 1, finite keypoints with
    visibility >= 0, an integer ``category_id``."""
    where = f"{label}: annotation {ann.get('id', '?')!r:.40} (image {ann.get('image_id')!r:.40})"
    box = ann.get("bbox")
    if not isinstance(box, list) or len(box) != 4 or not all(_is_number(v) for v in box):
        raise ValueError(f"{where}: 'bbox' must be 4 finite numbers [x, y, w, h], got "
                         f"{box!r:.80}")
    if box[2] < 0 or box[3] < 0:
        raise ValueError(f"{where}: 'bbox' has a negative width or height: {box}")
    if "area" in ann and not (_is_number(ann["area"]) and ann["area"] >= 0):
        raise ValueError(f"{where}: 'area' must be a finite number >= 0 (the OKS scale), got "
                         f"{ann['area']!r:.60}")
    if ann.get("iscrowd", 0) not in (0, 1) or isinstance(ann.get("iscrowd"), float):
        raise ValueError(f"{where}: 'iscrowd' must be 0 or 1, got {ann.get('iscrowd')!r:.60}")
    category = ann.get("category_id", 1)
    if isinstance(category, bool) or not isinstance(category, int):
        raise ValueError(f"{where}: 'category_id' must be an integer, got {category!r:.60}")
    if "id" in ann and (isinstance(ann["id"], bool) or not isinstance(ann["id"], int)):
        raise ValueError(f"{where}: 'id' must be an integer, got {ann['id']!r:.60}")
    kp = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
    if not np.all(np.isfinite(kp)):
        raise ValueError(f"{where}: 'keypoints' holds NaN or infinite values")
    if np.any(kp[:, 2] < 0):
        raise ValueError(f"{where}: keypoint visibility must be >= 0, got "
                         f"{kp[:, 2].min():g}")


def load_ground_truth(source: str | Path | Mapping, layout: str | Layout | None = None,
                      name: str | None = None) -> GroundTruth:
    """Read and check a keypoint annotation file (COCO, Halpe or COCO-WholeBody).

    Args:
        source: path of the JSON file, or the already-loaded dict (not modified).
        layout: the keypoint layout; inferred from the keypoints per person when ``None``
            (17 COCO-17, 26 Halpe-26, 133 COCO-WholeBody, 136 Halpe-136).
        name: how to call the source in messages (default: the path).

    Returns:
        The normalised :class:`GroundTruth`.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not JSON, not a COCO keypoint dict, or people with a keypoint count other
            than the layout's; the message names the file and the annotation.
    """
    if isinstance(source, Mapping):
        raw, label = source, name or "<dict>"
    else:
        raw, label = _read_json(source, "annotation"), name or str(source)
    if not isinstance(raw, Mapping) or not isinstance(raw.get("images"), list) \
            or not isinstance(raw.get("annotations"), list):
        message = f"{label}: expected a COCO annotation dict with 'images' and 'annotations' lists"
        raise ValueError(message)
    images = []
    ids_by_name: dict[str, int] = {}
    for i, image in enumerate(raw["images"]):
        if not isinstance(image, Mapping) or "id" not in image:
            raise ValueError(f"{label}: images[{i}] has no 'id'")
        if isinstance(image["id"], bool) or not isinstance(image["id"], int):
            raise ValueError(f"{label}: images[{i}]: 'id' must be an integer, got "
                             f"{image['id']!r:.60}")
        if "file_name" in image and not isinstance(image["file_name"], str):
            raise ValueError(f"{label}: images[{i}]: 'file_name' must be a string, got "
                             f"{image['file_name']!r:.60}")
        images.append(dict(image))
        ids_by_name[str(int(image["id"]))] = int(image["id"])
        file_name = image.get("file_name")
        if isinstance(file_name, str) and file_name:
            base = re.split(r"[\\/]", file_name)[-1]
            for key in (file_name, base, Path(base).stem):
                ids_by_name.setdefault("name:" + key, int(image["id"]))

    annotations = []
    counts: set[int] = set()
    for ann in raw["annotations"]:
        if not isinstance(ann, Mapping):
            raise ValueError(f"{label}: every annotation must be a dict")
        kp = _annotation_keypoints(dict(ann), label)
        counts.add(kp.shape[0])
        entry = {k: v for k, v in ann.items()
                 if k not in ("foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts",
                              "segmentation")}
        if str(entry.get("image_id")) not in ids_by_name \
                or isinstance(entry.get("image_id"), (str, bool)):
            raise ValueError(f"{label}: annotation {ann.get('id', '?')} refers to image "
                             f"{ann.get('image_id')!r}, which is not in 'images'")
        entry["keypoints"] = kp.ravel().tolist()
        _check_annotation(entry, label)
        if "area" not in entry:
            entry["area"] = float(entry["bbox"][2]) * float(entry["bbox"][3])
        entry.setdefault("iscrowd", 0)
        entry.setdefault("category_id", 1)
        entry["num_keypoints"] = int((kp[:, 2] > 0).sum())
        annotations.append(entry)
    for i, entry in enumerate(annotations):
        entry.setdefault("id", i + 1)

    if layout is None:
        if len(counts) > 1:
            raise ValueError(f"{label}: people have different keypoint counts "
                             f"{sorted(counts)}; pass the layout")
        count = counts.pop() if counts else 17
        if count not in _LAYOUT_BY_COUNT:
            raise ValueError(f"{label}: {count} keypoints per person matches no layout "
                             f"(17 coco17, 26 halpe26, 133 coco_wholebody133, 136 halpe136)")
        lay = get_layout(_LAYOUT_BY_COUNT[count])
    else:
        lay = get_layout(layout)
        wrong = counts - {lay.num_keypoints}
        if wrong:
            raise ValueError(f"{label}: people have {min(wrong)} keypoints but layout "
                             f"{lay.name!r} has {lay.num_keypoints}")
    categories = raw.get("categories") or [{"id": 1, "name": "person"}]
    if not isinstance(categories, list) or not all(
            isinstance(c, Mapping) and isinstance(c.get("id"), int)
            and not isinstance(c.get("id"), bool) for c in categories):
        raise ValueError(f"{label}: 'categories' must be a list of objects with an integer 'id'")
    data = {"images": images, "annotations": annotations,
            "categories": [dict(c) for c in categories]}
    return GroundTruth(data, lay, label, ids_by_name)


def result_entries(raw: Any, label: str) -> list:
    """The flat list of result entries of a loaded results file (list, or "forvis" dict).

    Raises:
        ValueError: neither a list nor a dict of image name -> list of people.
    """
    if isinstance(raw, Mapping):  # "forvis": image name -> people
        entries = []
        for image, people in raw.items():
            if not isinstance(people, list):
                kind = type(people).__name__
                message = f"{label}: expected a list of people for image {image!r}, got {kind}"
                raise ValueError(message)
            entries.extend(dict(p, image_id=image) if isinstance(p, Mapping) else p
                           for p in people)
        return entries
    if isinstance(raw, list):
        return raw
    raise ValueError(f"{label}: expected a JSON list of results (or a dict of image name -> "
                     f"people), got {type(raw).__name__}")


def read_results_file(path: str | Path) -> list:
    """The result entries of a results JSON file (:func:`result_entries`).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, or not a results list / dict.
    """
    return result_entries(_read_json(path, "results"), str(path))


def load_results(source: str | Path | Sequence | Mapping, gt: GroundTruth,
                 name: str | None = None) -> list[dict]:
    """Read keypoint results and match them to the ground truth's images.

    Args:
        source: path of a results JSON, or the loaded list / dict. Accepted: COCO results
            (``image_id`` int), the AlphaPose results list (``image_id`` a file name; ``box``,
            ``idx`` are ignored), or the AlphaPose "forvis" dict ``{image name: [person]}``.
        gt: the ground truth the results are for.
        name: how to call the source in messages (default: the path).

    Returns:
        Normalised results ``{"image_id": int, "category_id": 1, "keypoints": [3 K floats],
        "score": float}`` in input order. Results of another layout (17, 26, 133 or 136
        keypoints, e.g. Halpe-136 results against COCO-WholeBody ground truth) are converted by
        keypoint name (:func:`alphapose.skeletons.convert`), which one warning line says; they
        are refused when the ground truth has points their layout lacks.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not JSON, a result with a keypoint count other than the layout's, without
            a score, with non-finite values, or for an image the ground truth does not have; the
            message names the file, the result and the problem.
    """
    if isinstance(source, (str, Path)):
        raw, label = _read_json(source, "results"), name or str(source)
    else:
        raw, label = source, name or "<results>"
    entries = result_entries(raw, label)
    k = gt.layout.num_keypoints
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            message = f"{label}: result {i} is a {type(entry).__name__}, not a dict"
            raise ValueError(message)
        where = f"{label}: result {i} (image_id {entry.get('image_id')!r:.60})"
        if "image_id" not in entry:
            raise ValueError(f"{label}: result {i} has no 'image_id'")
        image_id = gt.image_id(entry["image_id"])
        if image_id is None:
            raise ValueError(f"{where}: no such image in {gt.name} (matched against its image "
                             f"ids and file names)")
        values = entry.get("keypoints")
        try:
            kp = np.asarray(values, np.float64)
        except (TypeError, ValueError, OverflowError) as error:
            raise ValueError(f"{where}: 'keypoints' must be numbers ({error})") from error
        if values is None or kp.ndim != 1 or (kp.size != 3 * k and not (
                kp.size % 3 == 0 and kp.size // 3 in _LAYOUT_BY_COUNT)):
            got = "none" if values is None else f"{kp.size} values"
            raise ValueError(f"{where}: 'keypoints' has {got}; layout {gt.layout.name!r} "
                             f"needs {k} keypoints ({3 * k} values: x, y, score each), or those "
                             f"of another layout to convert by name (17, 26, 133 or 136)")
        score = entry.get("score", entry.get("scores"))
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise ValueError(f"{where}: needs a numeric 'score', got {score!r:.60}")
        if not np.all(np.isfinite(kp)) or not math.isfinite(score):
            raise ValueError(f"{where}: keypoints and score must be finite numbers")
        category = entry.get("category_id", 1)
        if isinstance(category, bool) or not isinstance(category, int):
            raise ValueError(f"{where}: 'category_id' must be an integer, got {category!r:.60}")
        out.append({"image_id": image_id, "category_id": category,
                    "keypoints": kp.tolist(), "score": float(score)})
    _convert_results(out, gt.layout, label)
    return out


def _convert_results(results: list[dict], layout: Layout, label: str) -> None:
    """Re-express, in place, results of another layout in ``layout`` by keypoint name
    (:func:`alphapose.skeletons.convert`), saying so on one line; refused when ``layout`` has
    points the results' layout neither has nor derives (they would count as missed)."""
    import logging

    from alphapose.skeletons import convert

    k = layout.num_keypoints
    groups: dict[int, list[int]] = {}
    for i, res in enumerate(results):
        count = len(res["keypoints"]) // 3
        if count != k:
            groups.setdefault(count, []).append(i)
    for count, members in sorted(groups.items()):
        source = get_layout(_LAYOUT_BY_COUNT[count])
        names = set(source.keypoint_names)
        derivable = {"neck": ("left_shoulder", "right_shoulder"), "hip": ("left_hip", "right_hip")}
        lacking = [n for n in layout.keypoint_names if n not in names
                   and not set(derivable.get(n, ("?",))) <= names]
        if lacking:
            shown = ", ".join(lacking[:6]) + (f", ... ({len(lacking)} in all)"
                                               if len(lacking) > 6 else "")
            raise ValueError(f"{label}: result {members[0]}: 'keypoints' has {3 * count} values "
                             f"= {count} keypoints, i.e. layout {source.name}; layout "
                             f"{layout.name!r} needs {k}, and {source.name} cannot be converted "
                             f"to it by name: it lacks {shown}")
        triples = np.array([results[i]["keypoints"] for i in members]).reshape(-1, count, 3)
        kp, sc = convert(triples[..., :2], triples[..., 2], source, layout)
        converted = np.concatenate([kp, sc[..., None]], -1).reshape(len(members), -1)
        for i, row in zip(members, converted):
            results[i]["keypoints"] = row.tolist()
        dropped = [n for n in source.keypoint_names if n not in set(layout.keypoint_names)]
        logging.getLogger("alphapose").warning(
            "%s: %d result(s) in layout %s converted to the ground truth's %s by keypoint name%s",
            label, len(members), source.name, layout.name,
            f" ({', '.join(dropped[:6])}{', ...' if len(dropped) > 6 else ''} left out)"
            if dropped else "")


# ------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------


def _pycocotools():
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as error:
        raise ImportError("evaluation needs pycocotools: pip install 'alphapose[eval]'") from error
    return COCO, COCOeval


class KeypointEvaluator:
    """AP / AR per part of results against one ground truth, prepared once for many calls.

    Args:
        gt: the ground truth (:func:`load_ground_truth`).
        parts: part names (:func:`evaluation_parts`); default: all of :data:`EVAL_PARTS` the
            layout has.
        drop_empty: ``"none"``, ``"part"`` or ``"pose"`` (module docstring); default: the
            reference tool's rule for the layout (:func:`default_drop_empty`).
        sigmas: ``(K,)`` OKS sigmas; default the layout's.

    Example::

        gt = load_ground_truth("test_halpe.json")
        evaluator = KeypointEvaluator(gt)
        report = evaluator(load_results("alphapose-results.json", gt))
        print(report["whole"]["AP"], report["hand"]["AR"])
    """

    def __init__(self, gt: GroundTruth, parts: Sequence[str] | None = None,
                 drop_empty: str | None = None, sigmas: np.ndarray | None = None) -> None:
        if not isinstance(gt, GroundTruth):
            raise TypeError(f"gt: expected GroundTruth, got {type(gt).__name__}")
        self.gt = gt
        self.parts = evaluation_parts(gt.layout, parts)
        self.drop_empty = default_drop_empty(gt.layout) if drop_empty is None else drop_empty
        if self.drop_empty not in DROP_EMPTY_RULES:
            raise ValueError(f"drop_empty: expected one of {', '.join(DROP_EMPTY_RULES)}, got "
                             f"{self.drop_empty!r}")
        k = gt.layout.num_keypoints
        self.sigmas = gt.layout.sigmas if sigmas is None else np.asarray(sigmas, np.float64)
        if self.sigmas.shape != (k,):
            raise ValueError(f"sigmas: expected shape ({k},), got {self.sigmas.shape}")
        COCO, _ = _pycocotools()
        self._cocos = {}
        with contextlib.redirect_stdout(io.StringIO()):
            for part, index in self.parts.items():
                data = {"images": [dict(im) for im in gt.data["images"]],
                        "categories": [dict(c) for c in gt.data["categories"]],
                        "annotations": []}
                for ann in gt.data["annotations"]:
                    kp = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)[index]
                    data["annotations"].append(dict(ann, keypoints=kp.ravel().tolist(),
                                                    num_keypoints=int((kp[:, 2] > 0).sum())))
                coco = COCO()
                coco.dataset = data
                coco.createIndex()
                self._cocos[part] = coco

    def __call__(self, results: Sequence[dict]) -> dict[str, dict[str, float]]:
        """Evaluate normalised results (:func:`load_results`, or COCO results with int ids).

        Args:
            results: results with ``3 K`` keypoint values each.

        Returns:
            ``{part: {stat: value}}`` with :data:`STAT_NAMES`; all 0 for a part without
            results.
        """
        _, COCOeval = _pycocotools()
        k = self.gt.layout.num_keypoints
        arrays = []
        for i, res in enumerate(results):
            kp = np.asarray(res["keypoints"], np.float64)
            if kp.size != 3 * k:
                raise ValueError(f"results[{i}]: {kp.size // 3} keypoints, layout "
                                 f"{self.gt.layout.name!r} needs {k}")
            arrays.append(kp.reshape(k, 3))
        report: dict[str, dict[str, float]] = {}
        for part, index in self.parts.items():
            part_results = []
            for res, kp in zip(results, arrays):
                if self.drop_empty == "part" and not (kp[index, 2] > 0).any():
                    continue
                if self.drop_empty == "pose" and not (kp[:, 2] > 0).any():
                    continue
                part_results.append({"image_id": res["image_id"],
                                     "category_id": res.get("category_id", 1),
                                     "keypoints": kp[index].ravel().tolist(),
                                     "score": float(res["score"])})
            if not part_results:
                report[part] = dict.fromkeys(STAT_NAMES, 0.0)
                continue
            coco = self._cocos[part]
            with contextlib.redirect_stdout(io.StringIO()):
                dt = coco.loadRes(part_results)
                evaluator = COCOeval(coco, dt, "keypoints")
                evaluator.params.kpt_oks_sigmas = self.sigmas[index]
                evaluator.evaluate()
                evaluator.accumulate()
                evaluator.summarize()
            report[part] = {n: float(v) for n, v in zip(STAT_NAMES, evaluator.stats)}
        return report


def evaluate_keypoints(gt: GroundTruth | str | Path | Mapping,
                       results: str | Path | Sequence | Mapping,
                       layout: str | Layout | None = None, parts: Sequence[str] | None = None,
                       drop_empty: str | None = None) -> dict[str, dict[str, float]]:
    """AP / AR per part of results (file or list) against ground truth (file or dict).

    Args:
        gt: ground truth (:func:`load_ground_truth` input or its output).
        results: results (:func:`load_results` input).
        layout: keypoint layout; inferred from the ground truth when ``None``.
        parts: parts to evaluate (default: those of :data:`EVAL_PARTS` the layout has).
        drop_empty: which results take part (module docstring); default per layout.

    Returns:
        ``{part: {"AP", "AP50", "AP75", "APm", "APl", "AR", ...}}``.

    Example::

        report = evaluate_keypoints("test_halpe.json", "alphapose-results.json")
        print(format_report(report))
    """
    truth = gt if isinstance(gt, GroundTruth) else load_ground_truth(gt, layout)
    if layout is not None and get_layout(layout).name != truth.layout.name:
        raise ValueError(f"{truth.name}: layout {truth.layout.name!r}, but "
                         f"{get_layout(layout).name!r} was asked for")
    return KeypointEvaluator(truth, parts, drop_empty)(load_results(results, truth))


def format_report(report: Mapping[str, Mapping[str, float]], title: str = "") -> str:
    """A text table of :func:`evaluate_keypoints` output: one row per part.

    Example::

        part        AP   AP50   AP75    APm    APl     AR
        whole    0.512  0.803  0.498  0.431  0.560  0.571
    """
    columns = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75")
    lines = [title] if title else []
    lines.append(f"{'part':<11s}" + "".join(f"{c:>7s}" for c in columns))
    for part, stats in report.items():
        lines.append(f"{part:<11s}" + "".join(f"{stats[c]:7.3f}" for c in columns))
    return "\n".join(lines)
