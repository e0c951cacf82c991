"""alphapose.data.people: split by source image, rendering keeps keypoints on their pixels,
COCO ground truth of rendered crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alphapose.data.datasets import Sample
from alphapose.data.people import (
    RenderConfig,
    coco_ground_truth,
    coco_ground_truth_arrays,
    load_labelled_people,
    render_people,
    render_person,
    samples_from_poses,
    split_by_source,
)
from alphapose.evaluate import keypoint_ap
from alphapose.skeletons import get_layout

LAYOUT = get_layout("coco17")


def _person(image: str, domain: str = "synthetic", box=(100, 60, 180, 260), points=None
            ) -> Sample:
    if points is None:
        rng = np.random.default_rng(len(image))
        x1, y1, x2, y2 = box
        points = np.stack([rng.uniform(x1 + 5, x2 - 5, 17), rng.uniform(y1 + 5, y2 - 5, 17)], 1)
    keypoints = np.concatenate([np.asarray(points, np.float32), np.ones((17, 1), np.float32)], 1)
    return Sample(Path(image), np.asarray(box, np.float32), keypoints, np.ones(17, bool),
                  "coco17", domain)


def _dotted_image(points: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Grey image with a 7x7 square of a distinct colour centred on each keypoint."""
    image = np.full((320, 280, 3), 90, np.uint8)
    for (x, y), colour in zip(np.round(points).astype(int), colours):
        image[y - 3:y + 4, x - 3:x + 4] = colour
    return image


@pytest.mark.parametrize("test_fraction", [0.2, 0.3, 0.5], ids=["20%", "30%", "50%"])
def test_split_by_source_never_shares_an_image(test_fraction):
    samples = [_person(f"{d}/{i}.jpg", d) for d, n in (("a", 6), ("b", 4)) for i in range(n)
               for _ in range(1 + i % 3)]
    train, test = split_by_source(samples, test_fraction, seed=3)
    train_images = {s.image_path for s in train}
    test_images = {s.image_path for s in test}
    assert not train_images & test_images
    assert len(train) + len(test) == len(samples)
    # every domain is on both sides
    assert {s.domain for s in test} == {s.domain for s in train} == {"a", "b"}
    assert split_by_source(samples, test_fraction, seed=3)[1] == test


def test_split_by_source_on_the_shared_people(shared_data):
    samples = load_labelled_people(shared_data)
    assert len(samples) == 26 and len({s.image_path for s in samples}) == 7
    train, test = split_by_source(samples, 0.3, seed=0)
    assert not {s.image_path for s in train} & {s.image_path for s in test}
    assert 0.15 <= len(test) / len(samples) <= 0.45


@pytest.mark.parametrize("flip_prob", [0.0, 1.0], ids=["no-flip", "flip"])
def test_rendered_keypoints_sit_on_their_pixels(flip_prob):
    rng = np.random.default_rng(0)
    grid = np.stack(np.meshgrid([115.0, 140.0, 165.0], np.arange(75.0, 250.0, 30.0)), -1)
    points = rng.permutation(grid.reshape(-1, 2))[:17]  # 25 px apart: squares never touch
    colours = rng.integers(0, 256, (17, 3), dtype=np.uint8)
    sample = _person("x.jpg", points=points)
    image = _dotted_image(points, colours)
    cfg = RenderConfig(input_size=(128, 96), rotation_prob=1.0, rotation_factor=25.0,
                       flip_prob=flip_prob).geometry_only()
    person = render_person(image, sample, cfg, np.random.default_rng(1))
    assert person.flipped == bool(flip_prob)
    source_of = LAYOUT.flip_index if person.flipped else np.arange(17)
    checked = 0
    for k in np.flatnonzero(person.weights > 0):
        x, y = np.round(person.keypoints[k]).astype(int)
        expected = colours[source_of[k]].astype(int)
        assert np.abs(person.image[y, x].astype(int) - expected).max() <= 12, k
        checked += 1
    assert checked >= 10


def test_photometry_does_not_move_keypoints():
    sample = _person("x.jpg")
    image = np.random.default_rng(0).integers(0, 256, (320, 280, 3), dtype=np.uint8)
    cfg = RenderConfig(input_size=(64, 48), occluder_prob=1.0, blur_prob=1.0)
    full = render_person(image, sample, cfg, np.random.default_rng(5), occluders=[image])
    plain = render_person(image, sample, cfg.geometry_only(), np.random.default_rng(5))
    np.testing.assert_array_equal(full.keypoints, plain.keypoints)
    np.testing.assert_array_equal(full.crop_from_img, plain.crop_from_img)
    assert not np.array_equal(full.image, plain.image)


