"""YOLOX: official layout and naming, preprocessing, decoding, NMS and the detector end to end."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from alphapose.detection.yolox import (
    STRIDES,
    YOLOX_VARIANTS,
    YOLOXConfig,
    YOLOXDetector,
    build_yolox,
    decode_outputs,
    guess_variant,
    load_yolox_weights,
    postprocess,
    preprocess,
)
from alphapose.transforms import PastedLetterbox

VARIANTS = list(YOLOX_VARIANTS)

# Parameter counts published in the YOLOX README (millions, as rounded there).
PUBLISHED_PARAMS_M = {"yolox-nano": (0.91, 2), "yolox-tiny": (5.06, 2), "yolox-s": (9.0, 1),
                      "yolox-m": (25.3, 1), "yolox-l": (54.2, 1), "yolox-x": (99.1, 1)}

# (depth, width, depthwise) of the official experiment files.
OFFICIAL_SIZES = {"yolox-nano": (0.33, 0.25, True), "yolox-tiny": (0.33, 0.375, False),
                  "yolox-s": (0.33, 0.50, False), "yolox-m": (0.67, 0.75, False),
                  "yolox-l": (1.0, 1.0, False), "yolox-x": (1.33, 1.25, False)}


# -- an independent description of the official state-dict layout ----------------------------


def _conv_bn(prefix: str, cin: int, cout: int, k: int, groups: int = 1) -> dict:
    out = {f"{prefix}.conv.weight": (cout, cin // groups, k, k)}
    for name in ("weight", "bias", "running_mean", "running_var"):
        out[f"{prefix}.bn.{name}"] = (cout,)
    out[f"{prefix}.bn.num_batches_tracked"] = ()
    return out


def _conv3(prefix: str, cin: int, cout: int, dw: bool) -> dict:
    if dw:
        return {**_conv_bn(f"{prefix}.dconv", cin, cin, 3, groups=cin),
                **_conv_bn(f"{prefix}.pconv", cin, cout, 1)}
    return _conv_bn(prefix, cin, cout, 3)


def _csp(prefix: str, cin: int, cout: int, n: int, dw: bool) -> dict:
    h = cout // 2
    out = {**_conv_bn(f"{prefix}.conv1", cin, h, 1), **_conv_bn(f"{prefix}.conv2", cin, h, 1),
           **_conv_bn(f"{prefix}.conv3", 2 * h, cout, 1)}
    for i in range(n):
        out.update(_conv_bn(f"{prefix}.m.{i}.conv1", h, h, 1))
        out.update(_conv3(f"{prefix}.m.{i}.conv2", h, h, dw))
    return out


def official_shapes(depth: float, width: float, dw: bool, classes: int = 80) -> dict:
    c, n = int(64 * width), max(round(3 * depth), 1)
    bb = "backbone.backbone"
    s = {**_conv_bn(f"{bb}.stem.conv", 12, c, 3)}
    for stage, (cin, cout, reps) in {"dark2": (c, 2 * c, n), "dark3": (2 * c, 4 * c, 3 * n),
                                     "dark4": (4 * c, 8 * c, 3 * n)}.items():
        s.update(_conv3(f"{bb}.{stage}.0", cin, cout, dw))
        s.update(_csp(f"{bb}.{stage}.1", cout, cout, reps, dw))
    s.update(_conv3(f"{bb}.dark5.0", 8 * c, 16 * c, dw))
    s.update(_conv_bn(f"{bb}.dark5.1.conv1", 16 * c, 8 * c, 1))
    s.update(_conv_bn(f"{bb}.dark5.1.conv2", 32 * c, 16 * c, 1))
    s.update(_csp(f"{bb}.dark5.2", 16 * c, 16 * c, n, dw))
    c3, c4, c5 = int(256 * width), int(512 * width), int(1024 * width)
    n = round(3 * depth)
    s.update(_conv_bn("backbone.lateral_conv0", c5, c4, 1))
    s.update(_csp("backbone.C3_p4", 2 * c4, c4, n, dw))
    s.update(_conv_bn("backbone.reduce_conv1", c4, c3, 1))
    s.update(_csp("backbone.C3_p3", 2 * c3, c3, n, dw))
    s.update(_conv3("backbone.bu_conv2", c3, c3, dw))
    s.update(_csp("backbone.C3_n3", 2 * c3, c4, n, dw))
    s.update(_conv3("backbone.bu_conv1", c4, c4, dw))
    s.update(_csp("backbone.C3_n4", 2 * c4, c5, n, dw))
    h = int(256 * width)
    for i, cin in enumerate((c3, c4, c5)):
        s.update(_conv_bn(f"head.stems.{i}", cin, h, 1))
        for branch in ("cls_convs", "reg_convs"):
            for j in range(2):
                s.update(_conv3(f"head.{branch}.{i}.{j}", h, h, dw))
        for pred, out in (("cls_preds", classes), ("reg_preds", 4), ("obj_preds", 1)):
            s[f"head.{pred}.{i}.weight"] = (out, h, 1, 1)
            s[f"head.{pred}.{i}.bias"] = (out,)
    return s


def random_state(shapes: dict, seed: int = 0, device: str = "cpu") -> dict:
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(7, device=device)
        elif device == "meta":
            out[key] = torch.empty(shape, device="meta")
        elif key.endswith("running_var"):
            out[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            out[key] = torch.randn(shape, generator=gen)
    return out


def _meta_model(variant: str):
    with torch.device("meta"):
        return build_yolox(variant)


# -- layout ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANTS)
def test_parameter_count_matches_published(variant: str) -> None:
    count = sum(p.numel() for p in _meta_model(variant).parameters())
    published, digits = PUBLISHED_PARAMS_M[variant]
    assert round(count / 1e6, digits) == published


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANTS)
def test_state_dict_keys_and_shapes_are_official(variant: str) -> None:
    expected = official_shapes(*OFFICIAL_SIZES[variant])
    ours = {k: tuple(v.shape) for k, v in _meta_model(variant).state_dict().items()}
    assert set(ours) == set(expected)
    assert ours == expected


LITERAL = [
    ("yolox-s", "backbone.backbone.stem.conv.conv.weight", (32, 12, 3, 3)),
    ("yolox-s", "backbone.backbone.dark5.1.conv2.conv.weight", (512, 1024, 1, 1)),
    ("yolox-s", "backbone.C3_n4.conv3.conv.weight", (512, 512, 1, 1)),
    ("yolox-s", "head.cls_preds.0.weight", (80, 128, 1, 1)),
    ("yolox-s", "head.reg_preds.2.bias", (4,)),
    ("yolox-s", "head.obj_preds.1.weight", (1, 128, 1, 1)),
    ("yolox-x", "backbone.backbone.dark3.1.m.11.conv2.conv.weight", (160, 160, 3, 3)),
    ("yolox-tiny", "backbone.lateral_conv0.conv.weight", (192, 384, 1, 1)),
    ("yolox-nano", "backbone.backbone.stem.conv.conv.weight", (16, 12, 3, 3)),
    ("yolox-nano", "backbone.backbone.dark2.0.dconv.conv.weight", (16, 1, 3, 3)),
    ("yolox-nano", "backbone.backbone.dark2.0.pconv.conv.weight", (32, 16, 1, 1)),
    ("yolox-nano", "head.cls_convs.0.0.dconv.bn.running_var", (64,)),
]


@pytest.mark.parametrize("variant,key,shape", LITERAL, ids=[f"{v}:{k}" for v, k, _ in LITERAL])
def test_literal_official_keys(variant: str, key: str, shape: tuple) -> None:
    assert tuple(_meta_model(variant).state_dict()[key].shape) == shape


@pytest.mark.parametrize("variant", ["yolox-nano", "yolox-tiny", "yolox-s"])
def test_random_official_checkpoint_loads_strict(variant: str, tmp_path: Path) -> None:
    state = random_state(official_shapes(*OFFICIAL_SIZES[variant]), seed=3)
    path = tmp_path / f"{variant}.pth"
    # the official files wrap the weights: {"model": ..., plus training state}
    torch.save({"model": state, "start_epoch": 300, "optimizer": {"state": {}}}, path)
    model = load_yolox_weights(build_yolox(variant), path)
    loaded = model.state_dict()
    for key in ("backbone.backbone.stem.conv.conv.weight", "head.obj_preds.2.bias",
                "backbone.C3_p3.m.0.conv2.conv.weight" if variant != "yolox-nano"
                else "backbone.C3_p3.m.0.conv2.dconv.conv.weight"):
        assert torch.equal(loaded[key], state[key])
    assert model.head.obj_preds[2].bias.item() == state["head.obj_preds.2.bias"].item()


@pytest.mark.parametrize("variant", ["yolox-m", "yolox-l", "yolox-x"])
def test_big_variants_accept_official_layout(variant: str) -> None:
    # shapes and keys only (meta tensors): the large variants' values are not materialised
    state = random_state(official_shapes(*OFFICIAL_SIZES[variant]), device="meta")
    load_yolox_weights(_meta_model(variant), state)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANTS)
def test_guess_variant(variant: str) -> None:
    assert guess_variant(official_shapes_as_meta(variant)) == variant


def official_shapes_as_meta(variant: str) -> dict:
    return random_state(official_shapes(*OFFICIAL_SIZES[variant]), device="meta")


def test_missing_num_batches_tracked_is_accepted() -> None:
    state = {k: v for k, v in random_state(official_shapes(*OFFICIAL_SIZES["yolox-nano"])).items()
             if not k.endswith("num_batches_tracked")}
    load_yolox_weights(build_yolox("yolox-nano"), state)


def test_wrong_variant_names_shapes_and_the_fitting_variant() -> None:
    state = official_shapes_as_meta("yolox-s")
    with pytest.raises(ValueError, match=r"wrong shape.*look like 'yolox-s'"):
        load_yolox_weights(_meta_model("yolox-m"), state)


def test_missing_and_unexpected_keys_are_named() -> None:
    state = official_shapes_as_meta("yolox-s")
    del state["head.obj_preds.1.bias"]
    state["head.extra.weight"] = torch.empty(3, device="meta")
    with pytest.raises(ValueError, match=r"missing \(1\): head\.obj_preds\.1\.bias; "
                                         r"unexpected \(1\): head\.extra\.weight"):
        load_yolox_weights(_meta_model("yolox-s"), state)


class _Custom:  # a pickled object weights_only=True refuses
    pass


def test_checkpoint_needing_full_unpickling_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.pth"
    torch.save({"model": {"w": torch.zeros(1)}, "extra": _Custom()}, path)
    with pytest.raises(ValueError, match="refused"):
        load_yolox_weights(build_yolox("yolox-nano"), path)


def test_unknown_variant_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="yolox-nano, yolox-tiny, yolox-s"):
        build_yolox("yolox-xl")


def test_aliases() -> None:
    assert YOLOXDetector("yolox", model=build_yolox("yolox-nano")).variant == "yolox-x"
    assert YOLOXDetector("YOLOX_S", model=build_yolox("yolox-nano")).variant == "yolox-s"


# -- network ---------------------------------------------------------------------------------


def test_forward_level_shapes() -> None:
    torch.manual_seed(0)
    model = build_yolox("yolox-nano")
    with torch.inference_mode():
        levels = model(torch.rand(2, 3, 64, 96) * 255)
    assert [tuple(t.shape) for t in levels] == [(2, 85, 8, 12), (2, 85, 4, 6), (2, 85, 2, 3)]


def test_focus_stacks_pixel_phases_in_official_order() -> None:
    model = build_yolox("yolox-nano")
    seen = {}
    model.backbone.backbone.stem.conv.register_forward_hook(
        lambda module, args, out: seen.setdefault("x", args[0]))
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    model.backbone.backbone.stem(x)
    stacked = seen["x"]
    assert stacked.shape == (2, 12, 2, 3)
    # (even row, even col), (odd row, even col), (even row, odd col), (odd row, odd col)
    for phase, (r, c) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):
        assert torch.equal(stacked[:, 3 * phase:3 * phase + 3], x[:, :, r::2, c::2])


# -- preprocessing ---------------------------------------------------------------------------


def test_preprocess_keeps_bgr_pastes_top_left_pads_114() -> None:
    image = np.empty((100, 200, 3), np.uint8)
    image[:] = (10, 20, 30)  # B, G, R
    tensor, box = preprocess(image, (64, 64))
    assert box.scale == pytest.approx(0.32) and box.image_size == (200, 100)
    assert tensor.shape == (3, 64, 64) and tensor.dtype == np.float32
    # resized to int(200 * .32) x int(100 * .32) = 64 x 32 at the top-left
    np.testing.assert_array_equal(tensor[:, :32, :], np.array([10, 20, 30], np.float32)[:, None,
                                                                                        None]
                                  * np.ones((1, 32, 64)))
    assert np.all(tensor[:, 32:, :] == 114)


def test_preprocess_rejects_non_images() -> None:
    with pytest.raises(TypeError, match="uint8"):
        preprocess(np.zeros((4, 4, 3), np.float32), (32, 32))
    with pytest.raises(ValueError, match="H, W, 3"):
        preprocess(np.zeros((4, 4), np.uint8), (32, 32))


@pytest.mark.parametrize("size", [100, (64, 70), 0], ids=["100", "64x70", "0"])
def test_config_rejects_sizes_not_multiple_of_32(size) -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        YOLOXConfig(input_size=size)


# -- decoding and post-processing with planted raw outputs -----------------------------------


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _blank_levels(classes: int, size: int = 64) -> list[np.ndarray]:
    levels = []
    for s in STRIDES:
        raw = np.zeros((1, 5 + classes, size // s, size // s), np.float32)
        raw[:, 4:] = -30.0  # objectness and classes ~ 0
        levels.append(raw)
    return levels


def _plant(levels, level, gx, gy, reg, obj, cls) -> None:
    levels[level][0, :4, gy, gx] = reg
    levels[level][0, 4, gy, gx] = _logit(obj)
    levels[level][0, 5:, gy, gx] = [_logit(p) for p in cls]


def test_planted_outputs_give_hand_computed_boxes() -> None:
    levels = _blank_levels(classes=3)
    # A: stride 16, cell (2, 1): centre (2.5 * 16, 1.5 * 16) = (40, 24), size (2 * 16, 3 * 16)
    _plant(levels, 1, 2, 1, (0.5, 0.5, math.log(2), math.log(3)), 0.9, (0.8, 0.1, 0.1))
    # B: stride 8, cell (5, 3): centre (42, 24), size (32, 48); IoU with A 0.88 -> suppressed
    _plant(levels, 0, 5, 3, (0.25, 0.0, math.log(4), math.log(6)), 0.6, (0.8, 0.1, 0.1))
    # C: best class is 2, not person -> dropped
    _plant(levels, 2, 1, 1, (0.5, 0.5, 0.0, 0.0), 0.95, (0.8, 0.1, 0.9))
    # D: objectness 0.5 > 0.1 but obj * cls = 0.075 < 0.1 -> dropped
    _plant(levels, 0, 0, 0, (0.5, 0.5, 0.0, 0.0), 0.5, (0.15, 0.01, 0.01))
    # E: stride 32, cell (0, 1): centre (16, 48), size (48, 32): partly in the padding
    _plant(levels, 2, 0, 1, (0.5, 0.5, math.log(1.5), 0.0), 0.5, (0.8, 0.1, 0.1))
    decoded = decode_outputs(levels)
    assert decoded.shape == (1, 64 + 16 + 4, 8)
    # image 100 x 80 (w x h) on a 64 x 64 input: r = min(64 / 80, 64 / 100) = 0.64
    box = PastedLetterbox(scale=0.64, image_size=(100, 80))
    dets = postprocess(decoded[0], box, YOLOXConfig(input_size=64))
    a = np.array([40 - 16, 24 - 24, 40 + 16, 24 + 24]) / 0.64      # (37.5, 0, 87.5, 75)
    e = np.array([16 - 24, 48 - 16, 16 + 24, 48 + 16]) / 0.64      # (-12.5, 50, 62.5, 100)
    e = np.array([max(e[0], 0), e[1], e[2], min(e[3], 80)])        # clamped to the image
    np.testing.assert_allclose(dets.xyxy, np.stack([a, e]), atol=1e-4)
    np.testing.assert_allclose(dets.scores, [0.9, 0.5], atol=1e-6)  # objectness, not obj * cls


def _chain(n: int, shift: float, size: float = 10.0) -> np.ndarray:
    """n boxes in a row, each overlapping the next with IoU (size - shift) / (size + shift)."""
    x1 = np.arange(n) * shift
    return np.stack([x1, np.zeros(n), x1 + size, np.full(n, size)], axis=1)


@pytest.mark.parametrize("n,expected", [(100, 100), (120, 60)], ids=["100-kept", "120-crowd"])
def test_crowd_rule_redoes_nms_at_055(n: int, expected: int) -> None:
    shift = 10 * 0.42 / 1.58  # neighbours overlap at IoU 0.58: kept at 0.6, merged at 0.55
    xyxy = _chain(n, shift)
    rows = np.zeros((n, 6), np.float32)
    rows[:, :2] = (xyxy[:, :2] + xyxy[:, 2:]) / 2
    rows[:, 2:4] = xyxy[:, 2:] - xyxy[:, :2]
    rows[:, 4] = np.linspace(0.9, 0.5, n)
    rows[:, 5] = 1.0
    dets = postprocess(rows, PastedLetterbox(1.0, (10_000, 10_000)), YOLOXConfig())
    assert len(dets) == expected


# -- the detector end to end -----------------------------------------------------------------


def _nano_with_planted_head() -> torch.nn.Module:
    """A random-weight nano whose predictors ignore their input: every cell of a level
    outputs that level's biases."""
    torch.manual_seed(0)
    model = build_yolox("yolox-nano")
    head = model.head
    with torch.no_grad():
        for preds in (head.reg_preds, head.obj_preds, head.cls_preds):
            for conv in preds:
                conv.weight.zero_()
        for level in range(3):
            head.obj_preds[level].bias.fill_(-30.0)
            head.cls_preds[level].bias.fill_(_logit(0.8) if level == 2 else -30.0)
        # stride 32: objectness 0.9, person 0.8 (other classes low), (tx, ty) = (0.5, 0.25),
        # size (0.75 * 32, 1.5 * 32) = (24, 48)
        head.obj_preds[2].bias.fill_(_logit(0.9))
        head.cls_preds[2].bias[1:] = -5.0
        head.reg_preds[2].bias.copy_(torch.tensor([0.5, 0.25, math.log(0.75), math.log(1.5)]))
    return model


