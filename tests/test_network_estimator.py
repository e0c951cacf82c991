"""NetworkPoseEstimator: the official crop, backend, decode and inverse, end to end.

The "network" samples the crop at the official heatmap positions (cell ``j`` = input pixel
``4 j``), so its output peaks exactly where the image's bright blobs land in the crop, and we know
in advance where the estimator must put each keypoint in the image.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from alphapose.codecs import HeatmapCodec, IntegralRegressionCodec
from alphapose.estimators.network import (
    OFFICIAL_MEAN,
    NetworkPoseEstimator,
    crop_people,
    heatmap_to_image,
)
from alphapose.runtime.base import Backend
from alphapose.skeletons import get_layout
from alphapose.structures import Detections

INPUT = (64, 48)      # (h, w): small crops keep the test fast; stride 4 as in the official models
STRIDE = 4
COCO = get_layout("coco17")


def colour_of_keypoint() -> np.ndarray:
    """Colour channel (R=0, G=1, B=2) read by each COCO keypoint's output channel; both members
    of a left/right pair read the same colour, so the sampling network is mirror-equivariant."""
    colour = np.zeros(COCO.num_keypoints, np.int64)
    for i, (a, b) in enumerate(COCO.flip_pairs):
        colour[a] = colour[b] = (i + 1) % 3
    return colour


class SamplingBackend:
    """Output channel ``k`` = colour ``colour[k]`` of the crop (mean added back, so RGB / 255),
    sampled at input pixels ``(4 i, 4 j)``: a fixed strided 1x1 convolution."""

    def __init__(self, colour: np.ndarray) -> None:
        self.calls: list[int] = []
        self.load(colour)

    def load(self, source: np.ndarray) -> None:
        self.colour = np.asarray(source)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.calls.append(len(batch))
        mean = np.asarray(OFFICIAL_MEAN, np.float32)[self.colour][None, :, None, None]
        return batch[:, self.colour, ::STRIDE, ::STRIDE] + mean


def official_crop(image_bgr: np.ndarray, box: np.ndarray, input_size: tuple[int, int]):
    """The official test transform (``alphapose/utils/presets/simple_transform.py``) written out
    independently."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx, cy = x1 + w / 2, y1 + h / 2
    aspect = input_size[1] / input_size[0]
    if w > aspect * h:
        h = w / aspect
    elif w < aspect * h:
        w = h * aspect
    scale_w = w * 1.25
    s = input_size[1] / scale_w
    m = np.array([[s, 0, input_size[1] / 2 - s * cx], [0, s, input_size[0] / 2 - s * cy]])
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
    crop = cv2.warpAffine(rgb, m, (input_size[1], input_size[0]), flags=cv2.INTER_LINEAR)
    tensor = crop.transpose(2, 0, 1).astype(np.float32) / 255
    return tensor - np.asarray(OFFICIAL_MEAN, np.float32)[:, None, None], (cx, cy, scale_w)


def draw_blob(image: np.ndarray, channel_bgr: int, x: float, y: float, sigma: float) -> None:
    ys, xs = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    g = 255 * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma ** 2))
    image[..., channel_bgr] = np.maximum(image[..., channel_bgr], np.round(g).astype(np.uint8))


# people: box xyxy and the image position of their red, green and blue blob
# (each blob lies >= 3.5 sigma inside the part of its crop the network samples, and outside the
# other person's crop, so no blob mass is cut off or shared)
PEOPLE = [
    (np.array([20.0, 30.0, 80.0, 110.0]), [(47.3, 58.6), (38.2, 81.9), (55.75, 90.4)]),
    (np.array([200.0, 40.0, 250.0, 150.0]), [(225.5, 70.25), (214.1, 111.6), (236.8, 128.3)]),
]
#: crop widths in image pixels: box 1 is 60x80 (aspect 0.75) -> 75; box 2 50x110 -> 82.5 x 1.25
SCALE_W = np.array([75.0, 1.25 * 110 * 0.75])
SIGMA = 6.0  # image pixels = 0.96 and 0.70 heatmap cells: smooth enough for stride-4 sampling


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, Detections]:
    image = np.zeros((200, 300, 3), np.uint8)
    for _, blobs in PEOPLE:
        for rgb_channel, (x, y) in enumerate(blobs):
            draw_blob(image, 2 - rgb_channel, x, y, SIGMA)
    boxes = np.stack([box for box, _ in PEOPLE]).astype(np.float32)
    return image, Detections(boxes, np.array([0.9, 0.8], np.float32))


