"""Tests for the PGA re-ID branch (alphapose.tracking.reid_torch)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from alphapose.structures import Poses
from alphapose.tracking import MSIMTracker
from alphapose.tracking.reid_torch import (
    PGAEmbedder,
    PoseGuidedAttention,
    PoseWithReID,
    ReIDHead,
    gaussian_heatmaps,
)
from tracking_scenes.synthetic import crossing


def test_pga_is_eq20_with_the_sigmoid_of_one_conv() -> None:
    pga = PoseGuidedAttention(num_keypoints=3, kernel_size=1)
    with torch.no_grad():
        pga.conv.weight.copy_(torch.tensor([1.0, -2.0, 0.5]).view(1, 3, 1, 1))
        pga.conv.bias.fill_(0.25)
    features = torch.randn(2, 4, 5, 6)
    heatmaps = torch.rand(2, 3, 5, 6)
    a = torch.sigmoid(heatmaps[:, 0] - 2 * heatmaps[:, 1] + 0.5 * heatmaps[:, 2] + 0.25)
    expected = features * a[:, None] + features
    torch.testing.assert_close(pga(features, heatmaps), expected)


def test_pga_resizes_heatmaps_and_rejects_bad_shapes() -> None:
    pga = PoseGuidedAttention(17)
    out = pga(torch.randn(1, 8, 8, 6), torch.rand(1, 17, 64, 48))
    assert out.shape == (1, 8, 8, 6)
    with pytest.raises(ValueError, match="same B"):
        pga(torch.randn(2, 8, 8, 6), torch.rand(1, 17, 64, 48))


def test_reid_head_embeds_unit_vectors_and_trains_with_a_classifier() -> None:
    torch.manual_seed(0)
    head = ReIDHead(32, 17, embed_dim=128, mid_channels=16, num_identities=10)
    features, heatmaps = torch.randn(3, 32, 8, 6), torch.rand(3, 17, 64, 48)
    emb, logits = head.train()(features, heatmaps)
    assert emb.shape == (3, 128) and logits.shape == (3, 10)
    logits.sum().backward()
    assert head.pga.conv.weight.grad is not None
    emb = head.eval()(features, heatmaps)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "separate"])
def test_pose_with_reid_on_a_small_fastpose(shared: bool) -> None:
    from alphapose.models.fastpose import FastPose

    torch.manual_seed(0)
    pose = FastPose(17, depth=18, input_size=(64, 64)).eval()
    model = PoseWithReID(pose, shared=shared).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        heatmaps, emb = model(x)
        torch.testing.assert_close(heatmaps, pose(x))        # the pose output is untouched
    assert emb.shape == (2, 128)
    assert (model.reid_trunk is None) == shared


def test_gaussian_heatmaps_peak_at_the_keypoint() -> None:
    maps = gaussian_heatmaps(np.array([[[3.0, 5.0]]]), np.array([[0.8]]), (10, 8))
    assert maps.shape == (1, 1, 10, 8)
    assert np.unravel_index(maps[0, 0].argmax(), (10, 8)) == (5, 3)
    assert maps.max() == pytest.approx(0.8)


def test_pga_embedder_drives_msim() -> None:
    torch.manual_seed(0)
    trunk = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, stride=8, padding=1), torch.nn.ReLU())
    embedder = PGAEmbedder(trunk, ReIDHead(16, 17, mid_channels=16), input_size=(64, 32))
    tracker = MSIMTracker(appearance=embedder)
    for frame, _, observed in crossing(seed=0, num_frames=3).frames():
        out = tracker.update(frame, observed)
        assert (out.track_ids >= 0).all() and len(set(out.track_ids.tolist())) == len(out)
    emb = embedder.embed(frame.image, observed)
    assert emb.metric == "cosine" and emb.vectors.shape == (len(observed), 1, 128)
    assert len(embedder.embed(frame.image, Poses.empty(17, "coco17"))) == 0
