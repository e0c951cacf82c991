"""3D body keypoints and person masks (#16): RLE, the crop geometry, overlap resolution,
containers, layouts, smoothing, writers and drawing; then the real models on the shared images."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from alphapose.estimators.body_extras import (
    MaskRegion,
    bone_lengths,
    keypoints_3d,
    resolve_masks,
    rle_array,
    warp_segmentation,
    world_to_halpe26,
    world_to_image_axes,
)
from alphapose.masks import decode_rle, encode_rle, encode_rle_region, rle_area
from alphapose.skeletons import convert_poses
from alphapose.structures import Frame, Poses
from alphapose.transforms import (
    RotatedRect,
    apply_affine,
    crop_from_img_matrix,
    invert_affine,
)

# -- RLE -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_rle_matches_pycocotools(seed: int) -> None:
    coco_mask = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(seed)
    height, width = (int(v) for v in rng.integers(1, 90, 2))
    mask = rng.random((height, width)) < rng.random()
    if seed == 0:
        mask[:] = False
    if seed == 1:
        mask[:] = True
    ours = encode_rle(mask)
    theirs = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert ours["size"] == [height, width] == list(theirs["size"])
    assert ours["counts"] == theirs["counts"].decode("ascii")
    assert (decode_rle(ours) == mask).all()
    assert (coco_mask.decode({"size": ours["size"], "counts": ours["counts"].encode()})
            == mask).all()
    assert rle_area(ours) == int(mask.sum())


@pytest.mark.parametrize("seed", range(4))
def test_rle_region_equals_the_whole_mask(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    height, width = 37, 53
    x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
    w, h = int(rng.integers(0, width - x0 + 1)), int(rng.integers(0, height - y0 + 1))
    region = rng.random((h, w)) < 0.5
    whole = np.zeros((height, width), bool)
    whole[y0:y0 + h, x0:x0 + w] = region
    assert encode_rle_region(region, x0, y0, height, width) == encode_rle(whole)


def test_rle_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="does not lie"):
        encode_rle_region(np.ones((4, 4), bool), 8, 0, 10, 10)
    with pytest.raises(ValueError, match="add up"):
        decode_rle({"size": [3, 3], "counts": [2, 3]})
    with pytest.raises(ValueError, match="not a COCO RLE"):
        decode_rle({"counts": "abc"})
    with pytest.raises(ValueError, match="expected shape"):
        encode_rle(np.zeros((2, 2, 2)))


# -- world landmarks ---------------------------------------------------------------------------


def test_world_axes_follow_the_crop_rotation() -> None:
    # the crop's x axis points along (cos r, sin r) in the image; its y axis along (-sin r, cos r)
    rotation = 0.6
    rect = RotatedRect(50.0, 40.0, 80.0, 80.0, rotation)
    world = np.array([[1.0, 0.0, 0.3], [0.0, 1.0, -0.2]])
    turned = world_to_image_axes(world, rotation)
    np.testing.assert_allclose(turned[0], [math.cos(rotation), math.sin(rotation), 0.3],
                               atol=1e-6)
    np.testing.assert_allclose(turned[1], [-math.sin(rotation), math.cos(rotation), -0.2],
                               atol=1e-6)
    # the same directions as the crop's affine maps crop axes into the image
    img_from_crop = invert_affine(crop_from_img_matrix(rect, 256, 256))
    axes = img_from_crop[:, :2] / np.linalg.norm(img_from_crop[:, 0])
    np.testing.assert_allclose(turned[:, :2], (axes @ world[:, :2].T).T, atol=1e-6)


def test_world_to_halpe26_points_and_absent_small_toes() -> None:
    rng = np.random.default_rng(3)
    world = rng.normal(size=(39, 3))
    out = world_to_halpe26(world)
    assert out.shape == (26, 3)
    np.testing.assert_allclose(out[5], world[11], atol=1e-6)       # left shoulder
    np.testing.assert_allclose(out[14], world[26], atol=1e-6)      # right knee
    np.testing.assert_allclose(out[19], (world[23] + world[24]) / 2, atol=1e-6)  # hip
    np.testing.assert_allclose(out[24], world[29], atol=1e-6)      # left heel
    eyes, mouth = (world[2] + world[5]) / 2, (world[9] + world[10]) / 2
    np.testing.assert_allclose(out[17], eyes + 2 * (eyes - mouth), atol=1e-5)
    assert np.isnan(out[[22, 23]]).all() and np.isfinite(np.delete(out, [22, 23], 0)).all()


def test_keypoints_3d_fill_the_layout_and_convert() -> None:
    world = np.random.default_rng(4).normal(size=(39, 3))
    rects = [RotatedRect(0, 0, 10, 10, 0.0)]
    points = keypoints_3d([world], rects, 136)
    assert points.shape == (1, 136, 3)
    assert np.isnan(points[0, 26:]).all()
    poses = Poses(np.zeros((1, 136, 2)), np.ones((1, 136)), np.zeros((1, 4)), np.ones(1),
                  keypoints_3d=points)
    coco = convert_poses(poses, "coco17")
    np.testing.assert_array_equal(coco.keypoints_3d[0], points[0, :17])
    halpe26 = convert_poses(poses, "halpe26")
    assert np.isnan(halpe26.keypoints_3d[0, [22, 23]]).all()
    np.testing.assert_array_equal(halpe26.keypoints_3d[0, :22], points[0, :22])
    lengths = bone_lengths(coco.keypoints_3d, "coco17")
    assert lengths["shoulders"][0] == pytest.approx(np.linalg.norm(world[11] - world[12]),
                                                    rel=1e-5)


# -- masks -------------------------------------------------------------------------------------


def test_segmentation_warps_back_through_the_crop_affine() -> None:
    rect = RotatedRect(120.0, 90.0, 100.0, 100.0, 0.5)
    logits = np.full((256, 256), -50.0, np.float32)
    logits[64:192, 64:192] = 50.0  # the crop's middle half, 50 x 50 image pixels
    region = warp_segmentation(logits, rect, (200, 300, 3))
    assert region is not None
    mask = np.zeros((200, 300), bool)
    h, w = region.logits.shape
    mask[region.y0:region.y0 + h, region.x0:region.x0 + w] = region.logits > 0
    assert abs(int(mask.sum()) - 50 * 50) < 0.04 * 2500
    # the middle of the crop's square is the rect's centre; its corners map as the affine says
    img_from_crop = invert_affine(crop_from_img_matrix(rect, 256, 256))
    corner_in = apply_affine(np.array([[70.0, 70.0]]), img_from_crop)[0]
    corner_out = apply_affine(np.array([[58.0, 58.0]]), img_from_crop)[0]
    assert mask[90, 120] and mask[round(corner_in[1]), round(corner_in[0])]
    assert not mask[round(corner_out[1]), round(corner_out[0])]
    assert warp_segmentation(logits, RotatedRect(-500, -500, 10, 10), (200, 300)) is None


@pytest.mark.parametrize("resolution", ["score", "logit"])
def test_overlapping_masks_go_to_one_person(resolution: str) -> None:
    a = MaskRegion(0, 0, np.full((10, 10), 2.0, np.float32))   # less certain, higher score
    b = MaskRegion(5, 5, np.full((10, 10), 9.0, np.float32))   # more certain, lower score
    masks = [decode_rle(r) for r in resolve_masks([a, b, None], np.array([3.0, 1.0, 2.0]),
                                                  (20, 20), resolution)]
    overlap = (slice(5, 10), slice(5, 10))
    winner = 0 if resolution == "score" else 1
    assert masks[winner][overlap].all() and not masks[1 - winner][overlap].any()
    assert not masks[2].any()
    assert (masks[0].astype(int) + masks[1]).max() == 1
    assert masks[0].sum() + masks[1].sum() == 175  # 100 + 100 - 25
    with pytest.raises(ValueError, match="resolution"):
        resolve_masks([a], np.ones(1), (20, 20), "area")


# -- containers, smoothing, writers, drawing -----------------------------------------------------


def _person(n: int = 1, k: int = 26) -> Poses:
    rng = np.random.default_rng(5)
    points = rng.normal(0, 0.3, (n, k, 3)).astype(np.float32)
    points[:, 22:24] = np.nan
    keypoints = rng.uniform(20, 80, (n, k, 2))
    mask = np.zeros((100, 120), bool)
    mask[30:60, 40:70] = True
    return Poses(keypoints, np.full((n, k), 0.9), np.tile([[20, 20, 80, 80]], (n, 1)),
                 np.ones(n), layout="halpe26", keypoints_3d=points,
                 masks=rle_array([encode_rle(mask)] * n))


def test_poses_validate_and_index_the_new_fields() -> None:
    poses = _person(3)
    assert poses[np.array([False, True, True])].keypoints_3d.shape == (2, 26, 3)
    assert len(poses[1:].masks) == 2 and poses.concat(poses).masks.shape == (6,)
    with pytest.raises(ValueError, match="keypoints_3d"):
        Poses(np.zeros((1, 26, 2)), np.ones((1, 26)), np.zeros((1, 4)), np.ones(1),
              keypoints_3d=np.zeros((1, 17, 3)))
    with pytest.raises(ValueError, match="masks"):
        Poses(np.zeros((2, 26, 2)), np.ones((2, 26)), np.zeros((2, 4)), np.ones(2),
              masks=rle_array([{}]))


def test_smoother_smooths_tracked_3d_keypoints() -> None:
    from alphapose.smoothing import KeypointSmoother

    rng = np.random.default_rng(6)
    base = _person()
    smoother = KeypointSmoother()
    raw, smooth = [], []
    for t in range(40):
        noisy = base.keypoints_3d + rng.normal(0, 0.01, base.keypoints_3d.shape).astype(
            np.float32)
        poses = Poses(base.keypoints, base.keypoint_scores, base.xyxy, base.box_scores,
                      layout=base.layout, track_ids=np.array([7]), keypoints_3d=noisy)
        out = smoother.update(Frame(np.zeros((4, 4, 3), np.uint8), t, f"{t}.jpg",
                                    source="v.mp4"), poses)
        raw.append(noisy[0])
        smooth.append(out.keypoints_3d[0])
    raw, smooth = np.asarray(raw[10:]), np.asarray(smooth[10:])
    assert np.isnan(smooth[:, 22:24]).all()
    keep = np.isfinite(raw).all(-1).all(0)
    jitter = lambda s: np.nanstd(np.diff(s[:, keep], axis=0))
    assert jitter(smooth) < 0.5 * jitter(raw)
    # untracked people pass unchanged
    untracked = Poses(base.keypoints, base.keypoint_scores, base.xyxy, base.box_scores,
                      layout=base.layout, keypoints_3d=base.keypoints_3d)
    out = smoother.update(Frame(np.zeros((4, 4, 3), np.uint8), 40, "40.jpg", source="v.mp4"),
                          untracked)
    np.testing.assert_array_equal(out.keypoints_3d, base.keypoints_3d)


def test_writers_add_keypoints_3d_and_segmentation(tmp_path: Path) -> None:
    from alphapose.formats import load_alphapose_json
    from alphapose.writers import AlphaPoseJsonWriter, CocoResultsWriter, JsonLinesWriter

    poses = _person(2)
    frame = Frame(np.zeros((100, 120, 3), np.uint8), 0, "a.jpg")
    with AlphaPoseJsonWriter(tmp_path / "r.json") as sink:
        sink.write(frame, poses)
    with JsonLinesWriter(tmp_path / "r.jsonl") as sink:
        sink.write(frame, poses)
    entries = load_alphapose_json(tmp_path / "r.json")  # readers that know nothing of them
    flat = entries[0]["keypoints_3d"]
    assert len(flat) == 26 * 3 and flat[22 * 3:24 * 3] == [None] * 6
    assert flat[0] == pytest.approx(float(poses.keypoints_3d[0, 0, 0]), abs=1e-4)
    assert (decode_rle(entries[1]["segmentation"]) == decode_rle(poses.masks[1])).all()
    person = json.loads((tmp_path / "r.jsonl").read_text().splitlines()[0])["people"][0]
    assert person["keypoints_3d"][22] is None and len(person["keypoints_3d"][5]) == 3
    assert person["segmentation"]["size"] == [100, 120]
    with CocoResultsWriter(tmp_path / "c.json", layout="coco17") as sink:
        sink.write(Frame(frame.image, 0, "000000000785.jpg"), poses)
    coco = json.loads((tmp_path / "c.json").read_text())
    assert [e["segmentation"] for e in coco] == [dict(m) for m in poses.masks]


def test_overlays_tint_masks_and_draw_3d_views() -> None:
    from alphapose.overlays import draw_masks, draw_skeletons_3d
    from alphapose.render import RenderOptions

    image = np.full((100, 120, 3), 128, np.uint8)
    poses = _person()
    tinted = draw_masks(image, poses)
    changed = (tinted != image).any(-1)
    assert changed[30:60, 40:70].all() and changed.sum() == 30 * 30
    viewed = draw_skeletons_3d(image, poses, size=30)
    changed = (viewed != image).any(-1)
    # one 30 px view right of the box (x 82..111), from the box's top
    ys, xs = np.nonzero(changed)
    assert xs.min() >= 82 and xs.max() <= 111 and ys.min() >= 20 and ys.max() <= 49
    both = RenderOptions(draw_3d=True, keypoint_threshold=1.0).draw(image, poses)
    # masks first, then the (hidden) 2D skeleton, then the 3D views
    assert (both == draw_skeletons_3d(tinted, poses)).all()
    # a person less tall than the view (box 60 px) gets none
    assert (draw_skeletons_3d(image, poses, size=70) == image).all()
    assert (RenderOptions(draw_masks=False, keypoint_threshold=1.0).draw(image, poses)
            == image).all()


def test_options_refused() -> None:
    from alphapose.estimators.blaze import BlazeWholeBodyConfig
    from alphapose.pipeline import Pipeline

    with pytest.raises(ValueError, match="mask_resolution"):
        BlazeWholeBodyConfig(mask_resolution="area")
    for height in (-1.7, 170.0, "tall"):
        with pytest.raises(ValueError, match="world_height"):
            BlazeWholeBodyConfig(world_height=height)

    class Plain:
        layout = "coco17"

        def __call__(self, image, detections):  # pragma: no cover - never run
            raise AssertionError

    with pytest.raises(ValueError, match="world=True"):
        Pipeline(detector=lambda image: None, estimator=Plain(), world=True)


# -- the real models on the shared images --------------------------------------------------------

#: the issue's human ranges in metres
BONE_RANGES = {"left_upper_arm": (0.2, 0.4), "right_upper_arm": (0.2, 0.4),
               "left_thigh": (0.3, 0.6), "right_thigh": (0.3, 0.6), "shoulders": (0.25, 0.5)}
#: COCO-17 shoulders, elbows, hips, knees: a person is confident when all score >= 0.5
BONE_JOINTS = [5, 6, 7, 8, 11, 12, 13, 14]


@pytest.fixture(scope="module")
def coco_results(shared_data, embedded_models):
    """``(image, poses, ground-truth annotations, raw people)`` of the shared COCO images, from
    the embedded pipeline with ``world`` and ``masks`` (hands and face off)."""
    import cv2

    from alphapose.estimators.blaze import BlazeWholeBody
    from alphapose.modes import build_detector, estimator_config
    from alphapose.pipeline import Pipeline, RunOptions

    detector, name = build_detector("balanced")
    config = estimator_config("balanced", hands=False, face=False, world=True, masks=True)
    estimator = BlazeWholeBody(config if name == "blaze" else config.for_detector_boxes())
    pipeline = Pipeline(detector, estimator, run=RunOptions(sp=True))
    folder = shared_data / "mmpose" / "coco"
    truth = json.loads((folder / "test_coco.json").read_text())
    files = [(folder / info["file_name"],
              [a for a in truth["annotations"] if a["image_id"] == info["id"]])
             for info in truth["images"]]
    # unlabelled: more people for the 3D checks
    files += [(path, None) for path in sorted((shared_data / "alphapose").glob("*.jpg"))]
    out = []
    for path, labels in files:
        image = cv2.imread(str(path))
        people = estimator.find_people(image, pipeline.detect(image)).result()
        out.append((image, pipeline.predict(image), labels, people))
    return out


@pytest.mark.slow
def test_real_3d_bones_and_sides(coco_results) -> None:
    """Measured here, skeletons scaled to the default 1.70 m (23 people whose bone joints score
    >= 0.5): left / right agree for all; medians upper arm 0.26-0.27 m, thigh 0.45-0.47 m,
    shoulders 0.39 m; all five bones in the issue's ranges for 0.83 of them, 0.89 of the 18
    confident ones (also COCO-large: box area >= 96^2 px, as bench/world.py counts them; there,
    over the 35 of all the shared images: 0.914, and 0.686 in the model's own metres)."""
    lengths: dict[str, list[float]] = {bone: [] for bone in BONE_RANGES}
    passed, large, sides = [], [], []
    for _, poses, _, _ in coco_results:
        assert poses.keypoints_3d.shape == (len(poses), 136, 3)
        assert np.isnan(poses.keypoints_3d[:, 26:]).all()
        bones = bone_lengths(poses.keypoints_3d, poses.layout)
        for i in range(len(poses)):
            if poses.keypoint_scores[i, BONE_JOINTS].min() < 0.5:
                continue
            ok = all(low <= bones[b][i] <= high for b, (low, high) in BONE_RANGES.items())
            passed.append(ok)
            x1, y1, x2, y2 = poses.xyxy[i]
            if (x2 - x1) * (y2 - y1) >= 96 ** 2:
                large.append(ok)
            for bone in BONE_RANGES:
                lengths[bone].append(float(bones[bone][i]))
            for left, right in ((5, 6), (11, 12)):
                flat = poses.keypoints[i, left] - poses.keypoints[i, right]
                deep = poses.keypoints_3d[i, left, :2] - poses.keypoints_3d[i, right, :2]
                sides.append(float(np.dot(flat, deep)))
    assert len(passed) >= 8
    assert min(sides) > 0  # the 3D left is the 2D left, for every confident person
    for bone, (low, high) in BONE_RANGES.items():
        assert low <= np.median(lengths[bone]) <= high, bone
    assert np.mean(passed) >= 0.75
    assert len(large) >= 12
    assert np.mean(large) >= 0.8


def test_scale_to_height_sums_the_limbs_to_the_height() -> None:
    rng = np.random.default_rng(3)
    points = rng.normal(0.0, 0.3, (3, 26, 3)).astype(np.float32)
    points[2, 7] = np.nan                       # a missing elbow: its two limbs do not count
    from alphapose.estimators.body_extras import LIMB_FRACTIONS, scale_to_height

    def limbs(person: np.ndarray) -> tuple[float, float]:
        pairs = [(np.linalg.norm(person[a] - person[b]), f) for (a, b), f in LIMB_FRACTIONS]
        kept = [(length, f) for length, f in pairs if np.isfinite(length)]
        return sum(length for length, _ in kept), sum(f for _, f in kept)

    scaled = scale_to_height(points, 1.8)
    for before, after in zip(points, scaled):
        total, fractions = limbs(after)
        assert total == pytest.approx(fractions * 1.8, rel=1e-5)
        # one factor per person: directions and proportions are the model's
        ratio = after[np.isfinite(after)] / before[np.isfinite(before)]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)
    assert limbs(scaled[2])[1] == pytest.approx(sum(f for _, f in LIMB_FRACTIONS) - 0.186 - 0.146)
    np.testing.assert_array_equal(scale_to_height(points, 0), points)     # the model's metres
    np.testing.assert_array_equal(scale_to_height(points, None), points)
    nothing = np.full((1, 26, 3), np.nan, np.float32)
    assert np.isnan(scale_to_height(nothing, 1.7)).all()
    with pytest.raises(ValueError, match="height"):
        scale_to_height(points, -1.0)


