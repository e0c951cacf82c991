"""The embedded default end to end on real pictures (models fetched from PyPI on first use)."""

from __future__ import annotations

import numpy as np
import pytest

from alphapose.skeletons import get_layout

pytestmark = pytest.mark.models

HALPE = get_layout("halpe136")

# Hand-checked regions of scikit-image's astronaut (512 x 512): (x1, y1, x2, y2)
ASTRONAUT_REGIONS = {
    "nose": (200, 105, 240, 145),
    "left_eye": (230, 90, 262, 120),     # the subject's left = image right
    "right_eye": (185, 85, 218, 115),
    "left_shoulder": (270, 200, 360, 290),
    "right_shoulder": (70, 180, 160, 270),
}
FACE_REGION = (165, 70, 285, 190)


def test_astronaut_found_with_face_and_shoulders(pipeline, astronaut_bgr) -> None:
    poses = pipeline.predict(astronaut_bgr)
    assert len(poses) == 1, f"expected one person, found {len(poses)}"
    assert poses.layout == "halpe136" and poses.keypoints.shape == (1, 136, 2)
    for name, (x1, y1, x2, y2) in ASTRONAUT_REGIONS.items():
        x, y = poses.keypoints[0, HALPE.index(name)]
        assert x1 <= x <= x2 and y1 <= y <= y2, f"{name} at ({x:.0f}, {y:.0f})"
        assert poses.keypoint_scores[0, HALPE.index(name)] > 0.5
    face = poses.keypoints[0, HALPE.parts["face"]]
    inside = ((face[:, 0] >= FACE_REGION[0]) & (face[:, 0] <= FACE_REGION[2])
              & (face[:, 1] >= FACE_REGION[1]) & (face[:, 1] <= FACE_REGION[3]))
    assert inside.all(), f"{(~inside).sum()} face points outside the face"
    scores = poses.keypoint_scores
    assert scores.min() >= 0 and scores.max() <= 1


def test_image_without_people_gives_no_poses(pipeline) -> None:
    rng = np.random.default_rng(0)
    sky = np.full((480, 640, 3), (235, 206, 135), np.uint8)  # plain sky blue
    sky = np.clip(sky + rng.normal(0, 3, sky.shape), 0, 255).astype(np.uint8)
    assert len(pipeline.predict(sky)) == 0


def test_predict_rejects_non_images(pipeline) -> None:
    with pytest.raises(ValueError, match=r"image: expected a uint8 BGR array of shape \(H, W, 3\)"):
        pipeline.predict(np.zeros((10, 10), np.uint8))