def test_detector_end_to_end_with_planted_head() -> None:
    detector = YOLOXDetector("yolox-nano", config=YOLOXConfig(input_size=64),
                             model=_nano_with_planted_head())
    image = np.random.default_rng(0).integers(0, 256, (40, 100, 3), dtype=np.uint8)
    dets = detector(image)
    # r = min(64 / 40, 64 / 100) = 0.64; the stride-32 grid is 2 x 2; centres
    # ((gx + 0.5) * 32, (gy + 0.25) * 32); boxes 24 x 48; then / r and clamped to 100 x 40
    expected = []
    for gy in range(2):
        for gx in range(2):
            cx, cy = (gx + 0.5) * 32, (gy + 0.25) * 32
            x1, y1, x2, y2 = np.array([cx - 12, cy - 24, cx + 12, cy + 24]) / 0.64
            expected.append([np.clip(x1, 0, 100), np.clip(y1, 0, 40), np.clip(x2, 0, 100),
                             np.clip(y2, 0, 40)])
    np.testing.assert_allclose(dets.xyxy, expected, atol=1e-4)
    np.testing.assert_allclose(dets.scores, 0.9, atol=1e-6)


def _box_emitting_nano() -> YOLOXDetector:
    """A random yolox-nano detector (96 px input) whose head is biased to emit many boxes.

    Its scores saturate, so most boxes tie on score and batched and single calls (whose
    convolutions round differently) may order and suppress them differently. Box NMS is
    therefore off (IoU threshold 1, no crowd rule): batching must give the same *set* of boxes,
    which :func:`_assert_same_boxes` compares without depending on the order of ties.
    """
    torch.manual_seed(1)
    model = build_yolox("yolox-nano")
    with torch.no_grad():
        for conv in model.head.obj_preds:
            conv.bias.fill_(2.0)
        for conv in model.head.cls_preds:
            conv.bias[0] = 4.0
    config = YOLOXConfig(input_size=96, nms_threshold=1.0, crowd_size=10**9)
    return YOLOXDetector("yolox-nano", config=config, model=model)