def test_real_world_xy_is_the_2d_skeleton_at_one_scale(coco_results) -> None:
    """Decoding check: the world landmarks' (x, y) (image axes) map onto the hip-centred 2D
    keypoints with one pixels-per-metre scale along both axes (no axis squeezed or swapped),
    so short bones are the model's, not a scale error of ours (bench/world.py: median ratio
    y scale / x scale 1.002 over the 61 people whose bone joints score >= 0.5)."""
    ratios = []
    for _, poses, _, _ in coco_results:
        for i in range(len(poses)):
            if poses.keypoint_scores[i, BONE_JOINTS].min() < 0.5:
                continue
            flat = poses.keypoints[i, :17].astype(np.float64)
            deep = poses.keypoints_3d[i, :17, :2].astype(np.float64)
            flat -= (flat[11] + flat[12]) / 2
            deep -= (deep[11] + deep[12]) / 2
            scale_x = (flat[:, 0] * deep[:, 0]).sum() / (deep[:, 0] ** 2).sum()
            scale_y = (flat[:, 1] * deep[:, 1]).sum() / (deep[:, 1] ** 2).sum()
            assert scale_x > 0 and scale_y > 0  # x to the right, y down, as in the image
            ratios.append(scale_y / scale_x)
    assert len(ratios) >= 8
    assert 0.95 <= np.median(ratios) <= 1.05


