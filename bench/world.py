"""3D body keypoints (``--world``) on the shared images: bone lengths in metres, left / right
agreement with the 2D result, and whether the world landmarks need the crop's rotation undone.

Runs the embedded pipeline (``--mode``, default balanced; hands and face off: they do not change
the body) with ``world=True`` on the shared images that show whole people (``mmpose/coco``,
``openpose``, ``openpifpaf/coco``, ``alphapose``). For every *confident* person (shoulders,
elbows, hips and knees all with score >= 0.5) it checks the bones the issue names against human
ranges: upper arms 0.2-0.4 m, thighs 0.3-0.6 m, shoulder width 0.25-0.5 m (a person passes when
all five do), and whether the 3D left-minus-right vectors of shoulders and hips point the same
way in the image plane as the 2D ones (cosine > 0). It also measures, over every body the
estimator keeps, the cosine between the hip-centred 2D landmarks and the world landmarks'
``(x, y)`` with the crop rotation undone and without.

Last line: ``bones_ok=... people=... lr_agree=... median_upper_arm=... median_thigh=...
median_shoulders=... cos_image_axes=... cos_crop_axes=...``.

Usage: ``.venv/bin/python bench/world.py [--data ../shared/data] [--mode balanced]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from alphapose.estimators.blaze import BlazeWholeBody
from alphapose.estimators.body_extras import bone_lengths, world_to_image_axes
from alphapose.modes import build_detector, estimator_config
from alphapose.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("mmpose/coco", "openpose", "openpifpaf/coco", "alphapose")
RANGES = {"left_upper_arm": (0.2, 0.4), "right_upper_arm": (0.2, 0.4), "left_thigh": (0.3, 0.6),
          "right_thigh": (0.3, 0.6), "shoulders": (0.25, 0.5)}
#: COCO-17 indices of the joints the bones join (shoulders, elbows, hips, knees)
JOINTS = [5, 6, 7, 8, 11, 12, 13, 14]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--mode", default="balanced")
    args = parser.parse_args()
    paths = [p for folder in FOLDERS for p in sorted((args.data / folder).glob("*.jp*g"))]
    if not paths:
        sys.exit(f"bench/world.py: no images under {args.data} (pass --data PATH/TO/shared/data)")
    detector, name = build_detector(args.mode)
    config = estimator_config(args.mode, hands=False, face=False, world=True)
    estimator = BlazeWholeBody(config if name == "blaze" else config.for_detector_boxes())
    pipeline = Pipeline(detector, estimator, mode=args.mode, sp=True)
    passed, agree, lengths = [], [], {bone: [] for bone in RANGES}
    cosines: dict[str, list[float]] = {"image": [], "crop": []}
    for path in tqdm(paths, desc="images"):
        image = cv2.imread(str(path))
        # the rotation question, on the bodies the estimator keeps
        for person in estimator.find_people(image, pipeline._detect(image, None)).result():
            body = person.body
            centred = body.points[:33] - (body.points[23] + body.points[24]) / 2
            for frame, rotation in (("image", body.rect.rotation), ("crop", 0.0)):
                xy = world_to_image_axes(body.world, rotation)[:33, :2]
                cosines[frame].append(float((centred * xy).sum() / np.linalg.norm(centred)
                                            / np.linalg.norm(xy)))
        poses = pipeline.predict(image)
        if not len(poses):
            continue
        bones = bone_lengths(poses.keypoints_3d, poses.layout)
        for i in range(len(poses)):
            if poses.keypoint_scores[i, JOINTS].min() < 0.5:
                continue
            ok = True
            for bone, (low, high) in RANGES.items():
                lengths[bone].append(float(bones[bone][i]))
                ok &= bool(low <= bones[bone][i] <= high)
            passed.append(ok)
            for left, right in ((5, 6), (11, 12)):
                flat = poses.keypoints[i, left] - poses.keypoints[i, right]
                deep = poses.keypoints_3d[i, left, :2] - poses.keypoints_3d[i, right, :2]
                agree.append(bool(np.dot(flat, deep) > 0))
    arm = np.median(lengths["left_upper_arm"] + lengths["right_upper_arm"])
    thigh = np.median(lengths["left_thigh"] + lengths["right_thigh"])
    for bone, values in lengths.items():
        low, high = RANGES[bone]
        inside = np.mean([(low <= v <= high) for v in values])
        print(f"{bone:16s} median {np.median(values):.3f} m, in [{low}, {high}] for "
              f"{inside:.0%} of {len(values)}")
    print(f"bones_ok={np.mean(passed):.3f} people={len(passed)} lr_agree={np.mean(agree):.3f} "
          f"median_upper_arm={arm:.3f} median_thigh={thigh:.3f} "
          f"median_shoulders={np.median(lengths['shoulders']):.3f} "
          f"cos_image_axes={np.mean(cosines['image']):.4f} "
          f"cos_crop_axes={np.mean(cosines['crop']):.4f}")


if __name__ == "__main__":
    main()