def _assert_same_boxes(a_xyxy: np.ndarray, a_scores: np.ndarray, b_xyxy: np.ndarray,
                       b_scores: np.ndarray) -> None:
    """The two sets of boxes are equal up to float noise, in whatever order."""
    from scipy.optimize import linear_sum_assignment

    assert len(a_xyxy) == len(b_xyxy)
    a = np.concatenate([a_xyxy, a_scores[:, None] * 100], 1).astype(np.float64)
    b = np.concatenate([b_xyxy, b_scores[:, None] * 100], 1).astype(np.float64)
    cost = np.abs(a[:, None] - b[None]).max(2)
    rows, cols = linear_sum_assignment(cost)
    assert cost[rows, cols].max(initial=0.0) < 1e-3


def test_detect_batch_matches_single_calls() -> None:
    detector = _box_emitting_nano()
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, (50, 120, 3), dtype=np.uint8),
              rng.integers(0, 256, (90, 40, 3), dtype=np.uint8)]
    batch = detector.detect(images)
    assert len(batch) == 2 and len(batch[0]) > 0 and len(batch[1]) > 0
    for image, dets in zip(images, batch):
        single = detector(image)
        _assert_same_boxes(dets.xyxy, dets.scores, single.xyxy, single.scores)
        h, w = image.shape[:2]
        assert np.all(dets.xyxy >= 0) and np.all(dets.xyxy[:, 0::2] <= w)
        assert np.all(dets.xyxy[:, 1::2] <= h)
        assert np.all(dets.scores >= 0.1)
    assert detector.detect([]) == []