def expected_keypoints() -> np.ndarray:
    colour = colour_of_keypoint()
    return np.array([[blobs[c] for c in colour] for _, blobs in PEOPLE], np.float64)


# ------------------------------------------------------------------------------------------------
# Crop and inverse against the official formulas
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("box", [np.array([20.0, 30.0, 80.0, 110.0]),
                                 np.array([-15.5, 5.25, 140.0, 60.0]),
                                 np.array([100.0, 100.0, 100.0, 160.0])],
                         ids=["tall", "wide-off-image", "zero-width"])
def test_crop_matches_official_transform(scene, box: np.ndarray) -> None:
    image, _ = scene
    crops, _ = crop_people(image, box[None], INPUT)
    expected, _ = official_crop(image, box, INPUT)
    # both are bilinear warps of the same matrix; allow one uint8 rounding step of OpenCV's
    # fixed-point interpolation
    assert np.abs(crops[0] - expected).max() <= 1.5 / 255


def test_heatmap_to_image_is_official_transform_preds() -> None:
    rng = np.random.default_rng(0)
    boxes = np.array([[20.0, 30.0, 80.0, 110.0], [-15.5, 5.25, 140.0, 60.0]])
    _, img_from_crop = crop_people(np.zeros((50, 50, 3), np.uint8), boxes, INPUT)
    coords = rng.uniform(0, 16, size=(2, 5, 2))
    out = heatmap_to_image(coords, img_from_crop, (16, 12), INPUT)
    for i, box in enumerate(boxes):
        _, (cx, cy, scale_w) = official_crop(np.zeros((50, 50, 3), np.uint8), box, INPUT)
        # official transform_preds: x = cx + (x_hm - w_hm / 2) * scale_w / w_hm, y likewise with
        # the *width* ratio
        ref = np.stack([cx + (coords[i, :, 0] - 6) * scale_w / 12,
                        cy + (coords[i, :, 1] - 8) * scale_w / 12], -1)
        np.testing.assert_allclose(out[i], ref, atol=1e-3)


# ------------------------------------------------------------------------------------------------
# End to end
# ------------------------------------------------------------------------------------------------

def test_estimator_puts_keypoints_on_the_blobs(scene) -> None:
    image, detections = scene
    estimator = NetworkPoseEstimator(SamplingBackend(colour_of_keypoint()),
                                     IntegralRegressionCodec("divide_sum"), "coco17",
                                     input_size=INPUT)
    poses = estimator(image, detections)
    assert poses.layout == "coco17" and poses.keypoints.shape == (2, 17, 2)
    np.testing.assert_array_equal(poses.xyxy, detections.xyxy)
    np.testing.assert_array_equal(poses.box_scores, detections.scores)
    # The integral decode of a linear ("divide_sum") map is the centroid of the sampled blob,
    # which equals the blob centre up to the warp: OpenCV's warpAffine rounds sampling positions
    # to 1/32 pixel (<= 1/64 crop px = 0.034 image px at this scale) and the blob is uint8;
    # measured 0.055 px, bound 0.1 px. A half-pixel slip anywhere in crop or inverse would move
    # every point by 0.5 crop px = 0.8 to 1.1 image px here, a stride error by several pixels.
    err = np.abs(poses.keypoints - expected_keypoints())
    assert err.max() < 0.1, err.max()


def test_estimator_heatmap_codec_within_quarter_cell(scene) -> None:
    image, detections = scene
    estimator = NetworkPoseEstimator(SamplingBackend(colour_of_keypoint()), HeatmapCodec(),
                                     COCO, input_size=INPUT)
    poses = estimator(image, detections)
    # the argmax cell is within 0.5 cell of the blob centre (offset d), and the quarter step
    # towards the higher neighbour leaves |d - 0.25 sgn d| <= 0.25 cell; 0.3 allows for the warp.
    # One cell is scale_w / 12 image pixels.
    err = np.abs(poses.keypoints - expected_keypoints()).max(axis=(1, 2))
    assert np.all(err <= 0.3 * SCALE_W / 12), err / (SCALE_W / 12)
    assert np.all(poses.keypoint_scores > 0.5) and np.all(poses.keypoint_scores <= 1.0)


