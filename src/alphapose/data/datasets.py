"""Training datasets read into one sample type: one :class:`Sample` per annotated person (or face,
or hand), its keypoints written into a *target* layout by canonical keypoint name.

Readers (all COCO-style JSON unless noted; official ``alphapose/datasets/*``):

* :func:`load_coco_keypoints` -- COCO keypoints (17 body points).
* :func:`load_halpe` -- Halpe-FullBody (136 points in one ``keypoints`` array).
* :func:`load_coco_wholebody` -- COCO-WholeBody (``keypoints`` + ``foot_kpts`` + ``face_kpts`` +
  ``lefthand_kpts`` + ``righthand_kpts`` = 133 points).
* :func:`load_posetrack` -- PoseTrack18 (17 points in PoseTrack order, with ``track_id``).
* :func:`load_300w` -- 300-W faces (68 iBUG landmarks), :func:`load_dlib_faces` -- the same
  68-point scheme in dlib's imglab XML.
* :func:`load_hands` -- FreiHAND / OneHand10K (21 hand points; which hand slot they fill is a
  parameter: the target layouts have a left and a right hand).

Conversion into the target layout is by name: a point the source does not annotate gets
``annotated = False`` (and zero position/visibility), so training puts no loss on it. Unlike
:func:`alphapose.skeletons.convert` nothing is derived (no neck from the shoulders): a derived
point is not a label. Two consequences worth knowing:

* COCO-WholeBody feet are written into the Halpe-136 foot slots by name. The official
  multi-domain dataset (``alphapose/datasets/halpe_coco_wholebody_136.py``) copies them in
  COCO-WholeBody order, which puts e.g. the left small toe into Halpe's right-big-toe slot;
  that looks like an upstream slip and is not copied.
* PoseTrack's ``head_top`` fills Halpe's ``head``; ``head_bottom`` (upper neck) has no
  counterpart in any layout here and is dropped; its ears are placeholders (never labelled).

Visibility (the third keypoint value) is the official per-joint weight (official
``alphapose/datasets/*``): COCO and PoseTrack ``min(1, v)``; Halpe, COCO-WholeBody and the part
datasets ``v >= 0.35`` (their annotations carry fractional confidences), each as 0.0 / 1.0.

Filters (official): category ``person`` only (the part datasets use their single category), no
crowd annotations, no annotation without a visible keypoint, no box of non-positive area.

No torch here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any
from xml.etree import ElementTree

import numpy as np

from alphapose.skeletons import Layout, get_layout

__all__ = [
    "COCO17_NAMES",
    "DATASET_FORMATS",
    "FACE68_NAMES",
    "HAND21_NAMES",
    "POSETRACK_NAMES",
    "WHOLEBODY_PART_KEYS",
    "Sample",
    "load_300w",
    "load_coco_keypoints",
    "load_coco_wholebody",
    "load_dataset",
    "load_dlib_faces",
    "load_halpe",
    "load_hands",
    "load_posetrack",
    "names_to_layout",
]

COCO17_NAMES: tuple[str, ...] = get_layout("coco17").keypoint_names
#: PoseTrack18 keypoint order (``head_bottom`` is the upper neck; ears are never labelled).
POSETRACK_NAMES: tuple[str, ...] = (
    "nose", "head_bottom", "head", "left_ear", "right_ear", *COCO17_NAMES[5:])
FACE68_NAMES: tuple[str, ...] = tuple(f"face_{i}" for i in range(68))
HAND21_NAMES: tuple[str, ...] = tuple(f"hand_{i}" for i in range(21))
#: COCO-WholeBody annotation keys, in the 133-point order, with their canonical names.
WHOLEBODY_PART_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("keypoints", COCO17_NAMES),
    ("foot_kpts", get_layout("coco_wholebody133").keypoint_names[17:23]),
    ("face_kpts", FACE68_NAMES),
    ("lefthand_kpts", tuple(f"left_hand_{i}" for i in range(21))),
    ("righthand_kpts", tuple(f"right_hand_{i}" for i in range(21))),
)
_PART_BOX_KEYS = {"face": "face_box", "left_hand": "lefthand_box", "right_hand": "righthand_box"}


@dataclass(frozen=True, eq=False)
class Sample:
    """One training instance: an image, a box and keypoints in a target layout.

    Attributes:
        image_path: the image file.
        box: ``(4,)`` float32 xyxy box of the instance in image pixels (a person, or for the
            part datasets the face or hand).
        keypoints: ``(K, 3)`` float32 ``(x, y, v)`` in the target layout, ``v`` in {0, 1}
            (1 = labelled and usable as a target).
        annotated: ``(K,)`` bool, the points this sample's *domain* annotates (a face dataset
            annotates the 68 face points only). ``v`` is 0 wherever ``annotated`` is False.
        layout: target layout name.
        domain: dataset family (``"coco"``, ``"halpe"``, ``"coco_wholebody"``, ``"posetrack"``,
            ``"300w"``, ``"dlib_faces"``, ``"freihand"``, ...).
        part: what ``box`` surrounds: ``"body"`` (a person), ``"face"``, ``"left_hand"`` or
            ``"right_hand"`` -- the part-guided proposal generator's part.
        image_id: the annotation file's image id.
        ann_id: the annotation id (-1 when the source has none).
        track_id: PoseTrack track id, else -1.
        image_size: ``(width, height)`` from the annotation (0, 0 if unknown).
        part_boxes: tight part boxes the annotation gives (COCO-WholeBody ``face_box`` ...),
            part -> ``(4,)`` xyxy.
    """

    image_path: Path
    box: np.ndarray
    keypoints: np.ndarray
    annotated: np.ndarray
    layout: str
    domain: str
    part: str = "body"
    image_id: int = -1
    ann_id: int = -1
    track_id: int = -1
    image_size: tuple[int, int] = (0, 0)
    part_boxes: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        k = get_layout(self.layout).num_keypoints
        kp = np.asarray(self.keypoints, np.float32)
        if kp.shape != (k, 3):
            raise ValueError(f"Sample.keypoints: expected shape ({k}, 3) for layout "
                             f"{self.layout!r}, got {kp.shape}")
        ann = np.asarray(self.annotated, bool)
        if ann.shape != (k,):
            raise ValueError(f"Sample.annotated: expected shape ({k},), got {ann.shape}")
        box = np.asarray(self.box, np.float32).reshape(-1)
        if box.shape != (4,):
            raise ValueError(f"Sample.box: expected 4 values xyxy, got {box.shape[0]}")
        object.__setattr__(self, "keypoints", kp)
        object.__setattr__(self, "annotated", ann)
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "image_path", Path(self.image_path))
        object.__setattr__(self, "part_boxes", MappingProxyType(dict(self.part_boxes)))

    @property
    def weights(self) -> np.ndarray:
        """``(K,)`` float32 loss weights: annotated by the domain and labelled here."""
        return (self.annotated & (self.keypoints[:, 2] > 0)).astype(np.float32)

    @property
    def num_visible(self) -> int:
        """Number of usable keypoints."""
        return int(self.weights.sum())


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------

def names_to_layout(names: Sequence[str], layout: str | Layout) -> tuple[np.ndarray, np.ndarray]:
    """Where each source point goes in ``layout``.

    Args:
        names: the source's canonical keypoint names, in source order.
        layout: target layout.

    Returns:
        ``(src_index, dst_index)`` int64 arrays: source point ``src_index[i]`` fills target slot
        ``dst_index[i]``; source names the layout lacks are left out.
    """
    target = get_layout(layout)
    lookup = {n: i for i, n in enumerate(target.keypoint_names)}
    pairs = [(i, lookup[n]) for i, n in enumerate(names) if n in lookup]
    index = np.array(pairs, np.int64).reshape(-1, 2)
    return index[:, 0], index[:, 1]


def _read_json(path: str | PathLike[str], what: str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: annotation file not found: {path}")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or "annotations" not in data or "images" not in data:
        raise ValueError(f"{what}: {path} is not a COCO-style file (needs 'images' and "
                         f"'annotations')")
    return data


def _triples(values: Any, count: int, where: str) -> np.ndarray:
    if values is None:
        return np.zeros((count, 3), np.float64)
    array = np.asarray(values, np.float64).reshape(-1)
    if array.size != 3 * count:
        raise ValueError(f"{where}: expected {count} (x, y, v) triples, got {array.size} values")
    return array.reshape(count, 3)


def _visibility(v: np.ndarray, threshold: float | None) -> np.ndarray:
    """Official per-joint weights: ``min(1, v)`` (threshold None) or ``v >= threshold``."""
    if threshold is None:
        return np.minimum(1.0, np.maximum(v, 0.0))
    return (v >= threshold).astype(np.float64)


def _xywh_to_xyxy(bbox: Sequence[float], size: tuple[int, int]) -> np.ndarray:
    x, y, w, h = (float(v) for v in bbox)
    x1, y1, x2, y2 = x, y, x + w, y + h
    width, height = size
    if width > 0 and height > 0:
        x1, x2 = np.clip([x1, x2], 0, width - 1)
        y1, y2 = np.clip([y1, y2], 0, height - 1)
    return np.array([x1, y1, x2, y2], np.float32)


def _build(points: np.ndarray, names: Sequence[str], layout: str | Layout,
           threshold: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Source ``(n, 3)`` points -> target ``(K, 3)`` keypoints and ``(K,)`` annotated mask."""
    target = get_layout(layout)
    src, dst = names_to_layout(names, target)
    out = np.zeros((target.num_keypoints, 3), np.float32)
    annotated = np.zeros(target.num_keypoints, bool)
    vis = _visibility(points[:, 2], threshold)
    out[dst, :2] = points[src, :2]
    out[dst, 2] = vis[src]
    out[out[:, 2] <= 0, :2] = 0.0
    annotated[dst] = True
    return out, annotated


