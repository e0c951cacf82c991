"""Training data: readers on the real files, augmentation geometry, PGPG statistics, multi-domain
batch composition and loss masking."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alphapose.data.augment import (
    AugmentConfig,
    GaussianMixture2D,
    GaussianMixtureOffsets,
    PartProposalGenerator,
    UniformOffsets,
    augment_sample,
    box_offsets,
    crop_matrix,
    fit_offsets,
)
from alphapose.data.datasets import (
    Sample,
    load_300w,
    load_coco_keypoints,
    load_coco_wholebody,
    load_dlib_faces,
    load_halpe,
    load_hands,
    load_posetrack,
)
from alphapose.data.sampler import Domain, MultiDomainSampler, batch_counts
from alphapose.skeletons import get_layout

stats = pytest.importorskip("scipy.stats")

# ------------------------------------------------------------------------------------------------
# Readers on the real files
# ------------------------------------------------------------------------------------------------


def _count_json(path, keys=("keypoints",), threshold=0.0, strict=False):
    """Independent count: (people with a labelled point and a box, labelled points)."""
    data = json.loads(path.read_text())
    people = points = 0
    for ann in data["annotations"]:
        v = np.concatenate([np.asarray(ann.get(k) or [], float).reshape(-1, 3)[:, 2]
                            for k in keys])
        labelled = (v >= threshold) & (v > 0) if strict else v > threshold
        if labelled.any() and ann["bbox"][2] > 0 and ann["bbox"][3] > 0:
            people += 1
            points += int(labelled.sum())
    return people, points


@pytest.mark.parametrize("layout", ["coco17", "halpe136"], ids=["coco17", "halpe136"])
def test_coco_reader_counts(shared_data, layout):
    path = shared_data / "mmpose/coco/test_coco.json"
    samples = load_coco_keypoints(path, layout=layout)
    people, points = _count_json(path)
    assert (len(samples), people) == (12, 12)
    assert sum(s.num_visible for s in samples) == points
    assert all(s.image_path.is_file() for s in samples)
    assert all(s.annotated.sum() == 17 for s in samples)   # only the COCO body points


def test_halpe_and_wholebody_counts(shared_data):
    halpe = load_halpe(shared_data / "mmpose/halpe/test_halpe.json", shared_data / "mmpose/coco")
    people, points = _count_json(shared_data / "mmpose/halpe/test_halpe.json", threshold=0.35,
                                 strict=True)
    assert len(halpe) == people == 12
    assert sum(s.num_visible for s in halpe) == points
    keys = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")
    wb_path = shared_data / "mmpose/coco/test_coco_wholebody.json"
    wb = load_coco_wholebody(wb_path)
    people, points = _count_json(wb_path, keys, threshold=0.35, strict=True)
    assert len(wb) == people and sum(s.num_visible for s in wb) == points
    # name-based mapping into Halpe-136: the left small toe (foot_kpts[1]) lands in Halpe slot 22
    wb136 = load_coco_wholebody(wb_path, layout="halpe136")
    raw = {a["id"]: a for a in json.loads(wb_path.read_text())["annotations"]}
    halpe_layout = get_layout("halpe136")
    assert halpe_layout.keypoint_names[22] == "left_small_toe"
    checked = 0
    for s in wb136:
        foot = np.asarray(raw[s.ann_id]["foot_kpts"], float).reshape(6, 3)
        if foot[1, 2] >= 0.35:
            np.testing.assert_allclose(s.keypoints[22, :2], foot[1, :2], atol=1e-4)
            checked += 1
        # head, neck, hip are not COCO-WholeBody points: unannotated, zero weight
        assert not s.annotated[[17, 18, 19]].any()
    assert checked > 0


def test_posetrack_and_part_datasets(shared_data):
    pt = load_posetrack(shared_data / "mmpose/posetrack18/annotations/test_posetrack18_val.json")
    assert len(pt) == 14 and all(s.image_path.is_file() for s in pt)
    assert {s.track_id for s in pt} != {-1}
    coco = get_layout("coco17")
    # PoseTrack has no eyes: never annotated in COCO-17
    assert not any(s.annotated[coco.index("left_eye")] for s in pt)
    faces = load_300w(shared_data / "mmpose/300w/test_300w.json")
    hands = load_hands(shared_data / "mmpose/freihand/test_freihand.json")
    onehand = load_hands(shared_data / "mmpose/onehand10k/test_onehand10k.json",
                         domain="onehand10k")
    dlib = load_dlib_faces(shared_data / "dlib/faces/training_with_face_landmarks.xml")
    assert (len(faces), len(hands), len(onehand), len(dlib)) == (2, 8, 4, 18)
    halpe = get_layout("halpe136")
    face_idx = halpe.parts["face"]
    for s in faces + dlib:
        assert s.part == "face" and s.image_path.is_file()
        assert set(np.flatnonzero(s.annotated)) == set(face_idx.tolist())
    for s in hands:
        assert set(np.flatnonzero(s.annotated)) == set(halpe.parts["right_hand"].tolist())
    assert sum(s.num_visible for s in onehand) == 20 + 7 + 15 + 21
    assert sum(s.num_visible for s in dlib) == 1224


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_coco_keypoints(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"foo": 1}))
    with pytest.raises(ValueError, match="COCO-style"):
        load_coco_keypoints(bad)
    with pytest.raises(ValueError, match="side"):
        load_hands(bad, side="middle")


# ------------------------------------------------------------------------------------------------
# Augmentation geometry
# ------------------------------------------------------------------------------------------------

def _dot_sample(tmp_path, points, layout="coco17", size=(240, 320)):
    """An image with a bright dot per keypoint (distinct colour channels) and its sample."""
    h, w = size
    layout_ = get_layout(layout)
    kp = np.zeros((layout_.num_keypoints, 3), np.float32)
    image = np.zeros((h, w, 3), np.uint8)
    for (k, x, y, channel) in points:
        kp[k] = (x, y, 1)
        image[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2, channel] = 255
    box = np.array([60, 40, 260, 220], np.float32)
    sample = Sample(tmp_path / "none.png", box, kp, np.ones(layout_.num_keypoints, bool),
                    layout_.name, "synthetic")
    return image, sample


def _centroid(channel_image, centre, radius=6):
    x0, y0 = (int(np.round(v)) for v in centre[:2])
    ys, xs = np.mgrid[y0 - radius:y0 + radius + 1, x0 - radius:x0 + radius + 1]
    patch = channel_image[y0 - radius:y0 + radius + 1, x0 - radius:x0 + radius + 1]
    weight = np.clip(patch - patch.min(), 0, None)
    return np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()


@pytest.mark.parametrize("seed", [0, 1, 2, 3], ids=lambda s: f"seed{s}")
def test_rotation_and_scale_move_dots_with_keypoints(tmp_path, seed):
    # BGR channels 0, 1, 2 -> RGB crop channels 2, 1, 0
    image, sample = _dot_sample(tmp_path, [(9, 120, 100, 0), (10, 200, 150, 1), (0, 150, 70, 2)])
    cfg = AugmentConfig(input_size=(256, 192), scale_factor=0.3, rotation_factor=30,
                        rotation_prob=1.0, flip_prob=0.0, half_body_prob=0.0)
    crop = augment_sample(image, sample, cfg, np.random.default_rng(seed))
    assert crop.rotation != 0.0
    for k, rgb_channel in ((9, 2), (10, 1), (0, 0)):
        assert crop.weights[k] == 1
        found = _centroid(crop.image[rgb_channel], crop.keypoints[k])
        np.testing.assert_allclose(found, crop.keypoints[k], atol=0.35)


def test_flip_mirrors_x_and_swaps_pairs(tmp_path):
    layout = get_layout("coco17")
    lw, rw = layout.index("left_wrist"), layout.index("right_wrist")
    image, sample = _dot_sample(tmp_path, [(lw, 110, 100, 0), (rw, 210, 160, 1)])
    plain = AugmentConfig.no_augmentation((256, 192))
    flipped_cfg = AugmentConfig(input_size=(256, 192), scale_factor=0.0, rotation_factor=0.0,
                                flip_prob=1.0, half_body_prob=0.0)
    a = augment_sample(image, sample, plain, np.random.default_rng(0))
    b = augment_sample(image, sample, flipped_cfg, np.random.default_rng(0))
    assert b.flipped and not a.flipped
    w = 192
    # the right wrist of the mirrored crop is the mirror image of the left wrist, and vice versa
    np.testing.assert_allclose(b.keypoints[rw], [w - 1 - a.keypoints[lw, 0], a.keypoints[lw, 1]],
                               atol=1e-4)
    np.testing.assert_allclose(b.keypoints[lw], [w - 1 - a.keypoints[rw, 0], a.keypoints[rw, 1]],
                               atol=1e-4)
    np.testing.assert_allclose(b.image, a.image[:, :, ::-1], atol=1e-5)
    # the dot that was the left wrist (blue -> RGB channel 2) now sits at the right-wrist target
    found = _centroid(b.image[2], b.keypoints[rw])
    np.testing.assert_allclose(found, b.keypoints[rw], atol=0.35)


def test_plain_crop_matches_official_formula():
    center, scale_w = np.array([150.0, 120.0]), 200.0
    m = crop_matrix(center, scale_w, 0.0, (256, 192))
    s = 192 / scale_w
    p = np.array([170.0, 90.0])
    np.testing.assert_allclose(m[:, :2] @ p + m[:, 2], (p - center) * s + [96, 128], atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5], ids=lambda s: f"seed{s}")
def test_half_body_keeps_a_body_half(tmp_path, seed):
    kp = np.zeros((17, 3), np.float32)
    rng = np.random.default_rng(seed)
    kp[:11, :2] = rng.uniform([140, 50], [180, 110], size=(11, 2))    # upper body (ids 0-10)
    kp[11:, :2] = rng.uniform([140, 150], [180, 210], size=(6, 2))    # lower body
    kp[:, 2] = 1
    sample = Sample(tmp_path / "x.png", [130, 40, 190, 220], kp, np.ones(17, bool), "coco17", "t")
    cfg = AugmentConfig(scale_factor=0.0, rotation_factor=0.0, flip_prob=0.0,
                        half_body_prob=1.0, half_body_min_joints=8)
    image = np.zeros((240, 320, 3), np.uint8)
    full = augment_sample(image, sample, AugmentConfig.no_augmentation(), np.random.default_rng(0))
    half = augment_sample(image, sample, cfg, np.random.default_rng(seed))
    assert full.weights.sum() == 17
    kept = set(np.flatnonzero(half.weights).tolist())
    assert kept in (set(range(11)), set(range(11, 17)))
    # the crop zooms in on the half
    assert half.crop_from_img[0, 0] > full.crop_from_img[0, 0]


# ------------------------------------------------------------------------------------------------
# Part-guided proposal generator
# ------------------------------------------------------------------------------------------------

TIGHT = np.array([100.0, 50.0, 140.0, 110.0])   # a 40 x 60 part box


def test_pgpg_uniform_offsets_follow_the_distribution():
    dist = UniformOffsets((-2.0, -0.5, 0.5, 3.0), (-0.5, 0.0, 2.5, 8.0))
    gen = PartProposalGenerator({"face": dist}, min_size=0.0)
    boxes = gen.propose_many(TIGHT, "face", 3000, np.random.default_rng(7))
    offsets = box_offsets(boxes, np.repeat(TIGHT[None], len(boxes), 0))
    for j in range(4):
        lo, hi = dist.low[j], dist.high[j]
        assert stats.kstest(offsets[:, j], stats.uniform(lo, hi - lo).cdf).pvalue > 0.01
        # the same draws are far from a shifted range: the test can fail
        shifted = stats.uniform(lo + 0.1 * (hi - lo), hi - lo).cdf
        assert stats.kstest(offsets[:, j], shifted).pvalue < 1e-4
    # x and y offsets are independent draws
    assert abs(np.corrcoef(offsets[:, 0], offsets[:, 1])[0, 1]) < 0.06
    # parts without a distribution keep their box
    np.testing.assert_array_equal(gen.propose(TIGHT, "body", np.random.default_rng(0)), TIGHT)


def _mixture_cdf(gmm, axis):
    def cdf(v):
        return sum(w * stats.norm(m[axis], np.sqrt(c[axis, axis])).cdf(v)
                   for w, m, c in zip(gmm.weights, gmm.means, gmm.covariances))
    return cdf


X_MIX = GaussianMixture2D([0.6, 0.4], [[-0.5, 0.4], [-2.0, 2.0]],
                          [[[0.04, 0.01], [0.01, 0.05]], [[0.3, -0.1], [-0.1, 0.3]]])
Y_MIX = GaussianMixture2D([0.7, 0.3], [[-0.4, 5.0], [-1.5, 9.0]],
                          [[[0.02, 0.0], [0.0, 0.8]], [[0.1, 0.05], [0.05, 1.5]]])


def test_pgpg_gaussian_mixture_offsets_follow_the_distribution():
    gen = PartProposalGenerator({"face": GaussianMixtureOffsets(X_MIX, Y_MIX)}, min_size=0.0)
    boxes = gen.propose_many(TIGHT, "face", 4000, np.random.default_rng(3))
    offsets = box_offsets(boxes, np.repeat(TIGHT[None], len(boxes), 0))
    for column, (mix, axis) in enumerate([(X_MIX, 0), (Y_MIX, 0), (X_MIX, 1), (Y_MIX, 1)]):
        cdf = _mixture_cdf(mix, axis)
        assert stats.kstest(offsets[:, column], cdf).pvalue > 0.01
        assert stats.kstest(offsets[:, column] + 0.15, cdf).pvalue < 1e-4
    # within an axis the two offsets are correlated as the mixture says (sample covariance)
    x_pairs = offsets[:, [0, 2]]
    mean = X_MIX.weights @ X_MIX.means
    cov = sum(w * (c + np.outer(m - mean, m - mean))
              for w, m, c in zip(X_MIX.weights, X_MIX.means, X_MIX.covariances))
    np.testing.assert_allclose(np.cov(x_pairs.T), cov, atol=0.03)


def test_fit_offsets_recovers_a_known_mixture():
    rng = np.random.default_rng(11)
    truth = GaussianMixtureOffsets(X_MIX, Y_MIX)
    offsets = truth.sample(3000, rng)
    tight = np.repeat(TIGHT[None], 3000, 0)
    sizes = np.array([40.0, 60.0, 40.0, 60.0])
    detected = tight + offsets * sizes
    fitted = fit_offsets(detected, tight, components=2)
    order = np.argsort(fitted.x.weights)[::-1]
    np.testing.assert_allclose(fitted.x.weights[order], X_MIX.weights, atol=0.05)
    np.testing.assert_allclose(fitted.x.means[order], X_MIX.means, atol=0.1)
    # proposals drawn from the fit follow the true marginals
    draws = fitted.sample(3000, np.random.default_rng(5))
    assert stats.kstest(draws[:, 3], _mixture_cdf(Y_MIX, 1)).pvalue > 0.01


def test_offset_distribution_errors():
    with pytest.raises(ValueError, match="below low"):
        UniformOffsets((0, 0, 1, 0), (1, 1, 0, 1))
    with pytest.raises(ValueError, match="summing to 1"):
        GaussianMixture2D([0.5, 0.6], [[0, 0], [1, 1]], [np.eye(2), np.eye(2)])
    with pytest.raises(TypeError, match="offset distribution"):
        PartProposalGenerator({"face": object()})


# ------------------------------------------------------------------------------------------------
# Multi-domain sampling and loss masks
# ------------------------------------------------------------------------------------------------

def _fake_domain(name, ratio, n=5):
    samples = [Sample(f"/nonexistent/{name}{i}.jpg", [0, 0, 10, 10],
                      np.zeros((136, 3), np.float32), np.ones(136, bool), "halpe136", name)
               for i in range(n)]
    return Domain(name, samples, ratio)


@pytest.mark.parametrize("batch_size", [32, 7, 48], ids=lambda b: f"B{b}")
def test_multidomain_batch_composition_matches_ratios(batch_size):
    ratios = {"halpe": 1 / 3, "coco_wholebody": 1 / 3, "300w": 1 / 6, "freihand": 1 / 6}
    domains = [_fake_domain(n, r) for n, r in ratios.items()]
    sampler = MultiDomainSampler(domains, batch_size, seed=1)
    draws = 3000
    counts = np.zeros((draws, 4))
    for t in range(draws):
        picks = sampler.draw()
        assert len(picks) == batch_size
        counts[t] = np.bincount([d for d, _ in picks], minlength=4)
    expected = np.array(list(ratios.values())) * batch_size
    # every batch is within one slot of r B ...
    assert np.all(np.abs(counts - expected) < 1.0)
    # ... and the average converges to r B (standard error of a Bernoulli slot < 0.5 / sqrt(n))
    np.testing.assert_allclose(counts.mean(0), expected, atol=4 * 0.5 / np.sqrt(draws))


def test_batch_counts_expectation_is_exact():
    # with stochastic rounding the long-run mean equals r B even for awkward ratios
    rng = np.random.default_rng(0)
    ratios = [0.55, 0.3, 0.15]
    mean = np.mean([batch_counts(ratios, 5, rng) for _ in range(20000)], 0)
    np.testing.assert_allclose(mean, np.array(ratios) * 5, atol=0.02)
    with pytest.raises(ValueError, match="ratios"):
        batch_counts([0.5, -0.5], 4, rng)


def test_loss_masks_zero_out_unannotated_points(shared_data):
    torch = pytest.importorskip("torch")
    from alphapose.losses import heatmap_loss, integral_loss

    faces = load_300w(shared_data / "mmpose/300w/test_300w.json")
    hands = load_hands(shared_data / "mmpose/freihand/test_freihand.json")
    sampler = MultiDomainSampler(
        [Domain("300w", faces, 0.5, AugmentConfig(input_size=(64, 48))),
         Domain("freihand", hands, 0.5, AugmentConfig(input_size=(64, 48)))], 4, seed=0)
    batch = sampler.make_batch()
    layout = get_layout("halpe136")
    body = layout.parts["body"]
    assert not batch.weights[:, body].any()
    for i, d in enumerate(batch.domains):
        other = layout.parts["right_hand" if batch.domain_names[d] == "300w" else "face"]
        assert not batch.weights[i, other].any()
    weights = torch.from_numpy(batch.weights)
    target = torch.from_numpy(batch.keypoints) / 4.0
    for loss_fn in (heatmap_loss, integral_loss):
        pred = torch.randn(4, 136, 16, 12, requires_grad=True)
        loss = loss_fn(pred, target, weights)
        loss.backward()
        masked = weights == 0
        assert pred.grad[masked].abs().max() == 0
        assert pred.grad[~masked].abs().sum() > 0
        # changing the predictions of unannotated points does not change the loss
        other = pred.detach().clone()
        other[masked] = torch.randn_like(other[masked]) * 5
        assert torch.allclose(loss_fn(other, target, weights), loss.detach())
