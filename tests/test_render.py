"""Tests for alphapose.render: pure drawing that lights pixels where the skeleton is, only there."""

from __future__ import annotations

import numpy as np
import pytest

from alphapose.render import (
    RenderOptions,
    draw_detections,
    draw_poses,
    id_color,
    part_color,
)
from alphapose.skeletons import get_layout
from alphapose.structures import Detections, Poses

LAYOUTS = ["coco17", "halpe26", "halpe136", "coco_wholebody133"]
SIZE = 320  # canvas side in pixels


def canvas(value: int = 0) -> np.ndarray:
    return np.full((SIZE, SIZE, 3), value, np.uint8)


def one_pose(layout: str, keypoints: np.ndarray, scores: np.ndarray,
             track_id: int = -1, xyxy: tuple[float, ...] = (10, 10, 20, 20)) -> Poses:
    return Poses(keypoints[None], scores[None], np.array([xyxy], np.float32), np.ones(1),
                 layout=layout, track_ids=np.array([track_id]))


def spread_pose(layout: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints on integer pixels inside [20, 200]^2, all scores 0.9."""
    k = get_layout(layout).num_keypoints
    rng = np.random.default_rng(seed)
    return rng.integers(20, 200, (k, 2)).astype(np.float32), np.full(k, 0.9, np.float32)


def lit(image: np.ndarray, x: float, y: float) -> bool:
    return bool(image[int(round(y)), int(round(x))].any())


def test_returns_new_array_and_leaves_input_unchanged() -> None:
    image = np.random.default_rng(1).integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
    before = image.copy()
    kp, sc = spread_pose("halpe136")
    out = draw_poses(image, one_pose("halpe136", kp, sc), draw_boxes=True, draw_ids=True)
    assert out is not image and not np.shares_memory(out, image)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(image, before)
    assert (out != image).any()


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUTS)
def test_keypoints_lit_and_low_score_keypoint_absent(layout: str) -> None:
    kp, sc = spread_pose(layout)
    hidden = 3  # an ear in every layout; moved far from everything else, below the threshold
    kp[hidden] = (280, 280)
    sc[hidden] = 0.1
    out = draw_poses(canvas(), one_pose(layout, kp, sc), keypoint_threshold=0.3)
    for k in range(len(kp)):
        if k != hidden:
            assert lit(out, *kp[k]), f"keypoint {k} at {kp[k]} not drawn"
    assert not out[260:300, 260:300].any()


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUTS)
@pytest.mark.parametrize("which", ["first", "last"], ids=["first-edge", "last-edge"])
def test_only_the_visible_edge_is_drawn(layout: str, which: str) -> None:
    edges = get_layout(layout).edges
    a, b = edges[0] if which == "first" else edges[-1]
    kp, sc = spread_pose(layout)
    sc[:] = 0.0
    kp[a], kp[b], sc[a], sc[b] = (40, 100), (240, 100), 0.9, 0.9
    out = draw_poses(canvas(), one_pose(layout, kp, sc))
    # the midpoint is 100 px from both keypoints: only the line can light it
    assert lit(out, 140, 100)
    assert lit(out, 90, 100) and lit(out, 190, 100)
    # everything drawn lies in a thin band around the segment
    ys, xs = np.nonzero(out.any(axis=2))
    assert ys.min() >= 100 - 6 and ys.max() <= 100 + 6
    assert xs.min() >= 40 - 6 and xs.max() <= 240 + 6


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUTS)
def test_edge_needs_both_endpoints(layout: str) -> None:
    a, b = get_layout(layout).edges[0]
    kp, sc = spread_pose(layout)
    sc[:] = 0.0
    kp[a], kp[b], sc[a], sc[b] = (40, 100), (240, 100), 0.9, 0.2
    out = draw_poses(canvas(), one_pose(layout, kp, sc), keypoint_threshold=0.3)
    assert lit(out, 40, 100)
    assert not lit(out, 140, 100) and not lit(out, 240, 100)


@pytest.mark.parametrize("threshold", [0.5, 0.0], ids=["half", "zero"])
def test_score_equal_to_threshold_is_not_drawn(threshold: float) -> None:
    kp, sc = spread_pose("halpe26")
    sc[:] = threshold
    out = draw_poses(canvas(), one_pose("halpe26", kp, sc), keypoint_threshold=threshold)
    assert not out.any()


@pytest.mark.parametrize(("threshold", "face_drawn"), [
    (0.3, False),
    ({"body": 0.4, "face": 0.05}, True),
    ({"face": 0.2}, False),
], ids=["single-float", "low-face-threshold", "face-threshold-above-score"])
def test_per_part_thresholds(threshold: float | dict, face_drawn: bool) -> None:
    layout = get_layout("halpe136")
    kp = np.zeros((136, 2), np.float32)
    sc = np.zeros(136, np.float32)
    face = layout.parts["face"][0]
    nose = layout.index("nose")
    kp[nose], sc[nose] = (60, 60), 0.5
    kp[face], sc[face] = (250, 250), 0.1
    out = draw_poses(canvas(), one_pose("halpe136", kp, sc), keypoint_threshold=threshold)
    assert lit(out, 60, 60)
    assert lit(out, 250, 250) == face_drawn


def test_colours_follow_part_or_track_id() -> None:
    layout = get_layout("halpe136")
    kp, sc = spread_pose("halpe136")
    sc[:] = 0.0
    picks = {"left_wrist": (50, 50), "right_wrist": (150, 50), "nose": (250, 50),
             "left_big_toe": (50, 150), "face_10": (150, 150), "left_hand_3": (250, 150),
             "right_hand_3": (50, 250)}
    for name, xy in picks.items():
        kp[layout.index(name)], sc[layout.index(name)] = xy, 0.9
    untracked = draw_poses(canvas(), one_pose("halpe136", kp, sc), radius=4)
    expected = {"left_wrist": part_color("body", "left"),
                "right_wrist": part_color("body", "right"),
                "nose": part_color("body", "centre"), "left_big_toe": part_color("foot", "left"),
                "face_10": part_color("face"), "left_hand_3": part_color("left_hand"),
                "right_hand_3": part_color("right_hand")}
    for name, (x, y) in picks.items():
        assert tuple(untracked[y, x]) == expected[name], name
    tracked = draw_poses(canvas(), one_pose("halpe136", kp, sc, track_id=5), radius=4)
    for x, y in picks.values():
        assert tuple(tracked[y, x]) == id_color(5)


def test_faces_and_hands_are_thinner() -> None:
    layout = get_layout("halpe136")
    kp, sc = spread_pose("halpe136")
    sc[:] = 0.0
    body_edge = layout.edges[0]
    hand_edge = next(e for e, p in zip(layout.edges, layout.edge_parts) if p == "left_hand")
    for (a, b), y in ((body_edge, 60), (hand_edge, 200)):
        kp[a], kp[b], sc[a], sc[b] = (40, y), (280, y), 0.9, 0.9
    out = draw_poses(canvas(), one_pose("halpe136", kp, sc), thickness=6)
    body_width = int(out[40:80, 160].any(axis=1).sum())
    hand_width = int(out[180:220, 160].any(axis=1).sum())
    assert body_width >= 6 and hand_width < body_width


@pytest.mark.parametrize("draw_boxes", [False, True], ids=["no-box", "box"])
def test_boxes(draw_boxes: bool) -> None:
    kp, sc = spread_pose("coco17")
    sc[:] = 0.0
    poses = one_pose("coco17", kp, sc, xyxy=(220, 220, 300, 300))
    out = draw_poses(canvas(), poses, draw_boxes=draw_boxes)
    assert lit(out, 220, 260) == draw_boxes and lit(out, 260, 300) == draw_boxes
    assert not out[240:280, 240:280].any()  # outline only


@pytest.mark.parametrize("track_id", [-1, 12], ids=["untracked", "tracked"])
def test_ids_drawn_only_for_tracked(track_id: int) -> None:
    kp, sc = spread_pose("coco17")
    sc[:] = 0.0
    poses = one_pose("coco17", kp, sc, track_id=track_id, xyxy=(100, 150, 200, 250))
    out = draw_poses(canvas(), poses, draw_ids=True)
    assert out[100:150, 95:200].any() == (track_id >= 0)


def test_render_options_draw_matches_function() -> None:
    kp, sc = spread_pose("halpe26")
    poses = one_pose("halpe26", kp, sc, track_id=2, xyxy=(30, 30, 210, 210))
    options = RenderOptions(keypoint_threshold=0.5, draw_boxes=True, radius=3, thickness=2)
    np.testing.assert_array_equal(
        options.draw(canvas(), poses),
        draw_poses(canvas(), poses, keypoint_threshold=0.5, draw_boxes=True, radius=3,
                   thickness=2))


def test_empty_poses_and_nan_keypoints() -> None:
    image = canvas(17)
    empty = Poses.empty(17, "coco17")
    out = draw_poses(image, empty)
    np.testing.assert_array_equal(out, image)
    assert out is not image
    kp, sc = spread_pose("coco17")
    kp[:] = np.nan
    assert not (draw_poses(canvas(), one_pose("coco17", kp, sc)) != 0).any()


def test_id_color() -> None:
    colors = [id_color(i) for i in range(10)]
    assert colors == [id_color(i) for i in range(10)]  # deterministic
    assert len(set(colors)) == 10
    for color in colors:
        assert len(color) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in color)
        assert max(color) == 255  # bright, never black
    assert id_color(np.int64(3)) == colors[3]


@pytest.mark.parametrize(("value", "error"), [(-1, ValueError), (1.5, TypeError),
                                              (True, TypeError)],
                         ids=["negative", "float", "bool"])
def test_id_color_rejects(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        id_color(value)  # type: ignore[arg-type]


def test_draw_detections() -> None:
    image = canvas()
    detections = Detections(np.array([[40, 40, 120, 160]], np.float32), np.array([0.87]),
                            keypoints=np.array([[[80, 100]]], np.float32))
    out = draw_detections(image, detections)
    assert not image.any()  # input untouched
    assert lit(out, 40, 100) and lit(out, 120, 100) and lit(out, 80, 40) and lit(out, 80, 160)
    assert lit(out, 80, 100)  # the auxiliary point
    assert not out[60:90, 60:75].any()  # inside the box, away from the point, stays empty
    assert out[0:40, 40:120].any()  # the score label above the box
    plain = draw_detections(image, detections, draw_scores=False)
    assert not plain[0:36, 40:120].any()


@pytest.mark.parametrize(("image", "poses", "kwargs", "error", "match"), [
    (np.zeros((8, 8, 3), np.float32), Poses.empty(17, "coco17"), {}, TypeError, "uint8"),
    (np.zeros((8, 8), np.uint8), Poses.empty(17, "coco17"), {}, ValueError, r"\(H, W, 3\)"),
    (np.zeros((8, 8, 3), np.uint8), Poses.empty(26, "coco17"), {}, ValueError, "17 keypoints"),
    (np.zeros((8, 8, 3), np.uint8), Poses.empty(17, "coco17"),
     {"keypoint_threshold": {"torso": 0.2}}, ValueError, "torso"),
    (np.zeros((8, 8, 3), np.uint8), Poses.empty(17, "coco17"), {"radius": 0}, ValueError,
     "radius"),
    (np.zeros((8, 8, 3), np.uint8), "poses", {}, TypeError, "Poses"),
], ids=["float-image", "gray-image", "layout-mismatch", "unknown-part", "zero-radius",
        "not-poses"])
def test_draw_poses_rejects(image: np.ndarray, poses: object, kwargs: dict,
                            error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        draw_poses(image, poses, **kwargs)  # type: ignore[arg-type]


def test_auto_sizes_grow_with_image() -> None:
    small, large = np.zeros((240, 320, 3), np.uint8), np.zeros((1080, 1920, 3), np.uint8)
    kp = np.zeros((17, 2), np.float32)
    sc = np.zeros(17, np.float32)
    kp[0], sc[0] = (100, 100), 0.9
    dot_small = draw_poses(small, one_pose("coco17", kp, sc)).any(axis=2).sum()
    dot_large = draw_poses(large, one_pose("coco17", kp, sc)).any(axis=2).sum()
    assert dot_large > 2 * dot_small > 0