def _coco_records(data: dict[str, Any], image_dir: Path, what: str,
                  person_only: bool = True):
    images = {img["id"]: img for img in data["images"]}
    person_ids = {c["id"] for c in data.get("categories", []) if c.get("name") == "person"}
    for ann in data["annotations"]:
        if person_only and person_ids and ann.get("category_id") not in person_ids:
            continue
        if ann.get("iscrowd"):
            continue
        img = images.get(ann["image_id"])
        if img is None:
            raise ValueError(f"{what}: annotation {ann.get('id')} refers to unknown image "
                             f"{ann['image_id']}")
        size = (int(img.get("width", 0)), int(img.get("height", 0)))
        yield ann, image_dir / img["file_name"], size


def _keep(box: np.ndarray, keypoints: np.ndarray, annotated: np.ndarray) -> bool:
    if box[2] <= box[0] or box[3] <= box[1]:
        return False
    return bool((annotated & (keypoints[:, 2] > 0)).any())


def _image_dir(ann_file: str | PathLike[str], image_dir: str | PathLike[str] | None) -> Path:
    return Path(image_dir) if image_dir is not None else Path(ann_file).resolve().parent


# ------------------------------------------------------------------------------------------------
# Readers
# ------------------------------------------------------------------------------------------------

def load_coco_keypoints(ann_file: str | PathLike[str], image_dir: str | PathLike[str] | None = None,
                        layout: str | Layout = "coco17", domain: str = "coco") -> list[Sample]:
    """COCO keypoints JSON (17 points per person).

    Args:
        ann_file: e.g. ``person_keypoints_val2017.json``.
        image_dir: folder the ``file_name`` entries are relative to (default: the JSON's folder).
        layout: target layout.
        domain: the samples' domain label.

    Returns:
        One sample per person with at least one visible keypoint.
    """
    data = _read_json(ann_file, "load_coco_keypoints")
    root = _image_dir(ann_file, image_dir)
    out = []
    for ann, path, size in _coco_records(data, root, "load_coco_keypoints"):
        if not ann.get("num_keypoints", 1):
            continue
        pts = _triples(ann.get("keypoints"), 17, f"annotation {ann.get('id')} keypoints")
        kp, annotated = _build(pts, COCO17_NAMES, layout, None)
        box = _xywh_to_xyxy(ann["bbox"], size)
        if _keep(box, kp, annotated):
            out.append(Sample(path, box, kp, annotated, get_layout(layout).name, domain,
                              image_id=int(ann["image_id"]), ann_id=int(ann.get("id", -1)),
                              image_size=size))
    return out


