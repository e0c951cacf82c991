"""Tests for alphapose.skeletons: layout tables, their consistency, and conversions."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from alphapose.skeletons import PARTS, Layout, convert, convert_poses, get_layout, list_layouts
from alphapose.structures import Poses

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
WHOLEBODY_JSON = DATA / "mmpose" / "coco" / "test_coco_wholebody.json"
HALPE_JSON = DATA / "mmpose" / "halpe" / "test_halpe.json"

NAMES = ["coco17", "halpe26", "halpe136", "coco_wholebody133"]
# Sizes of each part per layout (official alphapose/datasets/*.py and halpecocotools' part split).
PART_SIZES = {
    "coco17": {"body": 17, "foot": 0, "face": 0, "left_hand": 0, "right_hand": 0},
    "halpe26": {"body": 20, "foot": 6, "face": 0, "left_hand": 0, "right_hand": 0},
    "halpe136": {"body": 20, "foot": 6, "face": 68, "left_hand": 21, "right_hand": 21},
    "coco_wholebody133": {"body": 17, "foot": 6, "face": 68, "left_hand": 21, "right_hand": 21},
}
COUNTS = {"coco17": 17, "halpe26": 26, "halpe136": 136, "coco_wholebody133": 133}
COCO_SIGMAS = [.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062,
               .107, .107, .087, .087, .089, .089]

# Flip pairs exactly as the official datasets list them (mscoco.py, halpe_26.py, halpe_136.py,
# coco_wholebody.py in alphapose/datasets/).
_COCO_PAIRS = [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]
OFFICIAL_FLIP_PAIRS = {
    "coco17": _COCO_PAIRS,
    "halpe26": _COCO_PAIRS + [(20, 21), (22, 23), (24, 25)],
    "halpe136": _COCO_PAIRS + [
        (20, 21), (22, 23), (24, 25),
        (26, 42), (27, 41), (28, 40), (29, 39), (30, 38), (31, 37), (32, 36), (33, 35),
        (43, 52), (44, 51), (45, 50), (46, 49), (47, 48),
        (62, 71), (63, 70), (64, 69), (65, 68), (66, 73), (67, 72),
        (57, 61), (58, 60),
        (74, 80), (75, 79), (76, 78), (87, 89), (93, 91), (86, 90), (85, 81), (84, 82),
    ] + [(94 + i, 115 + i) for i in range(21)],
    "coco_wholebody133": _COCO_PAIRS + [
        (17, 20), (18, 21), (19, 22),
        (23, 39), (24, 38), (25, 37), (26, 36), (27, 35), (28, 34), (29, 33), (30, 32),
        (40, 49), (41, 48), (42, 47), (43, 46), (44, 45),
        (59, 68), (60, 67), (61, 66), (62, 65), (63, 70), (64, 69),
        (54, 58), (55, 57),
        (71, 77), (72, 76), (73, 75), (84, 86), (90, 88), (83, 87), (82, 78), (81, 79),
    ] + [(91 + i, 112 + i) for i in range(21)],
}


def _chain(first: int, last: int) -> list[tuple[int, int]]:
    return [(i, i + 1) for i in range(first, last)]


def _hand(root: int) -> list[tuple[int, int]]:
    # Written out per finger as official halpe_136.py orders them: root -> 4 joints per finger.
    out = []
    for tip_base in (1, 5, 9, 13, 17):
        b = root + tip_base
        out += [(root, b), (b, b + 1), (b + 1, b + 2), (b + 2, b + 3)]
    return out


_HALPE26_LINKS = [(0, 1), (0, 2), (1, 3), (2, 4), (5, 18), (6, 18), (5, 7), (7, 9), (6, 8), (8, 10),
                  (17, 18), (18, 19), (19, 11), (19, 12), (11, 13), (12, 14), (13, 15), (14, 16),
                  (20, 24), (21, 25), (23, 25), (22, 24), (15, 24), (16, 25)]
OFFICIAL_EDGES = {
    # The official list with the neck index 17 replaced by the shoulders, plus a hip-hip link.
    "coco17": [(0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
               (5, 11), (6, 12), (11, 12), (11, 13), (12, 14), (13, 15), (14, 16)],
    "halpe26": _HALPE26_LINKS,
    "halpe136": _HALPE26_LINKS
    + [e for lo, hi in [(26, 42), (43, 47), (48, 52), (53, 56), (57, 61), (62, 67), (68, 73),
                        (74, 93)] for e in _chain(lo, hi)]
    + _hand(94) + _hand(115),
    "coco_wholebody133": [(0, 1), (0, 2), (1, 3), (2, 4), (5, 7), (7, 9), (6, 8), (8, 10),
                          (11, 13), (12, 14), (13, 15), (14, 16), (18, 19), (21, 22), (20, 22),
                          (17, 19), (15, 19), (16, 22)]
    + [e for lo, hi in [(23, 39), (40, 44), (45, 49), (50, 53), (54, 58), (59, 64), (65, 70),
                        (71, 90)] for e in _chain(lo, hi)]
    + _hand(91) + _hand(112),
}


@pytest.fixture(params=NAMES, ids=NAMES)
def layout(request: pytest.FixtureRequest) -> Layout:
    return get_layout(request.param)


# ------------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------------


def test_list_layouts() -> None:
    assert list(list_layouts()) == NAMES


def test_names_unique_and_count(layout: Layout) -> None:
    assert layout.num_keypoints == COUNTS[layout.name]
    assert len(layout.keypoint_names) == COUNTS[layout.name]
    assert len(set(layout.keypoint_names)) == layout.num_keypoints


def test_shared_names_mean_the_same_point() -> None:
    coco, h26, h136, wb = (get_layout(n) for n in NAMES)
    assert h26.keypoint_names[:17] == coco.keypoint_names
    assert wb.keypoint_names[:17] == coco.keypoint_names
    assert h136.keypoint_names[:26] == h26.keypoint_names
    assert h26.keypoint_names[17:20] == ("head", "neck", "hip")
    # Feet: Halpe alternates left/right, COCO-WholeBody lists the left foot first
    # (official halpe_26.py, coco_wholebody.py).
    assert h26.keypoint_names[20:26] == ("left_big_toe", "right_big_toe", "left_small_toe",
                                         "right_small_toe", "left_heel", "right_heel")
    assert wb.keypoint_names[17:23] == ("left_big_toe", "left_small_toe", "left_heel",
                                        "right_big_toe", "right_small_toe", "right_heel")
    assert h136.keypoint_names[26:94] == wb.keypoint_names[23:91]
    assert h136.keypoint_names[26] == "face_0" and h136.keypoint_names[93] == "face_67"
    assert h136.keypoint_names[94:] == wb.keypoint_names[91:]
    assert h136.keypoint_names[94] == "left_hand_0" and h136.keypoint_names[135] == "right_hand_20"


def test_coco_names_match_annotation_file() -> None:
    if not WHOLEBODY_JSON.exists():
        pytest.skip(f"shared data absent: {WHOLEBODY_JSON}")
    categories = json.loads(WHOLEBODY_JSON.read_text())["categories"]
    assert tuple(categories[0]["keypoints"]) == get_layout("coco17").keypoint_names


def test_flip_index_is_involution(layout: Layout) -> None:
    flip = layout.flip_index
    assert flip.shape == (layout.num_keypoints,)
    assert sorted(flip.tolist()) == list(range(layout.num_keypoints))
    np.testing.assert_array_equal(flip[flip], np.arange(layout.num_keypoints))
    for a, b in layout.flip_pairs:
        assert flip[a] == b and flip[b] == a


def test_flip_pairs_match_official(layout: Layout) -> None:
    got = {frozenset(p) for p in layout.flip_pairs}
    want = {frozenset(p) for p in OFFICIAL_FLIP_PAIRS[layout.name]}
    assert len(layout.flip_pairs) == len(OFFICIAL_FLIP_PAIRS[layout.name])
    assert got == want


def test_flip_pairs_swap_left_and_right_names(layout: Layout) -> None:
    names = layout.keypoint_names
    for a, b in layout.flip_pairs:
        na, nb = names[a], names[b]
        if na.startswith("face_"):
            assert nb.startswith("face_")
            continue
        sides = {na.split("_", 1)[0], nb.split("_", 1)[0]}
        assert sides == {"left", "right"}, (na, nb)
        assert na.split("_", 1)[1] == nb.split("_", 1)[1], (na, nb)
    # No left/right point is left unpaired.
    paired = {i for p in layout.flip_pairs for i in p}
    for i, n in enumerate(names):
        if n.startswith(("left_", "right_")):
            assert i in paired, n


def test_flip_index_moves_a_mirrored_pose_onto_itself(layout: Layout) -> None:
    # A person symmetric about x = 0: mirroring x and re-ordering by flip_index gives it back.
    rng = np.random.default_rng(0)
    kp = rng.uniform(-50, 50, (layout.num_keypoints, 2))
    for a, b in layout.flip_pairs:
        kp[b] = (-kp[a, 0], kp[a, 1])
    centre = np.setdiff1d(np.arange(layout.num_keypoints), np.array(layout.flip_pairs).ravel())
    kp[centre, 0] = 0.0
    mirrored = kp * np.array([-1.0, 1.0])
    np.testing.assert_array_equal(mirrored[layout.flip_index], kp)


def test_edges_valid(layout: Layout) -> None:
    edges = np.array(layout.edges)
    assert edges.ndim == 2 and edges.shape[1] == 2
    assert edges.min() >= 0 and edges.max() < layout.num_keypoints
    assert np.all(edges[:, 0] != edges[:, 1])
    assert len({frozenset(e) for e in layout.edges}) == len(layout.edges)
    assert len(layout.edge_parts) == len(layout.edges)
    assert set(layout.edge_parts) <= set(PARTS)


def test_edges_match_official(layout: Layout) -> None:
    assert list(layout.edges) == OFFICIAL_EDGES[layout.name]


def test_edge_parts_label_by_part() -> None:
    h136 = get_layout("halpe136")
    parts = dict(zip(h136.edges, h136.edge_parts))
    assert parts[(5, 7)] == "body"
    assert parts[(15, 24)] == "foot"        # ankle to heel counts as foot
    assert parts[(26, 27)] == "face"
    assert parts[(94, 95)] == "left_hand"
    assert parts[(115, 116)] == "right_hand"


def test_sigmas(layout: Layout) -> None:
    assert layout.sigmas.shape == (layout.num_keypoints,)
    assert np.all(layout.sigmas > 0)
    np.testing.assert_allclose(layout.sigmas[:17], COCO_SIGMAS)
    assert not layout.sigmas.flags.writeable


def test_coco_sigmas_match_pycocotools() -> None:
    cocoeval = pytest.importorskip("pycocotools.cocoeval")
    np.testing.assert_allclose(get_layout("coco17").sigmas, cocoeval.Params(iouType="keypoints")
                               .kpt_oks_sigmas)


def test_halpe_sigmas() -> None:
    h136 = get_layout("halpe136").sigmas
    np.testing.assert_allclose(h136[17:20], [0.08] * 3)
    np.testing.assert_allclose(h136[20:26], [0.089] * 6)
    np.testing.assert_allclose(h136[26:], [0.015] * 110)
    np.testing.assert_array_equal(get_layout("halpe26").sigmas, h136[:26])


def test_wholebody_sigmas() -> None:
    wb = get_layout("coco_wholebody133").sigmas
    np.testing.assert_allclose(wb[17:23], [0.068, 0.066, 0.066, 0.092, 0.094, 0.094])
    assert wb[23] == pytest.approx(0.042) and wb[90] == pytest.approx(0.008)
    assert wb[23 + 47] == pytest.approx(0.034)
    np.testing.assert_array_equal(wb[91:112], wb[112:133])
    assert wb[91] == pytest.approx(0.029) and wb[111] == pytest.approx(0.031)


def test_parts_partition_the_layout(layout: Layout) -> None:
    k = layout.num_keypoints
    pieces = [layout.parts[p] for p in PARTS]
    joined = np.concatenate(pieces)
    assert len(joined) == k and len(np.unique(joined)) == k  # cover and no overlap
    np.testing.assert_array_equal(np.sort(joined), np.arange(k))
    assert {p: len(layout.parts[p]) for p in PARTS} == PART_SIZES[layout.name]
    both_hands = np.concatenate([layout.parts["left_hand"], layout.parts["right_hand"]])
    np.testing.assert_array_equal(layout.parts["hand"], both_hands)
    for part in PARTS:
        for i in layout.parts[part]:
            assert layout.part_of(int(i)) == part
    for i in layout.parts["left_hand"]:
        assert layout.keypoint_names[i].startswith("left_hand_")


def test_body_part_is_a_leading_block(layout: Layout) -> None:
    # halpecocotools evaluates "body" as the first 20 (Halpe) or 17 (COCO) keypoints.
    n = PART_SIZES[layout.name]["body"]
    np.testing.assert_array_equal(layout.parts["body"], np.arange(n))


def test_part_of_out_of_range(layout: Layout) -> None:
    with pytest.raises(IndexError, match="outside"):
        layout.part_of(layout.num_keypoints)


def test_index_by_name() -> None:
    assert get_layout("coco_wholebody133").index("right_heel") == 22
    assert get_layout("halpe26").index("right_heel") == 25
    with pytest.raises(KeyError, match="left_heel"):
        get_layout("coco17").index("left_heel")


def test_layout_is_immutable() -> None:
    layout = get_layout("halpe26")
    with pytest.raises(AttributeError):
        layout.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        layout.parts["body"] = np.arange(3)  # type: ignore[index]
    with pytest.raises(ValueError):
        layout.flip_index[0] = 3


# ------------------------------------------------------------------------------------------------
# Registry
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("alias", "name"), [
    ("coco", "coco17"), ("coco17", "coco17"), ("halpe_26", "halpe26"), ("halpe_136", "halpe136"),
    ("coco_wholebody", "coco_wholebody133"), ("wholebody", "coco_wholebody133"),
    ("COCO-WholeBody", "coco_wholebody133"), ("Halpe136", "halpe136"),
], ids=lambda v: str(v))
def test_get_layout_aliases(alias: str, name: str) -> None:
    assert get_layout(alias).name == name
    assert get_layout(alias) is get_layout(name)


def test_get_layout_passes_layout_through() -> None:
    layout = get_layout("halpe26")
    assert get_layout(layout) is layout


def test_get_layout_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown keypoint layout 'halpe135'") as info:
        get_layout("halpe135")
    message = str(info.value)
    for name in NAMES:
        assert name in message
    assert "Did you mean 'halpe136'" in message


def test_get_layout_wrong_type() -> None:
    with pytest.raises(TypeError, match="layout name"):
        get_layout(136)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# Conversion
# ------------------------------------------------------------------------------------------------


def _random_pose(name: str, n: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = COUNTS[name]
    return rng.uniform(0, 640, (n, k, 2)), rng.uniform(0.01, 1, (n, k))


def _expected_point(src: Layout, kp: np.ndarray, sc: np.ndarray, name: str
                    ) -> tuple[np.ndarray, np.ndarray]:
    """What ``name`` should be after converting from ``src``, computed from the names alone."""
    names = list(src.keypoint_names)
    if name in names:
        i = names.index(name)
        return kp[:, i], sc[:, i]
    sources = {"neck": ("left_shoulder", "right_shoulder"), "hip": ("left_hip", "right_hip")}
    if name in sources:
        a, b = (names.index(s) for s in sources[name])
        return 0.5 * kp[:, a] + 0.5 * kp[:, b], np.where(sc[:, a] < sc[:, b], sc[:, a], sc[:, b])
    return np.zeros_like(kp[:, 0]), np.zeros_like(sc[:, 0])


PAIRS = list(itertools.product(NAMES, NAMES))


@pytest.mark.parametrize(("src", "dst"), PAIRS, ids=[f"{s}->{d}" for s, d in PAIRS])
def test_convert_by_name(src: str, dst: str) -> None:
    kp, sc = _random_pose(src)
    out_kp, out_sc = convert(kp, sc, src, dst)
    dst_layout = get_layout(dst)
    assert out_kp.shape == (3, dst_layout.num_keypoints, 2)
    assert out_sc.shape == (3, dst_layout.num_keypoints)
    for d, name in enumerate(dst_layout.keypoint_names):
        want_kp, want_sc = _expected_point(get_layout(src), kp, sc, name)
        np.testing.assert_allclose(out_kp[:, d], want_kp, rtol=0, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(out_sc[:, d], want_sc, rtol=0, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(("src", "dst"), PAIRS, ids=[f"{s}->{d}->{s}" for s, d in PAIRS])
def test_convert_round_trip_keeps_shared_points(src: str, dst: str) -> None:
    kp, sc = _random_pose(src, seed=1)
    back_kp, back_sc = convert(*convert(kp, sc, src, dst), dst, src)
    src_names, dst_names = get_layout(src).keypoint_names, set(get_layout(dst).keypoint_names)
    for i, name in enumerate(src_names):
        if name in dst_names:
            np.testing.assert_array_equal(back_kp[:, i], kp[:, i], err_msg=name)
            np.testing.assert_array_equal(back_sc[:, i], sc[:, i], err_msg=name)


def test_halpe_to_wholebody_and_back() -> None:
    kp, sc = _random_pose("halpe136", seed=2)
    back_kp, back_sc = convert(*convert(kp, sc, "halpe136", "coco_wholebody133"),
                               "coco_wholebody133", "halpe136")
    keep = [i for i in range(136) if i not in (17, 18, 19)]
    np.testing.assert_array_equal(back_kp[:, keep], kp[:, keep])
    np.testing.assert_array_equal(back_sc[:, keep], sc[:, keep])
    # head cannot be recovered; neck/hip come back as shoulder/hip midpoints.
    np.testing.assert_array_equal(back_kp[:, 17], 0.0)
    np.testing.assert_array_equal(back_sc[:, 17], 0.0)
    np.testing.assert_allclose(back_kp[:, 18], (kp[:, 5] + kp[:, 6]) / 2)
    np.testing.assert_allclose(back_sc[:, 18], np.minimum(sc[:, 5], sc[:, 6]))
    np.testing.assert_allclose(back_kp[:, 19], (kp[:, 11] + kp[:, 12]) / 2)
    np.testing.assert_allclose(back_sc[:, 19], np.minimum(sc[:, 11], sc[:, 12]))


def test_coco17_to_halpe26_derives_neck_and_hip_by_hand() -> None:
    kp = np.zeros((17, 2))
    kp[5], kp[6], kp[11], kp[12] = (10, 20), (30, 40), (0, 100), (20, 120)
    sc = np.full(17, 0.9)
    sc[6], sc[11] = 0.3, 0.0
    out_kp, out_sc = convert(kp, sc, "coco17", "halpe26")
    np.testing.assert_array_equal(out_kp[18], [20, 30])
    np.testing.assert_array_equal(out_kp[19], [10, 110])
    assert out_sc[18] == pytest.approx(0.3)
    assert out_sc[19] == 0.0
    assert out_sc[17] == 0.0 and out_kp[17].tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(out_sc[20:], 0.0)


def test_convert_dtypes_and_single_pose() -> None:
    kp32 = np.ones((17, 2), np.float32)
    out_kp, out_sc = convert(kp32, np.ones(17, np.float32), "coco17", "halpe136")
    assert out_kp.dtype == np.float32 and out_sc.dtype == np.float32
    assert out_kp.shape == (136, 2) and out_sc.shape == (136,)
    out_kp, _ = convert(np.ones((17, 2), np.int64), np.ones(17), "coco", "halpe_26")
    assert out_kp.dtype == np.float64


def test_convert_returns_new_arrays() -> None:
    kp, sc = _random_pose("halpe26")
    out_kp, out_sc = convert(kp, sc, "halpe26", "halpe26")
    out_kp[:] = -1
    out_sc[:] = -1
    assert kp.min() >= 0 and sc.min() > 0


@pytest.mark.parametrize(("kp_shape", "sc_shape", "match"), [
    ((2, 16, 2), (2, 16), "keypoints: expected shape"),
    ((2, 17, 3), (2, 17), "keypoints: expected shape"),
    ((17,), (17,), "keypoints: expected shape"),
    ((2, 17, 2), (3, 17), "keypoint_scores: expected shape"),
], ids=["wrong-k", "xyz", "1d", "scores-mismatch"])
def test_convert_rejects_bad_shapes(kp_shape: tuple[int, ...], sc_shape: tuple[int, ...],
                                    match: str) -> None:
    with pytest.raises(ValueError, match=match):
        convert(np.zeros(kp_shape), np.zeros(sc_shape), "coco17", "halpe26")


def test_convert_rejects_non_numeric() -> None:
    with pytest.raises(TypeError, match="keypoints"):
        convert(np.full((17, 2), "a"), np.zeros(17), "coco17", "halpe26")


def test_convert_poses() -> None:
    kp, sc = _random_pose("halpe136", n=2, seed=3)
    poses = Poses(kp, sc, np.array([[0, 0, 10, 20], [5, 5, 50, 60]]), np.array([0.9, 0.8]),
                  layout="halpe136", track_ids=np.array([4, -1]))
    out = convert_poses(poses, "coco17")
    assert out.layout == "coco17" and out.num_keypoints == 17
    np.testing.assert_array_equal(out.keypoints, poses.keypoints[:, :17])
    np.testing.assert_array_equal(out.keypoint_scores, poses.keypoint_scores[:, :17])
    np.testing.assert_array_equal(out.xyxy, poses.xyxy)
    np.testing.assert_array_equal(out.box_scores, poses.box_scores)
    np.testing.assert_array_equal(out.scores, poses.scores)
    np.testing.assert_array_equal(out.track_ids, [4, -1])
    assert len(convert_poses(Poses.empty(17, "coco17"), "halpe136")) == 0


def test_convert_poses_rejects_layout_mismatch() -> None:
    kp, sc = _random_pose("halpe26", n=1)
    poses = Poses(kp, sc, np.zeros((1, 4)), np.ones(1), layout="halpe136")
    with pytest.raises(ValueError, match="136"):
        convert_poses(poses, "coco17")


# ------------------------------------------------------------------------------------------------
# Real annotations
# ------------------------------------------------------------------------------------------------


def _wholebody_annotations() -> list[dict]:
    if not WHOLEBODY_JSON.exists():
        pytest.skip(f"shared data absent: {WHOLEBODY_JSON}")
    return json.loads(WHOLEBODY_JSON.read_text())["annotations"]


def _wholebody_array(annotation: dict) -> np.ndarray:
    """``(133, 3)`` x, y, visibility, concatenated as the COCO-WholeBody loader does."""
    keys = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")
    return np.concatenate([np.asarray(annotation[k], np.float64).reshape(-1, 3) for k in keys])


def test_wholebody_ground_truth_round_trips_through_halpe136() -> None:
    gt = np.stack([_wholebody_array(a) for a in _wholebody_annotations()])
    assert gt.shape[1:] == (133, 3)
    halpe_kp, halpe_vis = convert(gt[..., :2], gt[..., 2], "coco_wholebody133", "halpe136")
    back_kp, back_vis = convert(halpe_kp, halpe_vis, "halpe136", "coco_wholebody133")
    np.testing.assert_array_equal(back_kp, gt[..., :2])
    np.testing.assert_array_equal(back_vis, gt[..., 2])
    # Hands and face keep their blocks; the feet are re-ordered (L big, R big, L small, ...).
    np.testing.assert_array_equal(halpe_kp[:, 94:], gt[:, 91:, :2])
    np.testing.assert_array_equal(halpe_kp[:, 26:94], gt[:, 23:91, :2])
    np.testing.assert_array_equal(halpe_kp[:, 20:26], gt[:, [17, 20, 18, 21, 19, 22], :2])


def test_wholebody_feet_land_on_halpe_feet() -> None:
    """The same people are annotated in both formats; converted feet sit near Halpe's feet."""
    if not HALPE_JSON.exists():
        pytest.skip(f"shared data absent: {HALPE_JSON}")
    halpe = json.loads(HALPE_JSON.read_text())["annotations"]
    checked = 0
    for annotation in _wholebody_annotations():
        gt = _wholebody_array(annotation)
        match = [np.asarray(h["keypoints"], np.float64).reshape(-1, 3) for h in halpe
                 if h["image_id"] == annotation["image_id"]
                 and np.array_equal(np.asarray(h["keypoints"]).reshape(-1, 3)[:17], gt[:17])]
        if len(match) != 1:
            continue
        halpe_feet = match[0][20:26]
        if not (np.all(halpe_feet[:, 2] > 0) and np.all(gt[17:23, 2] > 0)):
            continue
        kp, _ = convert(gt[:, :2], gt[:, 2], "coco_wholebody133", "halpe136")
        by_name = np.linalg.norm(kp[20:26] - halpe_feet[:, :2], axis=1).mean()
        by_slot = np.linalg.norm(gt[17:23, :2] - halpe_feet[:, :2], axis=1).mean()
        assert by_name < by_slot
        # Every converted left foot point is nearer Halpe's left foot than its right foot.
        left, right = halpe_feet[[0, 2, 4], :2].mean(0), halpe_feet[[1, 3, 5], :2].mean(0)
        for d in (20, 22, 24):
            assert np.linalg.norm(kp[d] - left) < np.linalg.norm(kp[d] - right)
        checked += 1
    if checked == 0:
        pytest.skip("no person has all six feet annotated in both files")
