"""alphapose.data.trunk_features: the frozen BlazePose trunk reads the named encoder tensor and
the model's own points land on a real person."""

from __future__ import annotations

import numpy as np
import pytest

from alphapose.data.people import RenderConfig, load_labelled_people, render_people
from alphapose.data.trunk_features import TRUNK_TENSOR, BlazeTrunk


@pytest.fixture(scope="module")
def trunk(embedded_models) -> BlazeTrunk:
    return BlazeTrunk("full")


def test_trunk_features_and_teacher_on_a_real_person(trunk, shared_data):
    people = [s for s in load_labelled_people(shared_data) if s.domain == "coco"]
    person = max(people, key=lambda s: float(np.prod(s.box[2:] - s.box[:2])))  # the largest
    cfg = RenderConfig(input_size=(256, 256)).detector_like()  # jittered boxes, flips
    crops = render_people([person], RenderConfig(input_size=(256, 256), flip_prob=0.0,
                                                 box_jitter=False).detector_like(), 1, seed=0)
    crops += render_people([person], cfg, 3, seed=1)
    features, teacher = zip(*(trunk(c.image) for c in crops))
    assert trunk.tensor == TRUNK_TENSOR
    assert trunk.feature_shape == (8, 8, 144)
    assert features[0].shape == (8, 8, 144) and features[0].dtype == np.float16
    assert np.isfinite(features[0].astype(np.float32)).all()
    # the model's own regression finds the person: median error a few percent of the crop
    crop = crops[0]
    error = np.linalg.norm(teacher[0] - crop.keypoints, axis=-1)[crop.weights > 0]
    assert np.median(error) < 12.0
    # different crops, different features; the same crop, the same features
    assert not np.array_equal(features[0], features[1])
    np.testing.assert_array_equal(trunk(crops[0].image)[0], features[0])


def test_trunk_rejects_a_wrong_size_and_an_unknown_tensor(trunk, embedded_models):
    with pytest.raises(ValueError, match="256, 256"):
        trunk(np.zeros((128, 128, 3), np.uint8))
    with pytest.raises(ValueError, match="not in pose_landmark_full"):
        BlazeTrunk("full", tensor="no/such/tensor")
    with pytest.raises(ValueError, match="model"):
        BlazeTrunk("huge")