def load_halpe(ann_file: str | PathLike[str], image_dir: str | PathLike[str] | None = None,
               layout: str | Layout = "halpe136", domain: str = "halpe") -> list[Sample]:
    """Halpe-FullBody JSON (136 points per person; visibility ``v >= 0.35``)."""
    data = _read_json(ann_file, "load_halpe")
    root = _image_dir(ann_file, image_dir)
    names = get_layout("halpe136").keypoint_names
    out = []
    for ann, path, size in _coco_records(data, root, "load_halpe"):
        pts = _triples(ann.get("keypoints"), 136, f"annotation {ann.get('id')} keypoints")
        kp, annotated = _build(pts, names, layout, 0.35)
        box = _xywh_to_xyxy(ann["bbox"], size)
        if _keep(box, kp, annotated):
            out.append(Sample(path, box, kp, annotated, get_layout(layout).name, domain,
                              image_id=int(ann["image_id"]), ann_id=int(ann.get("id", -1)),
                              image_size=size))
    return out


def load_coco_wholebody(ann_file: str | PathLike[str],
                        image_dir: str | PathLike[str] | None = None,
                        layout: str | Layout = "coco_wholebody133",
                        domain: str = "coco_wholebody") -> list[Sample]:
    """COCO-WholeBody JSON (body + feet + face + hands = 133 points; ``v >= 0.35``).

    The tight ``face_box`` / ``lefthand_box`` / ``righthand_box`` of valid parts are kept in
    :attr:`Sample.part_boxes` (for the part-guided proposal generator's statistics).
    """
    data = _read_json(ann_file, "load_coco_wholebody")
    root = _image_dir(ann_file, image_dir)
    names = [n for _, part_names in WHOLEBODY_PART_KEYS for n in part_names]
    out = []
    for ann, path, size in _coco_records(data, root, "load_coco_wholebody"):
        pts = np.concatenate([_triples(ann.get(key), len(part_names),
                                       f"annotation {ann.get('id')} {key}")
                              for key, part_names in WHOLEBODY_PART_KEYS])
        kp, annotated = _build(pts, names, layout, 0.35)
        box = _xywh_to_xyxy(ann["bbox"], size)
        part_boxes = {}
        for part, key in _PART_BOX_KEYS.items():
            valid = ann.get(f"{part.replace('_', '')}_valid", ann.get(f"{part}_valid", False))
            if valid and key in ann and ann[key][2] > 0 and ann[key][3] > 0:
                part_boxes[part] = _xywh_to_xyxy(ann[key], size)
        if _keep(box, kp, annotated):
            out.append(Sample(path, box, kp, annotated, get_layout(layout).name, domain,
                              image_id=int(ann["image_id"]), ann_id=int(ann.get("id", -1)),
                              image_size=size, part_boxes=part_boxes))
    return out


