"""Codecs: heatmap argmax + quarter offset, SIKR (two-step normalisation, integral, ASG), flip."""

from __future__ import annotations

import numpy as np
import pytest

from alphapose.codecs import (
    Codec,
    CombinedCodec,
    HeatmapCodec,
    IntegralRegressionCodec,
    codec_from_loss,
    flip_average,
    flip_back,
    flip_crops,
    flip_maps,
    normalize_maps,
)
from alphapose.skeletons import get_layout


def gaussian_logits(h: int, w: int, cx: float, cy: float, sigma: float,
                    peak: float = 0.9) -> np.ndarray:
    """Logits whose sigmoid is ``peak * exp(-d^2 / (2 sigma^2))`` around ``(cx, cy)`` (float64)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    log_g = np.log(peak) - ((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma ** 2)
    g = np.exp(log_g)
    return log_g - np.log1p(-g)  # logit(g) = log g - log(1 - g), exact far into the tail


def torch_or_skip():
    return pytest.importorskip("torch")


# ------------------------------------------------------------------------------------------------
# SIKR decoding
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cx", "cy", "sigma"), [
    (20.3, 31.7, 2.0), (10.55, 12.25, 1.5), (37.9, 50.05, 3.0), (24.0, 32.0, 2.0),
], ids=["frac-0.3-0.7", "sigma-1.5", "sigma-3", "integer"])
def test_integral_decode_recovers_subpixel_gaussian(cx: float, cy: float, sigma: float) -> None:
    raw = gaussian_logits(64, 48, cx, cy, sigma)[None, None]
    coords, scores = IntegralRegressionCodec().decode(raw)
    assert coords.shape == (1, 1, 2) and scores.shape == (1, 1)
    assert abs(coords[0, 0, 0] - cx) < 0.05
    assert abs(coords[0, 0, 1] - cy) < 0.05
    # confidence is the sigmoid maximum: at most the peak, reached only at the centre cell
    assert scores[0, 0] <= 0.9 + 1e-6


def test_integral_decode_two_cell_map_by_hand() -> None:
    # 1x2 map with logits 0 and log(3): sigmoids 1/2 and 3/4; p = (2/5, 3/5); x = 3/5
    raw = np.array([[[[0.0, np.log(3.0)]]]])
    coords, scores = IntegralRegressionCodec().decode(raw)
    np.testing.assert_allclose(coords[0, 0], [0.6, 0.0], atol=1e-6)
    np.testing.assert_allclose(scores[0, 0], 0.75, atol=1e-6)


@pytest.mark.parametrize("norm_type", ["softmax", "divide_sum"])
def test_integral_confidence_is_one_for_global_norms(norm_type: str) -> None:
    raw = np.abs(np.random.default_rng(0).normal(size=(2, 3, 8, 6))) + 0.1
    coords, scores = IntegralRegressionCodec(norm_type).decode(raw)
    np.testing.assert_array_equal(scores, np.ones((2, 3), np.float32))
    assert np.all((coords >= 0) & (coords <= np.array([5, 7])))


def test_two_step_confidence_is_size_independent_softmax_is_not() -> None:
    sigmas = (1.0, 2.0, 4.0)
    raw = np.stack([gaussian_logits(64, 48, 24, 30, s, peak=0.8) for s in sigmas])[:, None]
    _, two_step = IntegralRegressionCodec("sigmoid").decode(raw)
    np.testing.assert_allclose(two_step[:, 0], [0.8, 0.8, 0.8], atol=1e-6)
    one_step = normalize_maps(raw, "softmax").reshape(3, -1).max(-1)
    # the softmax maximum falls as the same-height blob widens (more mass to share)
    assert one_step[0] > 1.5 * one_step[1] > 1.5 * 1.5 * one_step[2]
    # independently: softmax max = e^{z_max} / sum e^z with e^z = g / (1 - g)
    for i, s in enumerate(sigmas):
        ys, xs = np.mgrid[0:64, 0:48]
        g = 0.8 * np.exp(-((xs - 24) ** 2 + (ys - 30) ** 2) / (2 * s * s))
        odds = g / (1 - g)
        np.testing.assert_allclose(one_step[i], odds.max() / odds.sum(), rtol=1e-9)


def test_normalize_maps_rejects_unknown_norm() -> None:
    with pytest.raises(ValueError, match="norm_type"):
        normalize_maps(np.zeros((1, 1, 2, 2)), "relu")
    with pytest.raises(ValueError, match="norm_type"):
        IntegralRegressionCodec("relu")  # type: ignore[arg-type]


def test_sigmoid_is_stable_for_huge_logits() -> None:
    raw = np.array([[[[-1e4, 1e4], [0.0, -800.0]]]])
    c = normalize_maps(raw, "sigmoid")
    np.testing.assert_allclose(c[0, 0], [[0.0, 1.0], [0.5, 0.0]], atol=1e-300)
    assert np.all(np.isfinite(c))


# ------------------------------------------------------------------------------------------------
# Heatmap decoding
# ------------------------------------------------------------------------------------------------

def hand_map(h: int, w: int, px: int, py: int, left: float, right: float, up: float,
             down: float) -> np.ndarray:
    m = np.zeros((h, w), np.float32)
    m[py, px] = 1.0
    if px > 0:
        m[py, px - 1] = left
    if px < w - 1:
        m[py, px + 1] = right
    if py > 0:
        m[py - 1, px] = up
    if py < h - 1:
        m[py + 1, px] = down
    return m


@pytest.mark.parametrize(("px", "py", "left", "right", "up", "down", "expected"), [
    (4, 3, 0.2, 0.5, 0.1, 0.3, (4.25, 3.25)),      # right and down higher
    (4, 3, 0.5, 0.2, 0.3, 0.1, (3.75, 2.75)),      # left and up higher
    (4, 3, 0.4, 0.4, 0.2, 0.6, (4.0, 3.25)),       # equal horizontal neighbours: no x shift
    (2, 2, 0.0, 0.5, 0.0, 0.5, (2.25, 2.25)),      # first cell where the offset applies
    (1, 3, 0.0, 0.5, 0.0, 0.5, (1.0, 3.0)),        # px = 1: official bound is strict
    (4, 1, 0.0, 0.5, 0.0, 0.5, (4.0, 1.0)),        # py = 1: neither coordinate moves
    (6, 3, 0.0, 0.5, 0.0, 0.5, (6.0, 3.0)),        # px = w - 1 (w = 7)
    (5, 3, 0.0, 0.5, 0.0, 0.5, (5.25, 3.25)),      # px = w - 2
], ids=["right-down", "left-up", "tie-x", "corner-2-2", "px-1", "py-1", "last-col", "w-2"])
def test_heatmap_quarter_offset(px, py, left, right, up, down, expected) -> None:
    m = hand_map(6, 7, px, py, left, right, up, down)
    coords, scores = HeatmapCodec().decode(m[None, None])
    assert tuple(coords[0, 0].tolist()) == expected
    assert scores[0, 0] == 1.0


def test_heatmap_nonpositive_maximum_gives_origin_and_raw_score() -> None:
    m = np.full((1, 2, 8, 8), -0.5, np.float32)
    m[0, 0, 5, 5] = -0.1          # max <= 0: official forces (0, 0)
    m[0, 1, 5, 5] = 1.7           # scores are raw maxima, not clipped
    coords, scores = HeatmapCodec().decode(m)
    assert coords[0, 0].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(scores[0], [-0.1, 1.7], rtol=1e-6)
    assert coords[0, 1].tolist() == [5.0, 5.0]  # neighbours equal: no offset


def test_heatmap_decode_batched_matches_per_map() -> None:
    raw = np.random.default_rng(1).normal(size=(3, 4, 16, 12)).astype(np.float32)
    coords, scores = HeatmapCodec().decode(raw)
    for b in range(3):
        for k in range(4):
            one, s = HeatmapCodec().decode(raw[b:b + 1, k:k + 1])
            assert coords[b, k].tolist() == one[0, 0].tolist() and scores[b, k] == s[0, 0]


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 4)), np.zeros((1, 1, 0, 4))],
                         ids=["3d", "empty-map"])
def test_decode_rejects_bad_shapes(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="raw"):
        HeatmapCodec().decode(bad)


def test_decode_rejects_integer_maps() -> None:
    with pytest.raises(TypeError, match="raw"):
        IntegralRegressionCodec().decode(np.zeros((1, 1, 4, 4), np.int32))


# ------------------------------------------------------------------------------------------------
# Encoders (training targets)
# ------------------------------------------------------------------------------------------------

def test_heatmap_encode_peak_window_and_weights() -> None:
    keypoints = np.array([[81.0, 42.0], [-100.0, 10.0], [190.0, 254.0], [30.0, 30.0]])
    target, weight = HeatmapCodec().encode(keypoints, np.array([1, 1, 1, 0]), (64, 48))
    assert target.shape == (4, 64, 48) and weight.tolist() == [1, 0, 1, 0]
    # int(81/4 + 0.5) = 20, int(42/4 + 0.5) = 11
    assert target[0, 11, 20] == 1.0 and target[0].max() == 1.0
    np.testing.assert_allclose(target[0, 11, 21], np.exp(-1 / 8), rtol=1e-6)
    np.testing.assert_allclose(target[0, 13, 22], np.exp(-8 / 8), rtol=1e-6)
    assert target[0, 11, 27] == 0.0 and target[0, 11, 26] > 0   # 13-cell window
    assert not target[1].any()                                 # wholly off the map
    # int(190/4 + 0.5) = 48 (off the 48-wide map), row 64: the window is cut to the map
    assert target[2, 63, 47] == pytest.approx(np.exp(-(1 + 1) / 8), rel=1e-6)
    assert not target[3].any()                                 # invisible
    coords, _ = HeatmapCodec().decode(target[None, :1])
    assert coords[0, 0].tolist() == [20.0, 11.0]


def test_integral_encode_is_official_normalised_space() -> None:
    target, weight = IntegralRegressionCodec().encode(np.array([[96.0, 128.0], [0.0, 255.0]]),
                                                      np.array([1.0, 0.0]), (256, 192))
    np.testing.assert_allclose(target, [[0.0, 0.0], [-0.5, 255 / 256 - 0.5]], atol=1e-7)
    assert weight.tolist() == [[1, 1], [0, 0]]


# ------------------------------------------------------------------------------------------------
# Combined, factory, protocol
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("k", "n"), [(136, 26), (133, 23), (68, 26)],
                         ids=["halpe136", "wholebody133", "noface68"])
def test_combined_official_split(k: int, n: int) -> None:
    assert CombinedCodec.official(k).num_heatmap == n


def test_combined_official_rejects_other_sizes() -> None:
    with pytest.raises(ValueError, match="num_keypoints"):
        CombinedCodec.official(17)


def test_combined_decodes_each_part_with_its_codec() -> None:
    rng = np.random.default_rng(2)
    raw = rng.normal(size=(2, 5, 16, 12)).astype(np.float32)
    coords, scores = CombinedCodec(3).decode(raw)
    c1, s1 = HeatmapCodec().decode(raw[:, :3])
    c2, s2 = IntegralRegressionCodec().decode(raw[:, 3:])
    np.testing.assert_array_equal(coords, np.concatenate([c1, c2], 1))
    np.testing.assert_array_equal(scores, np.concatenate([s1, s2], 1))


@pytest.mark.parametrize(("loss", "expected"), [
    ("MSELoss", HeatmapCodec()), ("L1JointRegression", IntegralRegressionCodec("sigmoid")),
    ("Combined", CombinedCodec(26, "sigmoid")),
], ids=["mse", "l1", "combined"])
def test_codec_from_loss(loss: str, expected: Codec) -> None:
    codec = codec_from_loss(loss, 136)
    assert codec == expected and isinstance(codec, Codec)


def test_codec_from_loss_unknown_lists_valid() -> None:
    with pytest.raises(ValueError, match="L1JointRegression"):
        codec_from_loss("SmoothL1", 17)


# ------------------------------------------------------------------------------------------------
# Flip test
# ------------------------------------------------------------------------------------------------

def test_flip_maps_is_an_involution_and_swaps_sides() -> None:
    layout = get_layout("coco17")
    raw = np.random.default_rng(3).normal(size=(2, 17, 8, 6)).astype(np.float32)
    once = flip_maps(raw, layout)
    np.testing.assert_array_equal(flip_maps(once, layout), raw)
    le, re = layout.index("left_eye"), layout.index("right_eye")
    np.testing.assert_array_equal(once[:, le], raw[:, re, :, ::-1])
    np.testing.assert_array_equal(once[:, 0], raw[:, 0, :, ::-1])  # nose stays


def test_flip_back_without_shift_round_trips() -> None:
    layout = get_layout("halpe26")
    raw = np.random.default_rng(4).normal(size=(1, 26, 8, 6)).astype(np.float32)
    np.testing.assert_array_equal(flip_back(flip_maps(raw, layout), layout, shift=False), raw)


def test_flip_back_shift_moves_one_column_right() -> None:
    layout = get_layout("coco17")
    raw = np.random.default_rng(5).normal(size=(1, 17, 8, 6)).astype(np.float32)
    back = flip_back(flip_maps(raw, layout), layout)
    np.testing.assert_array_equal(back[..., 1:], raw[..., :-1])
    np.testing.assert_array_equal(back[..., 0], raw[..., 0])  # column 0 keeps its value


def test_flip_average_on_a_mirrored_blob() -> None:
    # A keypoint at input x = 81 (stride 4, 192 wide) sits at heatmap x = 20.25; in the mirrored
    # crop at 191 - 81 = 110 -> 27.5. flip_back maps 27.5 to 47 - 27.5 + 1 = 20.5: the official
    # shift leaves the mirrored estimate 0.25 cells right of the direct one.
    direct = gaussian_logits(64, 48, 81 / 4, 30, 2.0)[None, None]
    mirrored = gaussian_logits(64, 48, (191 - 81) / 4, 30, 2.0)[None, None]
    back = flip_back(mirrored, None)
    x_back = IntegralRegressionCodec().decode(back)[0][0, 0, 0]
    assert abs(x_back - 20.5) < 0.05
    averaged = flip_average(direct, mirrored, None)
    np.testing.assert_allclose(averaged, (direct + back) / 2)


def test_flip_crops_mirrors_width() -> None:
    batch = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(flip_crops(batch), batch[..., ::-1])


def test_flip_rejects_wrong_flip_index() -> None:
    with pytest.raises(ValueError, match="flip_index"):
        flip_maps(np.zeros((1, 3, 4, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match="flip_index"):
        flip_maps(np.zeros((1, 3, 4, 4)), np.array([0, 0, 1]))


# ------------------------------------------------------------------------------------------------
# Torch versions: same numbers, and the amplitude-symmetric gradient
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("codec", [HeatmapCodec(), IntegralRegressionCodec("sigmoid"),
                                   IntegralRegressionCodec("softmax"), CombinedCodec(2)],
                         ids=["heatmap", "sigmoid", "softmax", "combined"])
def test_torch_decode_matches_numpy(codec: Codec) -> None:
    torch = torch_or_skip()
    from alphapose.codecs_torch import decode

    raw = np.random.default_rng(6).normal(size=(3, 5, 16, 12)).astype(np.float32)
    raw[0, 0] = -1.0  # a non-positive heatmap maximum
    coords, scores = decode(codec, torch.from_numpy(raw))
    expected_coords, expected_scores = codec.decode(raw)
    np.testing.assert_allclose(coords.numpy(), expected_coords, atol=1e-4)
    np.testing.assert_allclose(scores.numpy(), expected_scores, atol=1e-6)


def test_asg_backward_hand_checked() -> None:
    torch = torch_or_skip()
    from alphapose.codecs_torch import AmplitudeSymmetricIntegral

    # p = (0.1, 0.2, 0.4, 0.3): mu_hat = 0.2 + 0.8 + 0.9 = 1.9. Target mu = 1.0, L = |mu_hat - mu|,
    # so sgn(mu_hat - mu) = +1. W = 4 bins, A_grad = W / 8 = 0.5.
    # Eq. 3: dL/dp_x = 0.5 * sgn(x - 1.9) * 1 = (-0.5, -0.5, +0.5, +0.5).
    p = torch.tensor([0.1, 0.2, 0.4, 0.3], dtype=torch.float64, requires_grad=True)
    mu_hat = AmplitudeSymmetricIntegral.apply(p, 4 / 8)
    assert mu_hat.item() == pytest.approx(1.9)
    (mu_hat - 1.0).abs().backward()
    assert p.grad.tolist() == [-0.5, -0.5, 0.5, 0.5]
    # target above the prediction: sgn(mu_hat - mu) = -1 flips every sign
    p.grad = None
    (AmplitudeSymmetricIntegral.apply(p, 0.5) - 3.0).abs().backward()
    assert p.grad.tolist() == [0.5, 0.5, -0.5, -0.5]
    # the true integral gradient (Eq. 2) is x * sgn(mu_hat - mu) = (0, 1, 2, 3)
    p.grad = None
    ((p * torch.arange(4.0, dtype=torch.float64)).sum() - 1.0).abs().backward()
    assert p.grad.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_asg_in_integral_decode_same_forward_symmetric_backward() -> None:
    torch = torch_or_skip()
    from alphapose.codecs_torch import integral_decode

    raw = torch.tensor(gaussian_logits(8, 6, 2.3, 4.6, 1.2), dtype=torch.float64)[None, None]
    raw.requires_grad_(True)
    plain, _ = integral_decode(raw)
    sym, _ = integral_decode(raw, symmetric_gradient=True)
    torch.testing.assert_close(plain, sym)
    sym[0, 0, 0].backward()  # d x_hat / d logits through the ASG on the column marginal
    # same chain by hand: marginal gradient A * sgn(j - x_hat), A = w / 8 = 0.75, then through the
    # two-step normalisation with plain autograd
    z = raw.detach().clone().requires_grad_(True)
    c = z.sigmoid()
    p = (c / c.sum()).sum(2)[0, 0]
    x_hat = float(plain[0, 0, 0].detach())
    surrogate = (p * 0.75 * torch.where(torch.arange(6.0) >= x_hat, 1.0, -1.0)).sum()
    surrogate.backward()
    torch.testing.assert_close(raw.grad, z.grad)
