"""The LiteRT runtime: counters, input checks and outputs the caller skips."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def body_model_path(embedded_models):
    from alphapose.weights import get_model_file

    return get_model_file("blaze-pose-full")


@pytest.mark.models
def test_skipped_outputs_are_none_and_the_others_unchanged(body_model_path) -> None:
    from alphapose.runtime.litert import LiteRTModel

    full = LiteRTModel(body_model_path, num_threads=1)
    lean = LiteRTModel(body_model_path, num_threads=1, skip_outputs=(2, 4))
    batch = np.random.default_rng(0).random(full.input_shape, dtype=np.float32)
    every, some = full(batch), lean(batch)
    assert [o is None for o in some] == [False, False, True, False, True]
    assert every[2].shape == (1, 256, 256, 1)  # the segmentation mask that is skipped
    for kept in (0, 1, 3):
        np.testing.assert_array_equal(every[kept], some[kept])
    assert lean.invocations == 1 and lean.invoke_seconds > 0 and lean.invoke_cpu_seconds > 0


@pytest.mark.models
def test_bad_skip_positions_and_input_shapes_are_refused(body_model_path) -> None:
    from alphapose.runtime.litert import LiteRTModel

    with pytest.raises(ValueError, match="skip_outputs"):
        LiteRTModel(body_model_path, skip_outputs=(5,))
    model = LiteRTModel(body_model_path, num_threads=1)
    with pytest.raises(ValueError, match=r"pose_landmark_full.tflite: expected input shape"):
        model(np.zeros((1, 224, 224, 3), np.float32))
    assert model.invocations == 0