def test_real_world_landmarks_need_the_crop_rotation_undone(coco_results) -> None:
    """The world landmarks' (x, y) follow the hip-centred 2D landmarks in the image only with
    the crop's rotation undone (measured here, the 7 bodies whose crop is turned by 0.15 rad or
    more: cosine 0.997 undone vs 0.937 not)."""
    turned, kept = [], []
    for _, _, _, people in coco_results:
        for person in people:
            body = person.body
            if abs(body.rect.rotation) < 0.15:  # crops turned by less are the image's axes
                continue
            centred = body.points[:33] - (body.points[23] + body.points[24]) / 2
            for out, rotation in ((turned, body.rect.rotation), (kept, 0.0)):
                xy = world_to_image_axes(body.world, rotation)[:33, :2]
                out.append(float((centred * xy).sum() / np.linalg.norm(centred)
                                 / np.linalg.norm(xy)))
    assert len(turned) >= 5
    assert np.median(turned) > 0.99
    assert np.mean(np.greater(turned, kept)) >= 0.9


def test_real_masks_match_coco_segmentations(coco_results) -> None:
    """Mask IoU with the ground-truth person polygons (measured: 0.84 over the 7 people taller
    than 200 px); masks do not overlap; pycocotools reads them."""
    import cv2

    coco_mask = pytest.importorskip("pycocotools.mask")
    tall = []
    for image, poses, labels, _ in coco_results:
        if labels is None:
            continue
        height, width = image.shape[:2]
        masks = [decode_rle(rle) for rle in poses.masks]
        assert sum(m.astype(int) for m in masks).max() <= 1
        for rle, mask in zip(poses.masks, masks):
            assert (coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()})
                    .astype(bool) == mask).all()
        for person in labels:
            if person["bbox"][3] <= 200:
                continue
            truth = np.zeros((height, width), np.uint8)
            for polygon in person["segmentation"]:
                cv2.fillPoly(truth, [np.round(np.reshape(polygon, (-1, 2))).astype(np.int32)], 1)
            truth = truth.astype(bool)
            tall.append(max((m & truth).sum() / (m | truth).sum() for m in masks))
    assert len(tall) == 7
    assert np.mean(tall) >= 0.6