def load_posetrack(ann_file: str | PathLike[str], image_dir: str | PathLike[str] | None = None,
                   layout: str | Layout = "coco17", domain: str = "posetrack") -> list[Sample]:
    """PoseTrack18 JSON (17 points in PoseTrack order, ``track_id`` per person).

    Args:
        ann_file: e.g. ``annotations/val/<sequence>.json``.
        image_dir: folder the ``images/val/...`` file names are relative to (default: the parent
            of the folder holding ``annotations/``, i.e. the PoseTrack root, found by walking up
            from the JSON to the folder that contains ``annotations``).
        layout: target layout (COCO-17 gets nose, ears, shoulders...; no eyes).
        domain: the samples' domain label.
    """
    data = _read_json(ann_file, "load_posetrack")
    if image_dir is None:
        root = Path(ann_file).resolve().parent
        while root.name != "annotations" and root.parent != root:
            root = root.parent
        root = root.parent if root.name == "annotations" else Path(ann_file).resolve().parent
    else:
        root = Path(image_dir)
    out = []
    for ann, path, size in _coco_records(data, root, "load_posetrack"):
        pts = _triples(ann.get("keypoints"), 17, f"annotation {ann.get('id')} keypoints")
        kp, annotated = _build(pts, POSETRACK_NAMES, layout, None)
        if "bbox" in ann:
            box = _xywh_to_xyxy(ann["bbox"], size)
        else:  # PoseTrack files without boxes: the extent of the labelled points
            vis = kp[:, 2] > 0
            box = (np.concatenate([kp[vis, :2].min(0), kp[vis, :2].max(0)]) if vis.any()
                   else np.zeros(4, np.float32))
        if _keep(box, kp, annotated):
            out.append(Sample(path, box, kp, annotated, get_layout(layout).name, domain,
                              image_id=int(ann["image_id"]), ann_id=int(ann.get("id", -1)),
                              track_id=int(ann.get("track_id", -1)), image_size=size))
    return out


def load_300w(ann_file: str | PathLike[str], image_dir: str | PathLike[str] | None = None,
              layout: str | Layout = "halpe136", domain: str = "300w") -> list[Sample]:
    """300-W faces in COCO-style JSON (68 iBUG landmarks per face, all treated as labelled when
    ``v > 0``). The sample's box is the annotation's ``bbox`` (the face); ``part = "face"``."""
    data = _read_json(ann_file, "load_300w")
    root = _image_dir(ann_file, image_dir)
    out = []
    for ann, path, size in _coco_records(data, root, "load_300w", person_only=False):
        pts = _triples(ann.get("keypoints"), 68, f"annotation {ann.get('id')} keypoints")
        kp, annotated = _build(pts, FACE68_NAMES, layout, 0.35)
        box = _xywh_to_xyxy(ann["bbox"], size)
        if _keep(box, kp, annotated):
            out.append(Sample(path, box, kp, annotated, get_layout(layout).name, domain,
                              part="face", image_id=int(ann["image_id"]),
                              ann_id=int(ann.get("id", -1)), image_size=size))
    return out