def test_points_outside_the_crop_get_no_weight():
    points = np.tile([[140.0, 150.0]], (17, 1))
    points[0] = (5.0, 5.0)  # far outside the person's box and its crop
    sample = _person("x.jpg", points=points)
    cfg = RenderConfig(input_size=(64, 48), box_jitter=False, scale_factor=0.0,
                       rotation_factor=0.0, flip_prob=0.0).geometry_only()
    person = render_person(np.zeros((320, 280, 3), np.uint8), sample, cfg,
                           np.random.default_rng(0))
    assert person.weights[0] == 0 and np.all(person.weights[1:] == 1)
    # crop of a (80 x 200) box at aspect 0.75, x1.25: 250 px high -> 64 px, scale 0.256
    scale = 64 / 250
    assert person.area == pytest.approx(0.41 * 80 * 200 * scale ** 2, rel=1e-4)


def test_coco_ground_truth_scores_itself_perfectly_and_a_shift_lower(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (320, 280, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    import cv2

    cv2.imwrite(str(path), image)
    people = render_people([_person(str(path))], RenderConfig(input_size=(64, 48)), 6, seed=0)
    gt = coco_ground_truth(people)
    assert [a["num_keypoints"] for a in gt["annotations"]] == [int(p.weights.sum())
                                                              for p in people]

    def results(shift: float) -> list[dict]:
        out = []
        for i, p in enumerate(people):
            kp = np.concatenate([p.keypoints + shift, np.ones((17, 1))], 1)
            out.append({"image_id": i, "category_id": 1, "keypoints": kp.ravel().tolist(),
                        "score": 1.0})
        return out

    assert keypoint_ap(gt, results(0.0), LAYOUT.sigmas)["AP"] == pytest.approx(1.0)
    assert keypoint_ap(gt, results(3.0), LAYOUT.sigmas)["AP"] < 0.9


def test_samples_from_poses_keeps_confident_points_in_coco17():
    from alphapose.skeletons import convert
    from alphapose.structures import Poses

    rng = np.random.default_rng(0)
    points = rng.uniform(10, 90, (2, 17, 2)).astype(np.float32)
    scores = np.full((2, 17), 0.9, np.float32)
    scores[0, :5] = 0.2  # five unsure points: unlabelled, 12 labels left
    scores[1, :12] = 0.2  # 5 labels left: the person is dropped
    kp26, sc26 = convert(points, scores, "coco17", "halpe26")
    poses = Poses(kp26, sc26, np.array([[0, 0, 100, 100], [5, 5, 95, 95]], np.float32),
                  np.ones(2, np.float32), layout="halpe26")
    samples = samples_from_poses("frame.png", poses, min_keypoints=8)
    assert len(samples) == 1
    sample = samples[0]
    assert sample.layout == "coco17" and sample.domain == "pseudo"
    np.testing.assert_array_equal(sample.weights, (scores[0] >= 0.5).astype(np.float32))
    np.testing.assert_allclose(sample.keypoints[5:, :2], points[0, 5:])
    assert np.all(sample.keypoints[:5] == 0)


def test_detector_like_keeps_only_the_box_jitter_and_the_flip():
    import cv2

    image = np.random.default_rng(0).integers(0, 256, (320, 280, 3), dtype=np.uint8)
    cfg = RenderConfig(input_size=(64, 64), flip_prob=0.0).detector_like()
    person = render_person(image, _person("x.jpg"), cfg, np.random.default_rng(3),
                           occluders=[image])
    matrix = person.crop_from_img
    # no rotation, no photometry: the crop is the plain warp of the image by its matrix
    assert matrix[0, 1] == pytest.approx(0.0, abs=1e-9)
    assert matrix[1, 0] == pytest.approx(0.0, abs=1e-9)
    plain = cv2.warpAffine(image, matrix, (64, 64), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    np.testing.assert_array_equal(person.image, plain)
    # the box still moves: two draws give two different crops
    other = render_person(image, _person("x.jpg"), cfg, np.random.default_rng(4))
    assert not np.allclose(other.crop_from_img, matrix)


def test_coco_ground_truth_arrays_matches_the_crops(tmp_path):
    import cv2

    path = tmp_path / "x.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (320, 280, 3), np.uint8))
    people = render_people([_person(str(path))], RenderConfig(input_size=(64, 48)), 4, seed=2)
    from_arrays = coco_ground_truth_arrays(np.stack([p.keypoints for p in people]),
                                           np.stack([p.weights for p in people]),
                                           np.array([p.area for p in people]), (64, 48))
    assert from_arrays == coco_ground_truth(people)
    with pytest.raises(ValueError, match="keypoints, weights, areas"):
        coco_ground_truth_arrays(np.zeros((2, 17, 2)), np.zeros((2, 16)), np.zeros(2), (64, 48))
