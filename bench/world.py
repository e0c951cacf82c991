"""3D body keypoints (``--world``) on the shared images: bone lengths in metres, left / right
agreement with the 2D result, how the world landmarks are decoded, and (``--mediapipe``) the
same bones from the reference MediaPipe Pose on the same people.

Runs the embedded pipeline (``--mode``, default balanced; hands and face off: they do not change
the body) with ``world=True`` on the shared images that show whole people (``mmpose/coco``,
``openpose``, ``openpifpaf/coco``, ``alphapose``).

*Confidently detected* (the people ``bones_ok`` counts): COCO's "large" people (box area >=
96 x 96 px) whose eight bone joints (shoulders, elbows, hips, knees) all score >= 0.5 (the
visibility threshold used everywhere else). ``bones_ok_any_size`` drops the size condition.
A person passes when all five bones the issue names are in its human ranges: upper arms
0.2-0.4 m, thighs 0.3-0.6 m, shoulder width 0.25-0.5 m. The estimator runs with
``world_height=0`` (the body model's own metres); the bench scales the same keypoints with
:func:`~alphapose.estimators.body_extras.scale_to_height` to the default height (1.70 m:
``bones_ok``, what ``--world`` outputs), to 1.6 and 1.8 m, and keeps the model's scale
(``bones_ok_model_scale``). Left / right: the 3D left-minus-right
vectors of shoulders and hips point the same way in the image plane as the 2D ones (cosine > 0).

Decoding checks, over every body the estimator keeps: the cosine between the hip-centred 2D
landmarks and the world landmarks' ``(x, y)`` with the crop rotation undone and without
(``cos_image_axes``, ``cos_crop_axes``), and ``xy_aspect``, the median ratio of the
pixels-per-metre scales that map the world ``y`` and ``x`` onto the 2D ones (1 = the world
``(x, y)`` is the 2D skeleton at one scale, no axis squeezed).

Crop scale: the full body model again on each kept body's crop (side >= 150 px, the eight
bone joints visible >= 0.5) made 0.8, 1.25 and 1.5 times as large: the median upper arm,
thigh and shoulder width of the world landmarks per scale (the model's metric scale follows
how much of the crop the person fills). On the same crops, the lite, full and heavy models'
median left / right upper arm and thigh (heavy's are lopsided).

Where bones fail: per bone, how many are below / above the range, and the thighs' median length
when they lie across the image (``|dz| / length < 0.5``) versus when they point at the camera
(people sitting, facing the camera).

``--mediapipe``: MediaPipe Pose (``mediapipe==0.10.14``, ``model_complexity=1``, static images;
in the bench venv of ``bench/vs_mediapipe.py``, never the project's ``.venv``, run through
``bench/pose_world_worker.py``) on a crop of each confident person (the box plus a quarter of
its size per side); its ``pose_world_landmarks`` give the same five bones. Prints MediaPipe's
pass rate on the people it finds and the median ratio ours / MediaPipe per bone.

Last line: ``bones_ok=... bones_ok_model_scale=... people=... bones_ok_any_size=... people_any_size=... lr_agree=...
median_upper_arm=... median_thigh=... median_shoulders=... cos_image_axes=... cos_crop_axes=...
xy_aspect=...`` (then ``mediapipe_bones_ok=... mediapipe_people=...
ratio_upper_arm=... ratio_thigh=... ratio_shoulders=...`` with ``--mediapipe``).

Usage: ``.venv/bin/python bench/world.py [--data ../shared/data] [--mode balanced]
[--mediapipe]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from alphapose.estimators.blaze import BlazeWholeBody
from alphapose.estimators.blaze_body import BlazeBody
from alphapose.estimators.body_extras import (
    WORLD_HEIGHT,
    bone_lengths,
    scale_to_height,
    world_to_image_axes,
)
from alphapose.modes import build_detector, estimator_config
from alphapose.pipeline import Pipeline
from alphapose.transforms import RotatedRect

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("mmpose/coco", "openpose", "openpifpaf/coco", "alphapose")
RANGES = {"left_upper_arm": (0.2, 0.4), "right_upper_arm": (0.2, 0.4), "left_thigh": (0.3, 0.6),
          "right_thigh": (0.3, 0.6), "shoulders": (0.25, 0.5)}
#: COCO-17 indices of the joints the bones join (shoulders, elbows, hips, knees)
JOINTS = [5, 6, 7, 8, 11, 12, 13, 14]
#: COCO's "large" objects: box area >= 96^2 px
LARGE_AREA = 96.0 ** 2
#: BlazePose-33 indices of each bone's ends (MediaPipe's world landmarks)
BLAZE_BONES = {"left_upper_arm": (11, 13), "right_upper_arm": (12, 14), "left_thigh": (23, 25),
               "right_thigh": (24, 26), "shoulders": (11, 12)}
#: BlazePose-33 shoulders, elbows, hips, knees
BLAZE_JOINTS = [11, 12, 13, 14, 23, 24, 25, 26]
#: upper arms, thighs, shoulder width (both sides averaged)
BLAZE_GROUPS = (((11, 13), (12, 14)), ((23, 25), (24, 26)), ((11, 12),))
#: left / right upper arm, left / right thigh
SIDES = ((11, 13), (12, 14), (23, 25), (24, 26))
#: heights the bones are also measured at (0: the body model's own metres)
HEIGHTS = (0, 1.6, 1.8)
#: crop sizes tried, relative to the kept crop
CROP_SCALES = (0.8, 1.0, 1.25, 1.5)
COCO_BONES = {"left_upper_arm": (5, 7), "right_upper_arm": (6, 8), "left_thigh": (11, 13),
              "right_thigh": (12, 14), "shoulders": (5, 6)}


#: the bones of both sides pooled for the medians
GROUPS = {"upper_arm": ("left_upper_arm", "right_upper_arm"), "thigh": ("left_thigh", "right_thigh"),
          "shoulders": ("shoulders",)}


def median(people: list[dict], bones: tuple[str, ...]) -> float:
    """Median length of ``bones`` over ``people`` (both sides pooled)."""
    return float(np.median([p["bones"][bone] for p in people for bone in bones]))


def in_ranges(bones: dict[str, float]) -> bool:
    """All five bones in the issue's human ranges."""
    return all(low <= bones[bone] <= high for bone, (low, high) in RANGES.items())