def load_dlib_faces(xml_file: str | PathLike[str], image_dir: str | PathLike[str] | None = None,
                    layout: str | Layout = "halpe136", domain: str = "dlib_faces") -> list[Sample]:
    """Faces from a dlib imglab XML (``<image file>`` / ``<box top left width height>`` with 68
    ``<part name x y>``; the iBUG-68 scheme of 300-W). Every listed part counts as labelled."""
    path = Path(xml_file)
    if not path.is_file():
        raise FileNotFoundError(f"load_dlib_faces: XML file not found: {path}")
    root_dir = _image_dir(xml_file, image_dir)
    tree = ElementTree.parse(path)
    out = []
    for image_index, image in enumerate(tree.getroot().iter("image")):
        file = root_dir / image.attrib["file"]
        size = (int(image.attrib.get("width", 0)), int(image.attrib.get("height", 0)))
        for box_index, box_el in enumerate(image.iter("box")):
            pts = np.zeros((68, 3), np.float64)
            for part in box_el.iter("part"):
                k = int(part.attrib["name"])
                if not 0 <= k < 68:
                    raise ValueError(f"load_dlib_faces: part name {k} outside 0..67 in {path}")
                pts[k] = (float(part.attrib["x"]), float(part.attrib["y"]), 1.0)
            kp, annotated = _build(pts, FACE68_NAMES, layout, 0.35)
            top, left = float(box_el.attrib["top"]), float(box_el.attrib["left"])
            box = _xywh_to_xyxy([left, top, float(box_el.attrib["width"]),
                                 float(box_el.attrib["height"])], size)
            if _keep(box, kp, annotated):
                out.append(Sample(file, box, kp, annotated, get_layout(layout).name, domain,
                                  part="face", image_id=image_index, ann_id=box_index,
                                  image_size=size))
    return out


def load_hands(ann_file: str | PathLike[str], image_dir: str | PathLike[str] | None = None,
               layout: str | Layout = "halpe136", side: str = "right",
               domain: str = "freihand") -> list[Sample]:
    """Single-hand COCO-style JSON (FreiHAND, OneHand10K: 21 points, wrist then thumb .. pinky).

    Args:
        ann_file: the JSON file.
        image_dir: image folder (default: the JSON's folder).
        layout: target layout; its ``left_hand_*`` or ``right_hand_*`` slots receive the points.
        side: ``"right"`` or ``"left"``: the slot to fill (FreiHAND shows right hands; a flip
            augmentation moves the points to the other slot, as for any hand).
        domain: the samples' domain label (``"freihand"``, ``"onehand10k"``).
    """
    if side not in ("left", "right"):
        raise ValueError(f"side: expected 'left' or 'right', got {side!r}")
    data = _read_json(ann_file, "load_hands")
    root = _image_dir(ann_file, image_dir)
    names = tuple(f"{side}_hand_{i}" for i in range(21))
    out = []
    for ann, path, size in _coco_records(data, root, "load_hands", person_only=False):
        pts = _triples(ann.get("keypoints"), 21, f"annotation {ann.get('id')} keypoints")
        kp, annotated = _build(pts, names, layout, 0.35)
        box = _xywh_to_xyxy(ann["bbox"], size)
        if _keep(box, kp, annotated):
            out.append(Sample(path, box, kp, annotated, get_layout(layout).name, domain,
                              part=f"{side}_hand", image_id=int(ann["image_id"]),
                              ann_id=int(ann.get("id", -1)), image_size=size))
    return out


#: ``format`` names accepted by :func:`load_dataset`.
DATASET_FORMATS: tuple[str, ...] = ("coco", "halpe", "coco_wholebody", "posetrack", "300w",
                                    "dlib_faces", "freihand", "onehand10k")


def load_dataset(format: str, ann_file: str | PathLike[str],
                 image_dir: str | PathLike[str] | None = None,
                 layout: str | Layout = "halpe136", **options: Any) -> list[Sample]:
    """Read a dataset by format name (one of :data:`DATASET_FORMATS`).

    ``options`` go to the reader (e.g. ``side`` for hands, ``domain``).
    """
    readers = {"coco": load_coco_keypoints, "halpe": load_halpe,
               "coco_wholebody": load_coco_wholebody, "posetrack": load_posetrack,
               "300w": load_300w, "dlib_faces": load_dlib_faces}
    if format in readers:
        return readers[format](ann_file, image_dir, layout=layout, **options)
    if format in ("freihand", "onehand10k"):
        options.setdefault("domain", format)
        return load_hands(ann_file, image_dir, layout=layout, **options)
    raise ValueError(f"format: expected one of {DATASET_FORMATS}, got {format!r}")
