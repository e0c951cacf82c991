"""YOLOv3(-SPP): darknet cfg parsing, .weights reading, letterbox, decoding, +1 NMS, detector."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from alphapose.detection.yolov3 import (
    Darknet,
    YoloLayer,
    YOLOv3Config,
    YOLOv3Detector,
    decode_outputs,
    load_darknet_weights,
    nms_plus_one,
    parse_darknet_cfg,
    postprocess,
    preprocess,
    read_darknet_weights,
)
from alphapose.transforms import PastedLetterbox

# A tiny network with every section kind of yolov3-spp: convs with and without BN, a
# shortcut, an SPP block (stride-1 max-pools joined by a 4-way route), an upsample, a route
# with an absolute index, and two [yolo] heads (2 classes, 2 anchors each).
TINY_CFG = """
[net]
# comment lines and blank lines are ignored
width=64
height=64
channels=3

[convolutional]
batch_normalize=1
filters=4
size=3
stride=2
pad=1
activation=leaky

[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky

[convolutional]
batch_normalize=1
filters=8
size=1
stride=1
pad=1
activation=leaky

[shortcut]
from=-2
activation=linear

[convolutional]
batch_normalize=1
filters=16
size=3
stride=2
pad=1
activation=leaky

[convolutional]
batch_normalize = 1
filters = 16
size = 3
stride = 2
pad = 1
activation = leaky

[convolutional]
batch_normalize=1
filters=16
size=3
stride=2
pad=1
activation=leaky

### SPP ###
[maxpool]
stride=1
size=3

[route]
layers=-2

[maxpool]
stride=1
size=5

[route]
layers=-4

[maxpool]
stride=1
size=7

[route]
layers=-1,-3,-5,-6
### End SPP ###

[convolutional]
size=1
stride=1
pad=1
filters=14
activation=linear

[yolo]
mask = 2,3
anchors = 10,14,  20,24,  30,40,  50,60
classes=2
num=4

[route]
layers = -3

[convolutional]
batch_normalize=1
filters=8
size=1
stride=1
pad=1
activation=leaky

[upsample]
stride=2

[route]
layers = -1, 5

[convolutional]
size=1
stride=1
pad=1
filters=14
activation=linear

[yolo]
mask = 0,1
anchors = 10,14,  20,24,  30,40,  50,60
classes=2
num=4
"""

# (layer index, in channels, out channels, kernel, batch norm) of the convolutions above
TINY_CONVS = [(0, 3, 4, 3, True), (1, 4, 8, 3, True), (2, 8, 8, 1, True), (4, 8, 16, 3, True),
              (5, 16, 16, 3, True), (6, 16, 16, 3, True), (13, 64, 14, 1, False),
              (16, 64, 8, 1, True), (19, 24, 14, 1, False)]


def tiny_model() -> Darknet:
    return Darknet(parse_darknet_cfg(TINY_CFG)).eval()


def write_weights(path: Path, seed: int = 0, header=(0, 2, 0), seen: int = 64000,
                  drop: int = 0, extra: int = 0) -> list[dict[str, np.ndarray]]:
    """Write a darknet .weights file for TINY_CFG by hand; return the arrays per conv."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    arrays = []
    for _, cin, cout, k, bn in TINY_CONVS:
        entry = {}
        if bn:
            entry["bn.bias"] = rng.standard_normal(cout).astype(np.float32)
            entry["bn.weight"] = rng.standard_normal(cout).astype(np.float32)
            entry["bn.running_mean"] = rng.standard_normal(cout).astype(np.float32)
            entry["bn.running_var"] = rng.uniform(0.5, 2.0, cout).astype(np.float32)
        else:
            entry["conv.bias"] = rng.standard_normal(cout).astype(np.float32)
        entry["conv.weight"] = (rng.standard_normal((cout, cin, k, k)) * 0.3).astype(np.float32)
        arrays.append(entry)
        parts.extend(a.ravel() for a in entry.values())  # darknet order = insertion order
    body = np.concatenate(parts)
    body = np.concatenate([body[:len(body) - drop], np.ones(extra, np.float32)])
    major, minor, revision = header
    with open(path, "wb") as f:
        f.write(np.array([major, minor, revision], "<i4").tobytes())
        wide = major * 10 + minor >= 2
        f.write(np.array([seen], "<i8" if wide else "<i4").tobytes())
        f.write(body.astype("<f4").tobytes())
    return arrays


# -- cfg -------------------------------------------------------------------------------------


def test_parse_sections_and_options() -> None:
    sections = parse_darknet_cfg(TINY_CFG)
    assert sections[0].kind == "net" and sections[0].options["channels"] == "3"
    assert [s.kind for s in sections[1:4]] == ["convolutional"] * 3
    assert sections[6].options == {"batch_normalize": "1", "filters": "16", "size": "3",
                                   "stride": "2", "pad": "1", "activation": "leaky"}
    assert sections[13].options["layers"] == "-1,-3,-5,-6"
    assert len(sections) == 22


@pytest.mark.parametrize("text,message", [
    ("filters=3\n[convolutional]\n", "before any"),
    ("[convolutional\n", "unterminated"),
    ("[net]\nnonsense\n", "key=value"),
], ids=["option-first", "bad-header", "no-equals"])
def test_parse_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_darknet_cfg(text)


@pytest.mark.parametrize("text,message", [
    ("[net]\n[deconvolutional]\nfilters=3\n", r"\[deconvolutional\] is not supported"),
    ("[net]\n[convolutional]\nsize=3\n", "needs 'filters='"),
    ("[net]\n[convolutional]\nfilters=3\nsize=1\n[route]\nlayers=-3\n", "outside 0..0"),
    ("[net]\n[convolutional]\nfilters=3\nsize=1\nactivation=gelu\n", "activation='gelu'"),
    ("[net]\n[convolutional]\nfilters=3\nsize=1\n", r"no \[yolo\]"),
    ("[net]\n[convolutional]\nfilters=5\nsize=1\n[yolo]\nanchors=1,2,3,4\nclasses=1\n",
     "needs 12 input channels"),
], ids=["unsupported", "missing-key", "route-range", "activation", "no-yolo", "yolo-width"])
def test_build_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Darknet(parse_darknet_cfg(text))


def test_tiny_network_structure() -> None:
    model = tiny_model()
    assert len(model.layers) == 21
    assert [i for i, m in enumerate(model.layers) if hasattr(m, "conv")] == \
        [c[0] for c in TINY_CONVS]
    np.testing.assert_array_equal(model.yolo_layers[0].anchors, [[30, 40], [50, 60]])
    np.testing.assert_array_equal(model.yolo_layers[1].anchors, [[10, 14], [20, 24]])
    assert [y.num_classes for y in model.yolo_layers] == [2, 2]
    with torch.no_grad():
        maps = model(torch.rand(2, 3, 64, 64))
    assert [tuple(m.shape) for m in maps] == [(2, 14, 2, 2), (2, 14, 4, 4)]
    expected = sum(cout * (4 if bn else 1) + cout * cin * k * k
                   for _, cin, cout, k, bn in TINY_CONVS)
    assert model.darknet_value_count() == expected


# -- weights ---------------------------------------------------------------------------------


def test_weights_land_in_their_tensors(tmp_path: Path) -> None:
    path = tmp_path / "tiny.weights"
    arrays = write_weights(path, seed=1, seen=123456789012)
    model = tiny_model()
    header = load_darknet_weights(model, path)
    assert (header.major, header.minor, header.revision, header.seen, header.size) == \
        (0, 2, 0, 123456789012, 20)
    state = model.state_dict()
    for (index, *_), entry in zip(TINY_CONVS, arrays):
        for name, values in entry.items():
            np.testing.assert_array_equal(state[f"layers.{index}.{name}"].numpy(), values,
                                          err_msg=f"layers.{index}.{name}")


def test_old_header_has_a_32_bit_seen_count(tmp_path: Path) -> None:
    path = tmp_path / "old.weights"
    arrays = write_weights(path, header=(0, 1, 0), seen=777)
    model = tiny_model()
    header = load_darknet_weights(model, path)
    assert (header.seen, header.size) == (777, 16)
    np.testing.assert_array_equal(model.layers[19].conv.weight.detach().numpy(), arrays[-1]["conv.weight"])


@pytest.mark.parametrize("drop,extra", [(1, 0), (0, 3)], ids=["short", "long"])
def test_value_count_mismatch_names_counts_and_bytes(tmp_path: Path, drop: int,
                                                     extra: int) -> None:
    path = tmp_path / "bad.weights"
    write_weights(path, drop=drop, extra=extra)
    needed = tiny_model().darknet_value_count()
    have = needed - drop + extra
    with pytest.raises(ValueError, match=rf"has {have} float32 values \({have * 4} bytes\) after "
                                         rf"its 20-byte header.*need {needed} \({needed * 4} "
                                         rf"bytes\)"):
        load_darknet_weights(tiny_model(), path)


def test_truncated_files_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "t.weights"
    path.write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match="too short"):
        read_darknet_weights(path)
    path.write_bytes(np.array([0, 2, 0], "<i4").tobytes() + b"\x00" * 8 + b"\x01\x02")
    with pytest.raises(ValueError, match="not a whole number"):
        read_darknet_weights(path)