def test_flip_test_shifts_by_the_official_half_input_pixel(scene) -> None:
    # The mirrored crop's cell a, flipped back and shifted by one column, samples original input
    # column 4a - 1 instead of 4a: its centroid lies +1 input pixel off; averaged with the
    # direct maps (equal mass) the estimate moves +0.5 input pixel = 0.5 / s image pixels in x.
    # The two sample sets of a blob of 0.7 to 1 cell differ slightly in mass, which weights the
    # average unevenly by up to ~2% of the shift: tolerance 0.05 px (the shift is 0.8 to 1.1 px).
    image, detections = scene
    backend = SamplingBackend(colour_of_keypoint())
    plain = NetworkPoseEstimator(backend, IntegralRegressionCodec("divide_sum"), "coco17",
                                 input_size=INPUT)(image, detections)
    flipped = NetworkPoseEstimator(backend, IntegralRegressionCodec("divide_sum"), "coco17",
                                   input_size=INPUT, flip=True)(image, detections)
    scale_w = SCALE_W
    dx = flipped.keypoints[..., 0] - plain.keypoints[..., 0]
    np.testing.assert_allclose(dx, np.broadcast_to((0.5 * scale_w / INPUT[1])[:, None], dx.shape),
                               atol=0.05)
    np.testing.assert_allclose(flipped.keypoints[..., 1], plain.keypoints[..., 1], atol=0.05)
    unshifted = NetworkPoseEstimator(backend, IntegralRegressionCodec("divide_sum"), "coco17",
                                     input_size=INPUT, flip=True, flip_shift=False)
    dx = unshifted(image, detections).keypoints[..., 0] - plain.keypoints[..., 0]
    # without the shift the mirrored samples sit at 4a + 3: -1.5 input pixels on average
    np.testing.assert_allclose(dx, np.broadcast_to((-1.5 * scale_w / INPUT[1])[:, None], dx.shape),
                               atol=0.05)


def test_flip_swaps_left_and_right_channels(scene) -> None:
    # Triple the left eye's channel. The flip test averages each channel's direct map with its
    # *partner's* flipped-back map, so the left channel gains 1x its direct map, and the right
    # channel gains 1x the flipped-back left map (without the swap: left gains 2x, right 0x).
    image, detections = scene
    colour = colour_of_keypoint()
    left, right = COCO.flip_pairs[0]

    class Asymmetric(SamplingBackend):
        def __call__(self, batch: np.ndarray) -> np.ndarray:
            out = super().__call__(batch)
            out[:, left] *= 3.0
            return out

    def maps(backend: SamplingBackend, flip: bool) -> np.ndarray:
        estimator = NetworkPoseEstimator(backend, HeatmapCodec(), COCO, input_size=INPUT,
                                         flip=flip)
        crops, _ = crop_people(image, detections.xyxy, INPUT)
        return estimator.raw_maps(crops)

    direct = maps(SamplingBackend(colour), False)
    averaged = maps(SamplingBackend(colour), True)
    asymmetric = maps(Asymmetric(colour), True)
    np.testing.assert_allclose(asymmetric[:, left] - averaged[:, left], direct[:, left],
                               atol=1e-6)
    flipped_back_left = 2 * averaged[:, right] - direct[:, right]  # left and right maps agree
    np.testing.assert_allclose(asymmetric[:, right] - averaged[:, right], flipped_back_left,
                               atol=1e-6)
    assert np.abs(flipped_back_left).max() > 0.5


@pytest.mark.parametrize(("batch_size", "flip", "calls"), [(1, False, [1, 1]), (8, False, [2]),
                                                           (2, True, [2, 2]), (8, True, [4])],
                         ids=["b1", "b8", "flip-b2", "flip-b8"])
def test_batching_does_not_change_results(scene, batch_size: int, flip: bool,
                                          calls: list[int]) -> None:
    image, detections = scene
    backend = SamplingBackend(colour_of_keypoint())
    estimator = NetworkPoseEstimator(backend, IntegralRegressionCodec("divide_sum"), "coco17",
                                     input_size=INPUT, flip=flip, batch_size=batch_size)
    reference = NetworkPoseEstimator(SamplingBackend(colour_of_keypoint()),
                                     IntegralRegressionCodec("divide_sum"), "coco17",
                                     input_size=INPUT, flip=flip, batch_size=64)(image, detections)
    poses = estimator(image, detections)
    assert backend.calls == calls
    np.testing.assert_allclose(poses.keypoints, reference.keypoints, atol=1e-4)


def test_empty_detections_give_empty_poses(scene) -> None:
    image, _ = scene
    backend = SamplingBackend(colour_of_keypoint())
    poses = NetworkPoseEstimator(backend, HeatmapCodec(), "coco17", input_size=INPUT)(
        image, Detections.empty())
    assert len(poses) == 0 and poses.num_keypoints == 17 and poses.layout == "coco17"
    assert backend.calls == []


