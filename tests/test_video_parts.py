"""The video fast path (alphapose.estimators.video_parts): crop convergence, future chaining, and
the fast path against the full one on a real clip."""

from __future__ import annotations

import math
from concurrent.futures import Future
from dataclasses import replace

import cv2
import numpy as np
import pytest

from alphapose.estimators.video_parts import after, converged
from alphapose.tasks import resolved
from alphapose.transforms import RotatedRect


def test_converged_measures_shift_size_and_turn_against_the_side() -> None:
    base = RotatedRect(100.0, 100.0, 50.0, 50.0, 0.0)
    assert converged(base, RotatedRect(104.0, 103.0, 50.0, 50.0, 0.0), 0.1)  # 5 px of 50
    assert not converged(base, RotatedRect(106.0, 100.0, 50.0, 50.0, 0.0), 0.1)
    assert not converged(base, RotatedRect(100.0, 100.0, 56.0, 56.0, 0.0), 0.1)
    assert converged(base, RotatedRect(100.0, 100.0, 50.0, 50.0, 0.15), 0.1)
    assert not converged(base, RotatedRect(100.0, 100.0, 50.0, 50.0, 0.25), 0.1)
    # a full turn is no turn
    assert converged(base, RotatedRect(100.0, 100.0, 50.0, 50.0, 2 * math.pi), 0.1)


def test_after_flattens_waits_for_the_source_and_routes_errors() -> None:
    source: Future = Future()
    out = after(source, lambda value: resolved(value * 2))
    assert not out.done()
    source.set_result(21)
    assert out.result(timeout=1) == 42

    failed: Future = Future()
    failed.set_exception(RuntimeError("frame failed"))
    assert after(failed, lambda value: resolved(value), on_error=lambda _: "fallback"
                 ).result(timeout=1) == "fallback"
    with pytest.raises(RuntimeError, match="frame failed"):
        after(failed, lambda value: resolved(value)).result(timeout=1)


def _clip_poses(config, frames, sp: bool, mode: str = "lightweight"):
    from alphapose.estimators.blaze import BlazeWholeBody
    from alphapose.modes import build_detector
    from alphapose.pipeline import Pipeline, RunOptions

    # the mode's detector (fused in every mode: the small people of a crowd too; BlazePose
    # alone when NanoDet cannot be fetched)
    detector, name = build_detector(mode)
    estimator = BlazeWholeBody(config if name == "blaze" else config.for_detector_boxes())
    pipeline = Pipeline(detector, estimator, mode=mode,
                        run=RunOptions(sp=sp, workers=1 if sp else None))
    return [poses for _, poses in pipeline.run(frames)], estimator.hand.model.invocations


@pytest.mark.usefixtures("embedded_models")
def test_fast_path_follows_parts_close_to_the_full_path(shared_data) -> None:
    from alphapose.estimators.blaze import FACE, LEFT_HAND, RIGHT_HAND
    from alphapose.modes import estimator_config
    from alphapose.structures import Frame

    # a clip panned over a still of two footballers whose hands and faces the models find
    image = cv2.imread(str(shared_data / "openpifpaf/wholebody/soccer.jpeg"))
    image = cv2.resize(image, (600, 400), interpolation=cv2.INTER_AREA)
    frames = [Frame(cv2.warpAffine(image, np.float64([[1, 0, -3 * n], [0, 1, -2 * n]]),
                                   (600, 400), borderMode=cv2.BORDER_REPLICATE),
                    n, f"{n}.jpg", path="panned", source="panned") for n in range(5)]
    full_config = estimator_config("balanced", fast_video=False, skip_converged=False)
    fast_config = replace(full_config, fast_video=True)
    full, full_hand_invokes = _clip_poses(full_config, frames, sp=True)
    fast, fast_hand_invokes = _clip_poses(fast_config, frames, sp=True)
    # followed hands mostly skip their second pass (full: two per hand on every frame)
    assert fast_hand_invokes < 0.75 * full_hand_invokes
    # frame 0 runs the detector: the same path, the same numbers
    assert len(full[0]) == len(fast[0]) >= 1
    np.testing.assert_allclose(fast[0].keypoints, full[0].keypoints, atol=1e-4)
    compared = 0
    for a, b in zip(full[1:], fast[1:], strict=True):
        # bodies of followed people are estimated the same way: same people, same bodies
        # (in the order of their boxes: pose NMS may list them differently)
        assert len(a) == len(b)
        a, b = a[np.lexsort(a.xyxy.T[::-1])], b[np.lexsort(b.xyxy.T[::-1])]
        np.testing.assert_allclose(b.keypoints[:, :26], a.keypoints[:, :26], atol=1e-3)
        for n in range(len(a)):
            for part in (FACE, LEFT_HAND, RIGHT_HAND):
                if a.keypoint_scores[n, part].max() < 0.5 or b.keypoint_scores[n, part].max() < 0.5:
                    continue
                points = a.keypoints[n, part]
                size = math.sqrt(np.prod(points.max(0) - points.min(0) + 1.0))
                distance = np.median(np.hypot(*(b.keypoints[n, part] - points).T))
                assert distance < 0.1 * size, (part, distance, size)
                compared += 1
    assert compared >= 4
    # the concurrent run gives the fast path's results too
    concurrent, _ = _clip_poses(fast_config, frames, sp=False)
    for a, b in zip(fast, concurrent, strict=True):
        np.testing.assert_allclose(b.keypoints, a.keypoints, atol=1e-4)