def xy_scales(points_2d: np.ndarray, world_xy: np.ndarray) -> tuple[float, float]:
    """Least-squares pixels-per-metre along x and along y that map hip-centred world ``(x, y)``
    (image axes) onto hip-centred 2D points (COCO-17: hips 11, 12)."""
    a = points_2d - (points_2d[11] + points_2d[12]) / 2
    w = world_xy - (world_xy[11] + world_xy[12]) / 2
    return (float((a[:, 0] * w[:, 0]).sum() / (w[:, 0] ** 2).sum()),
            float((a[:, 1] * w[:, 1]).sum() / (w[:, 1] ** 2).sum()))


def person_crop(image: np.ndarray, xyxy: np.ndarray, margin: float = 0.25) -> np.ndarray:
    """The box plus ``margin`` of its size per side, cut at the image's edges."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = xyxy.tolist()
    pad_x, pad_y = (x2 - x1) * margin, (y2 - y1) * margin
    return np.ascontiguousarray(image[max(int(y1 - pad_y), 0):min(int(y2 + pad_y) + 1, height),
                                      max(int(x1 - pad_x), 0):min(int(x2 + pad_x) + 1, width)])


def mediapipe_bones(crops: list[np.ndarray], venv: Path) -> list[dict[str, float] | None]:
    """The five bones from MediaPipe Pose's world landmarks on each crop (None: no pose)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from vs_mediapipe import bench_venv

    python = bench_venv(venv)
    work = Path(tempfile.mkdtemp(prefix="alphapose-world-"))
    np.savez(work / "crops.npz", **{f"crop_{n}": crop for n, crop in enumerate(crops)})
    done = subprocess.run([str(python), str(ROOT / "bench" / "pose_world_worker.py"),
                           str(work / "crops.npz"), str(work / "out.json")],
                          check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench/world.py: the MediaPipe worker failed:\n{done.stderr[-2000:]}")
    out = []
    for world in json.loads((work / "out.json").read_text())["people"]:
        if world is None:
            out.append(None)
            continue
        world = np.asarray(world, np.float64)
        out.append({bone: float(np.linalg.norm(world[a] - world[b]))
                    for bone, (a, b) in BLAZE_BONES.items()})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--mode", default="balanced")
    parser.add_argument("--mediapipe", action="store_true",
                        help="also MediaPipe Pose's world landmarks on the confident people")
    parser.add_argument("--venv", type=Path, default=ROOT / "out" / "bench-venvs" / "mediapipe")
    args = parser.parse_args()
    paths = [p for folder in FOLDERS for p in sorted((args.data / folder).glob("*.jp*g"))]
    if not paths:
        sys.exit(f"bench/world.py: no images under {args.data} (pass --data PATH/TO/shared/data)")
    detector, name = build_detector(args.mode)
    # the model's own metres; the default scaling (and others) applied here to the same people
    config = estimator_config(args.mode, hands=False, face=False, world=True, world_height=0)
    estimator = BlazeWholeBody(config if name == "blaze" else config.for_detector_boxes())
    pipeline = Pipeline(detector, estimator, mode=args.mode)
    people: list[dict] = []   # every person whose eight joints score >= 0.5
    agree: list[bool] = []
    crops: list[np.ndarray] = []
    cosines: dict[str, list[float]] = {"image": [], "crop": []}
    aspects: list[float] = []
    body_models = {name: BlazeBody(model=name, world=True) for name in ("lite", "full", "heavy")}
    by_scale: dict[float, list[list[float]]] = {scale: [] for scale in CROP_SCALES}
    by_model: dict[str, list[list[float]]] = {name: [] for name in body_models}
    for path in tqdm(paths, desc="images"):
        image = cv2.imread(str(path))
        # the decoding checks, on the bodies the estimator keeps
        for person in estimator.find_people(image, detector(pipeline.model_image(image))).result():
            body = person.body
            centred = body.points[:33] - (body.points[23] + body.points[24]) / 2
            for frame, rotation in (("image", body.rect.rotation), ("crop", 0.0)):
                xy = world_to_image_axes(body.world, rotation)[:33, :2]
                cosines[frame].append(float((centred * xy).sum() / np.linalg.norm(centred)
                                            / np.linalg.norm(xy)))
            rect = body.rect
            if rect.height >= 150 and body.visibility[BLAZE_JOINTS].min() >= 0.5:
                for scale in CROP_SCALES:
                    world = body_models["full"](image, RotatedRect(
                        rect.cx, rect.cy, rect.width * scale, rect.height * scale,
                        rect.rotation)).world
                    by_scale[scale].append([float(np.mean([np.linalg.norm(world[a] - world[b])
                                                           for a, b in pairs]))
                                            for pairs in BLAZE_GROUPS])
                for model_name, model in body_models.items():
                    world = model(image, rect).world
                    by_model[model_name].append([float(np.linalg.norm(world[a] - world[b]))
                                                 for a, b in SIDES])
        poses = pipeline.predict(image)
        if not len(poses):
            continue
        # what --world outputs (the default height), scaled once for every person
        default_3d = scale_to_height(poses.keypoints_3d, WORLD_HEIGHT)
        bones = bone_lengths(default_3d, poses.layout)
        scaled = {height: bone_lengths(scale_to_height(poses.keypoints_3d, height), poses.layout)
                  for height in HEIGHTS}
        for i in range(len(poses)):
            if poses.keypoint_scores[i, JOINTS].min() < 0.5:
                continue
            x1, y1, x2, y2 = poses.xyxy[i].tolist()
            points_3d = default_3d[i, :17].astype(np.float64)
            sx, sy = xy_scales(poses.keypoints[i, :17].astype(np.float64), points_3d[:, :2])
            aspects.append(sy / sx)
            depth = {bone: abs(points_3d[a, 2] - points_3d[b, 2]) / float(bones[bone][i])
                     for bone, (a, b) in COCO_BONES.items()}
            large = (x2 - x1) * (y2 - y1) >= LARGE_AREA
            people.append({"bones": {bone: float(bones[bone][i]) for bone in RANGES},
                           "scaled": {height: {bone: float(lengths[bone][i]) for bone in RANGES}
                                      for height, lengths in scaled.items()},
                           "depth": depth, "large": large})
            if large:
                crops.append(person_crop(image, poses.xyxy[i]))
            for left, right in ((5, 6), (11, 12)):
                flat = poses.keypoints[i, left] - poses.keypoints[i, right]
                deep = poses.keypoints_3d[i, left, :2] - poses.keypoints_3d[i, right, :2]
                agree.append(bool(np.dot(flat, deep) > 0))
    confident = [p for p in people if p["large"]]
    print(f"confident people (box area >= 96^2 px, 8 bone joints score >= 0.5): "
          f"{len(confident)} of {len(people)} with the joints")
    for bone, (low, high) in RANGES.items():
        values = np.array([p["bones"][bone] for p in confident])
        print(f"{bone:16s} median {np.median(values):.3f} m, in [{low}, {high}] for "
              f"{np.mean((values >= low) & (values <= high)):.0%} of {len(values)} "
              f"({(values < low).sum()} below, {(values > high).sum()} above)")
    for height in HEIGHTS:
        print(f"scaled to {height or 'the model'}{' m' if height else ''}: all five bones in "
              f"range for {np.mean([in_ranges(p['scaled'][height]) for p in confident]):.3f} "
              f"of the confident people, {np.mean([in_ranges(p['scaled'][height]) for p in people]):.3f} "
              f"of all")
    for side in ("left_thigh", "right_thigh"):
        across = [p["bones"][side] for p in confident if p["depth"][side] < 0.5]
        toward = [p["bones"][side] for p in confident if p["depth"][side] >= 0.5]
        print(f"{side:16s} across the image {np.median(across):.3f} m ({len(across)}), "
              f"pointing at the camera {np.median(toward) if toward else float('nan'):.3f} m "
              f"({len(toward)})")
    for scale, rows in by_scale.items():
        arm, thigh, shoulders = np.median(np.array(rows), axis=0)
        print(f"crop x {scale:<4} (the model on {len(rows)} kept bodies): median upper arm "
              f"{arm:.3f} m, thigh {thigh:.3f} m, shoulders {shoulders:.3f} m")
    for model_name, rows in by_model.items():
        left_arm, right_arm, left_thigh, right_thigh = np.median(np.array(rows), axis=0)
        print(f"{model_name:5s} model on the kept crops ({len(rows)}): median upper arm left / right "
              f"{left_arm:.3f} / {right_arm:.3f} m, thigh {left_thigh:.3f} / {right_thigh:.3f} m")
    figures = {
        "bones_ok": f"{np.mean([in_ranges(p['bones']) for p in confident]):.3f}",
        "bones_ok_model_scale": f"{np.mean([in_ranges(p['scaled'][0]) for p in confident]):.3f}",
        "people": str(len(confident)),
        "bones_ok_any_size": f"{np.mean([in_ranges(p['bones']) for p in people]):.3f}",
        "people_any_size": str(len(people)),
        "lr_agree": f"{np.mean(agree):.3f}",
        **{f"median_{group}": f"{median(confident, bones):.3f}" for group, bones in GROUPS.items()},
        "cos_image_axes": f"{np.mean(cosines['image']):.4f}",
        "cos_crop_axes": f"{np.mean(cosines['crop']):.4f}",
        "xy_aspect": f"{np.median(aspects):.3f}",
    }
    if args.mediapipe:
        theirs = mediapipe_bones(crops, args.venv)
        # the body model's own metres against MediaPipe's (the same model)
        pairs = [(p["scaled"][0], t) for p, t in zip(confident, theirs, strict=True)
                 if t is not None]
        ratio = {group: float(np.median([ours[b] / ref[b] for ours, ref in pairs for b in bones]))
                 for group, bones in GROUPS.items()}
        print(f"MediaPipe Pose found {len(pairs)} of the {len(crops)} confident people; on "
              f"them ours (the model's metres) pass {np.mean([in_ranges(o) for o, _ in pairs]):.3f}, MediaPipe "
              f"{np.mean([in_ranges(t) for _, t in pairs]):.3f}")
        figures.update({"mediapipe_bones_ok": f"{np.mean([in_ranges(t) for _, t in pairs]):.3f}",
                        "mediapipe_people": str(len(pairs)),
                        **{f"ratio_{group}": f"{value:.3f}" for group, value in ratio.items()}})
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