def test_extra_channels_are_ignored_too_few_rejected(scene) -> None:
    image, detections = scene
    colour = colour_of_keypoint()
    more = SamplingBackend(np.concatenate([colour, colour[:5]]))
    poses = NetworkPoseEstimator(more, HeatmapCodec(), "coco17", input_size=INPUT)(image,
                                                                                   detections)
    assert poses.keypoints.shape == (2, 17, 2)
    fewer = SamplingBackend(colour[:10])
    with pytest.raises(ValueError, match="backend output"):
        NetworkPoseEstimator(fewer, HeatmapCodec(), "coco17", input_size=INPUT)(image, detections)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 1, "flip": True}, "batch_size"),
    ({"input_size": (64,)}, "input_size"), ({"std": (1.0, 0.0, 1.0)}, "std"),
    ({"scale_mult": 0.0}, "scale_mult"),
], ids=["batch0", "flip-batch1", "input-size", "std0", "scale0"])
def test_bad_settings_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        NetworkPoseEstimator(SamplingBackend(colour_of_keypoint()), HeatmapCodec(), "coco17",
                             **kwargs)


def test_bad_inputs_raise(scene) -> None:
    image, detections = scene
    estimator = NetworkPoseEstimator(SamplingBackend(colour_of_keypoint()), HeatmapCodec(),
                                     "coco17", input_size=INPUT)
    with pytest.raises(TypeError, match="detections"):
        estimator(image, detections.xyxy)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="image_bgr"):
        estimator(image[..., 0], detections)


def test_sampling_backend_obeys_protocol_and_estimator_has_layout() -> None:
    backend = SamplingBackend(colour_of_keypoint())
    assert isinstance(backend, Backend)
    estimator = NetworkPoseEstimator(backend, HeatmapCodec(), "coco", input_size=INPUT)
    assert estimator.layout == "coco17"  # alias resolved, a str as the protocol asks
    assert not estimator.regression
    assert NetworkPoseEstimator(backend, IntegralRegressionCodec(), "coco17").regression


def test_with_torch_backend(scene) -> None:
    torch = pytest.importorskip("torch")
    from alphapose.runtime.torch_backend import TorchBackend

    image, detections = scene
    colour = colour_of_keypoint()
    conv = torch.nn.Conv2d(3, 17, 1, stride=STRIDE)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[np.arange(17), colour, 0, 0] = 1.0
        conv.bias.copy_(torch.tensor(np.asarray(OFFICIAL_MEAN, np.float32)[colour]))
    poses = NetworkPoseEstimator(TorchBackend(conv), IntegralRegressionCodec("divide_sum"),
                                 "coco17", input_size=INPUT)(image, detections)
    assert np.abs(poses.keypoints - expected_keypoints()).max() < 0.1


class SlowBackend(SamplingBackend):
    """The sampling network taking 40 ms per call, so that frames pile up behind it."""

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import time

        time.sleep(0.04)
        return super().__call__(batch)


def test_pipeline_batches_crops_across_frames_with_the_same_results(scene) -> None:
    from alphapose.pipeline import Pipeline, RunOptions
    from alphapose.structures import Frame

    image, detections = scene

    class Boxes:
        def __call__(self, image: np.ndarray) -> Detections:
            return detections

    frames = [Frame(np.roll(image, i, axis=1), i, f"{i}.jpg") for i in range(12)]
    out, calls = {}, {}
    for sp in (True, False):
        backend = SlowBackend(colour_of_keypoint())
        estimator = NetworkPoseEstimator(backend, IntegralRegressionCodec("divide_sum"),
                                         "coco17", input_size=INPUT, batch_size=8)
        pipeline = Pipeline(Boxes(), estimator, pose_nms="none", detect_every=1,
                            run=RunOptions(sp=sp))
        assert pipeline.staged
        out[sp] = [(f.index, p.keypoints.copy()) for f, p in pipeline.run(frames)]
        calls[sp] = backend.calls
    assert calls[True] == [2] * 12  # --sp: one call per frame (2 people each)
    # concurrent: the estimator stage crops ahead while the network runs, so calls gather
    # the crops of several frames (at most 8 per call, as --posebatch asks)
    assert sum(calls[False]) == 24 and len(calls[False]) < 12 and max(calls[False]) <= 8
    assert [i for i, _ in out[False]] == list(range(12))
    for (_, a), (_, b) in zip(out[True], out[False], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