def _reference_forward(x: torch.Tensor, model: Darknet) -> list[torch.Tensor]:
    """TINY_CFG written out by hand with torch.nn.functional."""
    def conv(i: int, t: torch.Tensor, stride: int) -> torch.Tensor:
        layer = model.layers[i]
        k = layer.conv.weight.shape[-1]
        y = F.conv2d(t, layer.conv.weight, layer.conv.bias, stride, k // 2)
        if layer.bn is None:
            return y
        y = F.batch_norm(y, layer.bn.running_mean, layer.bn.running_var, layer.bn.weight,
                         layer.bn.bias, False, 0.0, 1e-5)
        return F.leaky_relu(y, 0.1)

    def pool(t: torch.Tensor, k: int) -> torch.Tensor:  # zero-padded, as AlphaPose does
        return F.max_pool2d(F.pad(t, (k // 2,) * 4, value=0.0), k, 1)

    l0 = conv(0, x, 2)
    l1 = conv(1, l0, 2)
    l3 = conv(2, l1, 1) + l1
    l5 = conv(5, conv(4, l3, 2), 2)
    l6 = conv(6, l5, 2)
    l7, l9, l11 = pool(l6, 3), pool(l6, 5), pool(l6, 7)
    l12 = torch.cat([l11, l9, l7, l6], 1)
    head1 = conv(13, l12, 1)
    up = F.interpolate(conv(16, l12, 1), scale_factor=2.0, mode="nearest")
    head2 = conv(19, torch.cat([up, l5], 1), 1)
    return [head1, head2]


def test_forward_matches_hand_wired_reference(tmp_path: Path) -> None:
    path = tmp_path / "tiny.weights"
    write_weights(path, seed=5)
    model = tiny_model()
    load_darknet_weights(model, path)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model(x)
        reference = _reference_forward(x, model)
    for a, b in zip(ours, reference):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_stride1_maxpool_pads_with_zeros() -> None:
    model = Darknet(parse_darknet_cfg(
        "[net]\nchannels=1\n[maxpool]\nsize=3\nstride=1\n[convolutional]\nfilters=6\nsize=1\n"
        "[yolo]\nanchors=1,1\nclasses=1\n"))
    x = -torch.arange(1, 17, dtype=torch.float32).reshape(1, 1, 4, 4)  # all negative
    pooled = model.layers[0](x)
    assert pooled.shape == x.shape
    assert torch.all(pooled[0, 0, 0, :] == 0) and torch.all(pooled[0, 0, :, 0] == 0)
    assert pooled[0, 0, 1, 1].item() == -1.0  # interior: the true max of its window
    assert pooled[0, 0, 2, 2].item() == -6.0


# -- preprocessing ---------------------------------------------------------------------------


def test_preprocess_letterbox_rgb_pad_128() -> None:
    image = np.empty((100, 200, 3), np.uint8)
    image[:] = (10, 20, 30)  # B, G, R
    tensor, box = preprocess(image, 64)
    assert box == PastedLetterbox(scale=0.32, image_size=(200, 100), offset=(0.0, 16.0))
    # 64 x 32 centred: rows 16..47 hold the image, in RGB order, / 255
    np.testing.assert_allclose(tensor[:, 16:48, :].reshape(3, -1).T,
                               np.tile([30 / 255, 20 / 255, 10 / 255], (32 * 64, 1)), atol=1e-7)
    assert np.allclose(tensor[:, :16], 128 / 255) and np.allclose(tensor[:, 48:], 128 / 255)


@pytest.mark.parametrize("size", [100, 0, -32], ids=["100", "0", "neg"])
def test_config_rejects_bad_sizes(size: int) -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        YOLOv3Config(input_size=size)


# -- +1 NMS ----------------------------------------------------------------------------------


@pytest.mark.parametrize("second,kept", [
    ([0, 0, 9, 5], [0]),       # +1 IoU = 60 / 100 = 0.6 exactly: suppressed (>=)
    ([0, 0, 9, 4], [0, 1]),    # +1 IoU = 50 / 100 = 0.5: kept
    ([0, 0, 9, 9.0], [0]),     # identical
], ids=["iou-0.6", "iou-0.5", "same"])
def test_nms_plus_one_convention(second: list[float], kept: list[int]) -> None:
    xyxy = np.array([[0, 0, 9, 9], second], np.float64)
    np.testing.assert_array_equal(nms_plus_one(xyxy, np.array([0.9, 0.8]), 0.6), kept)


@pytest.mark.parametrize("n,expected", [(100, 100), (120, 60)], ids=["100-kept", "120-crowd"])
def test_crowd_rule(n: int, expected: int) -> None:
    # inclusive boxes 10 px wide shifted by d: +1 IoU = (10 - d) / (10 + d) = 0.58
    d = 10 * 0.42 / 1.58
    x1 = np.arange(n) * d
    xyxy = np.stack([x1, np.zeros(n), x1 + 9, np.full(n, 9.0)], axis=1)
    rows = np.zeros((n, 7), np.float32)
    rows[:, :2] = (xyxy[:, :2] + xyxy[:, 2:]) / 2
    rows[:, 2:4] = xyxy[:, 2:] - xyxy[:, :2]
    rows[:, 4] = np.linspace(0.9, 0.5, n)
    rows[:, 5] = 0.9
    box = PastedLetterbox(scale=1.0, image_size=(10_000, 10_000))
    assert len(postprocess(rows, box, YOLOv3Config())) == expected


# -- decoding with planted raw outputs -------------------------------------------------------


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


LAYERS = [YoloLayer(np.array([[30.0, 40.0], [50.0, 60.0]]), 2),
          YoloLayer(np.array([[10.0, 14.0], [20.0, 24.0]]), 2)]


def _blank_maps() -> list[np.ndarray]:
    maps = []
    for g in (2, 4):
        raw = np.zeros((1, 2, 7, g, g), np.float32)  # (B, anchors, 5 + classes, G, G)
        raw[:, :, 4:] = -30.0
        maps.append(raw)
    return maps


def _plant(maps, layer, anchor, gx, gy, t, obj, cls) -> None:
    maps[layer][0, anchor, :4, gy, gx] = t
    maps[layer][0, anchor, 4, gy, gx] = _logit(obj)
    maps[layer][0, anchor, 5:, gy, gx] = [_logit(p) for p in cls]


def test_planted_outputs_give_hand_computed_boxes() -> None:
    maps = _blank_maps()
    # A: stride 16, cell (1, 2), anchor (20, 24): centre ((0.5 + 1) 16, (0.75 + 2) 16) =
    # (24, 44), size (2 * 20, 1 * 24) -> input box (4, 32, 44, 56)
    _plant(maps, 1, 1, 1, 2, (0.0, math.log(3), math.log(2), 0.0), 0.9, (0.8, 0.2))
    # B: same cell, anchor (10, 14), same box, lower objectness -> suppressed
    _plant(maps, 1, 0, 1, 2, (0.0, math.log(3), math.log(4), math.log(24 / 14)), 0.6,
           (0.8, 0.2))
    # C: best class is 1 -> dropped
    _plant(maps, 0, 0, 0, 0, (0.0, 0.0, 0.0, 0.0), 0.95, (0.5, 0.9))
    # D: objectness 0.09 <= 0.1 -> dropped
    _plant(maps, 0, 1, 1, 1, (0.0, 0.0, 0.0, 0.0), 0.09, (0.99, 0.01))
    # E: stride 32, cell (1, 0), anchor (30, 40): centre (48, 16) -> input box (33, -4, 63, 36)
    _plant(maps, 0, 0, 1, 0, (0.0, 0.0, 0.0, 0.0), 0.7, (0.6, 0.3))
    decoded = decode_outputs([m.reshape(1, 14, *m.shape[-2:]) for m in maps], LAYERS, 64)
    assert decoded.shape == (1, 2 * 2 * 2 + 4 * 4 * 2, 7)
    # image 80 x 40 on 64 x 64: r = 0.8, content 64 x 32 centred -> offsets (0, 16)
    box = PastedLetterbox(scale=0.8, image_size=(80, 40), offset=(0.0, 16.0))
    dets = postprocess(decoded[0], box, YOLOv3Config(input_size=64))
    a = (np.array([4, 32, 44, 56]) - [0, 16, 0, 16]) / 0.8          # (5, 20, 55, 50)
    e = (np.array([33, -4, 63, 36]) - [0, 16, 0, 16]) / 0.8         # (41.25, -25, 78.75, 25)
    expected = np.array([[a[0], a[1], a[2], min(a[3], 40)], [e[0], max(e[1], 0), e[2], e[3]]])
    np.testing.assert_allclose(dets.xyxy, expected, atol=1e-4)
    np.testing.assert_allclose(dets.scores, [0.9, 0.7], atol=1e-6)


# -- the detector end to end -----------------------------------------------------------------


def _tiny_with_planted_heads() -> Darknet:
    """Random-weight tiny network whose head convs ignore their input: every cell of a
    [yolo] layer sees the conv's bias."""
    torch.manual_seed(0)
    model = tiny_model()
    with torch.no_grad():
        for index in (13, 19):
            model.layers[index].conv.weight.zero_()
            model.layers[index].conv.bias.fill_(-30.0)
        bias = model.layers[13].conv.bias.view(2, 7)  # stride 32: anchors (30, 40), (50, 60)
        bias[0, :4] = 0.0                             # centred in the cell, anchor size
        bias[0, 4] = _logit(0.9)
        bias[0, 5] = _logit(0.8)
    return model


def test_detector_end_to_end_with_planted_heads() -> None:
    detector = YOLOv3Detector(model=_tiny_with_planted_heads(),
                              config=YOLOv3Config(input_size=64))
    image = np.random.default_rng(0).integers(0, 256, (40, 80, 3), dtype=np.uint8)
    dets = detector(image)
    # r = min(64 / 80, 64 / 40) = 0.8, offsets (0, 16); stride-32 cells centred at
    # ((gx + 0.5) 32, (gy + 0.5) 32), boxes 30 x 40
    expected = []
    for gy in range(2):
        for gx in range(2):
            cx, cy = (gx + 0.5) * 32, (gy + 0.5) * 32
            x1, y1, x2, y2 = (np.array([cx - 15, cy - 20, cx + 15, cy + 20])
                              - [0, 16, 0, 16]) / 0.8
            expected.append([np.clip(x1, 0, 80), np.clip(y1, 0, 40), np.clip(x2, 0, 80),
                             np.clip(y2, 0, 40)])
    np.testing.assert_allclose(dets.xyxy, expected, atol=1e-4)
    np.testing.assert_allclose(dets.scores, 0.9, atol=1e-6)


def test_detector_from_files_and_batch(tmp_path: Path) -> None:
    cfg = tmp_path / "tiny.cfg"
    cfg.write_text(TINY_CFG)
    weights = tmp_path / "tiny.weights"
    arrays = write_weights(weights, seed=3)
    arrays[6]["conv.bias"][4] = 3.0      # make the stride-32 head fire for anchor 0 ...
    arrays[6]["conv.bias"][5] = 3.0      # ... with the person class on top
    write_back = []
    for entry in arrays:
        write_back.extend(a.ravel() for a in entry.values())
    weights.write_bytes(weights.read_bytes()[:20] + np.concatenate(write_back).tobytes())
    detector = YOLOv3Detector(cfg, weights, YOLOv3Config(input_size=64))
    rng = np.random.default_rng(4)
    images = [rng.integers(0, 256, (30, 70, 3), dtype=np.uint8),
              rng.integers(0, 256, (64, 50, 3), dtype=np.uint8)]
    batch = detector.detect(images)
    assert all(len(d) > 0 for d in batch)
    for image, dets in zip(images, batch):
        single = detector(image)
        np.testing.assert_allclose(dets.xyxy, single.xyxy, atol=1e-3)
        np.testing.assert_allclose(dets.scores, single.scores, atol=1e-5)
        h, w = image.shape[:2]
        assert np.all(dets.xyxy >= 0) and np.all(dets.xyxy[:, 0::2] <= w)
        assert np.all(dets.xyxy[:, 1::2] <= h) and np.all(dets.scores > 0.1)
        assert np.all(np.diff(dets.scores) <= 0)


def test_detector_needs_a_cfg() -> None:
    with pytest.raises(ValueError, match="cfg_path"):
        YOLOv3Detector()
    with pytest.raises(ValueError, match="no such file"):
        YOLOv3Detector("/nonexistent/yolov3-spp.cfg")


def test_preprocess_resizes_bicubic() -> None:
    image = np.random.default_rng(0).integers(0, 256, (50, 100, 3), dtype=np.uint8)
    tensor, _ = preprocess(image, 64)
    resized = cv2.resize(image, (64, 32), interpolation=cv2.INTER_CUBIC)[:, :, ::-1]
    np.testing.assert_allclose(tensor[:, 16:48], resized.transpose(2, 0, 1) / 255.0, atol=1e-6)


@pytest.mark.parametrize("objectness,kept", [(0.1, 0), (0.10001, 1)], ids=["equal", "above"])
def test_objectness_must_exceed_the_threshold(objectness: float, kept: int) -> None:
    rows = np.array([[20, 20, 10, 10, objectness, 0.9, 0.1]], np.float32)
    box = PastedLetterbox(scale=1.0, image_size=(64, 64))
    assert len(postprocess(rows, box, YOLOv3Config(input_size=64))) == kept