def test_detect_rejects_a_single_array() -> None:
    detector = YOLOXDetector("yolox-nano", config=YOLOXConfig(input_size=32),
                             model=build_yolox("yolox-nano"))
    with pytest.raises(TypeError, match="list of images"):
        detector.detect(np.zeros((8, 8, 3), np.uint8))


def test_preprocess_resizes_bilinear() -> None:
    image = np.random.default_rng(0).integers(0, 256, (50, 100, 3), dtype=np.uint8)
    tensor, _ = preprocess(image, (64, 64))
    resized = cv2.resize(image, (64, 32), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(tensor[:, :32], resized.transpose(2, 0, 1).astype(np.float32))


@pytest.mark.parametrize("score,kept", [(0.1, 1), (0.0999, 0)], ids=["equal", "below"])
def test_score_at_the_threshold_is_kept(score: float, kept: int) -> None:
    rows = np.array([[20, 20, 10, 10, score, 1.0, 0.2]], np.float32)
    dets = postprocess(rows, PastedLetterbox(1.0, (64, 64)), YOLOXConfig(input_size=64))
    assert len(dets) == kept


def test_pipeline_batches_yolox_over_frames_with_the_same_results() -> None:
    from alphapose.pipeline import Pipeline, RunOptions
    from alphapose.structures import Frame, Poses

    detector = _box_emitting_nano()
    batches: list[int] = []
    single_detect = detector.detect

    def counting_detect(images):
        batches.append(len(images))
        return single_detect(images)

    class BoxCorners:
        """17 keypoints on each box's top-left corner (the network estimator is tested
        elsewhere; this checks the detections reach the estimator unchanged and in order)."""

        layout = "coco17"

        def __call__(self, image, detections):
            keypoints = np.repeat(detections.xyxy[:, None, :2], 17, 1).astype(np.float32)
            return Poses(keypoints, np.full(keypoints.shape[:2], 0.9, np.float32),
                         detections.xyxy, detections.scores, layout="coco17")

    rng = np.random.default_rng(3)
    frames = [Frame(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8), 0, f"{i}.jpg",
                    path=f"{i}.jpg") for i in range(9)]
    out = {}
    for sp in (True, False):
        batches.clear()
        detector.detect = counting_detect  # the concurrent detector stage calls detect()
        pipeline = Pipeline(detector, BoxCorners(), pose_nms="none",
                            run=RunOptions(sp=sp, detbatch=3))
        out[sp] = [(f.name, p.xyxy.copy(), p.box_scores.copy()) for f, p in pipeline.run(frames)]
        calls = list(batches)
    assert [name for name, _, _ in out[False]] == [f"{i}.jpg" for i in range(9)]
    assert sum(len(xyxy) for _, xyxy, _ in out[True]) > 0
    for (_, a, a_scores), (_, b, b_scores) in zip(out[True], out[False], strict=True):
        _assert_same_boxes(a, a_scores, b, b_scores)
    # concurrent: every image once, at most 3 a call, and (the reader being far ahead of the
    # network) several of them together
    assert sum(calls) == 9 and max(calls) <= 3 and len(calls) < 9