@pytest.mark.usefixtures("embedded_models")
def test_parts_not_found_are_looked_for_again_unless_too_small(shared_data, monkeypatch) -> None:
    """On the shared street video no hand or face reaches presence 0.5, so the fast path
    follows none: each part is looked for again from the body, as on the full path, except
    those whose crop is smaller than ``MIN_SEARCH_SIDE``: carried with their old points moved
    with their anchor (no invoke)."""
    from alphapose.estimators import video_parts
    from alphapose.estimators.blaze import FACE, LEFT_HAND, RIGHT_HAND
    from alphapose.modes import estimator_config
    from alphapose.sources import VideoSource

    carried = []
    real_carried = video_parts._carried

    def spy(track, anchor):
        out = real_carried(track, anchor)
        carried.append((track, out))
        return out

    monkeypatch.setattr(video_parts, "_carried", spy)
    frames = [frame for _, frame in zip(range(2), VideoSource(
        shared_data / "openpose" / "video.avi"))]
    full_config = estimator_config("balanced", fast_video=False, skip_converged=False)
    full, full_hand_invokes = _clip_poses(full_config, frames, sp=True, mode="balanced")
    assert not carried                                     # the full path carries nothing
    fast, fast_hand_invokes = _clip_poses(replace(full_config, fast_video=True), frames, sp=True,
                                          mode="balanced")
    parts = (FACE, LEFT_HAND, RIGHT_HAND)
    scores = np.concatenate([full[0].keypoint_scores[:, p] for p in parts], axis=1)
    assert len(full[0]) >= 2 and scores.max() < 0.5        # nothing to follow into frame 1
    hands = [out for track, out in carried if len(out[0]) == 21]
    assert len(hands) >= 10 and len(carried) > len(hands)  # small hands and faces carried
    assert all(track.presence < 0.5 for track, _ in carried)
    # each carried hand skips its two passes; every other part runs as on the full path
    assert fast_hand_invokes == full_hand_invokes - 2 * len(hands)
    np.testing.assert_allclose(fast[0].keypoints, full[0].keypoints, atol=1e-4)
    # the same people with the same bodies (in the order of their boxes: pose NMS may list
    # them differently)
    a, b = full[1], fast[1]
    assert len(a) == len(b)
    a, b = a[np.lexsort(a.xyxy.T[::-1])], b[np.lexsort(b.xyxy.T[::-1])]
    np.testing.assert_allclose(b.keypoints[:, :26], a.keypoints[:, :26], atol=1e-4)
    found = 0
    for n in range(len(b)):
        for part in parts:
            points = b.keypoints[n, part]
            was_carried = [out for _, out in carried if out[0].shape == points.shape
                           and np.allclose(out[0], points, atol=1e-4)]
            if was_carried:  # the old points moved with the anchor, the old scores
                np.testing.assert_allclose(b.keypoint_scores[n, part], was_carried[0][1])
                found += 1
            else:            # looked for again: what the full path finds
                np.testing.assert_allclose(points, a.keypoints[n, part], atol=1e-3)
    assert found == len(carried)


def test_modes_turn_the_fast_path_on_for_video_and_the_cli_turns_it_off() -> None:
    from alphapose.modes import estimator_config

    assert estimator_config("balanced").fast_video
    assert estimator_config("lightweight").fast_video
    assert not estimator_config("performance").fast_video
    assert not estimator_config("balanced", fast_video=False).fast_video


@pytest.mark.usefixtures("embedded_models")
def test_cli_full_video_path_builds_the_estimator_without_the_fast_path() -> None:
    from alphapose.cli import _build_pipeline, build_parser

    def built(*extra: str):
        args = build_parser().parse_args(["run", "x.mp4", "--mode", "lightweight", *extra])
        return _build_pipeline(args).estimator.config.fast_video

    assert built() is True
    assert built("--full-video-path") is False
