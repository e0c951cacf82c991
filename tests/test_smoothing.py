"""One-Euro keypoint smoothing: expected figures derived from the filter's equations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphapose.smoothing import KeypointSmoother, OneEuroConfig
from alphapose.structures import Frame, Poses

IMAGE = np.zeros((4, 4, 3), np.uint8)


def frame(index: int, timestamp: float = 0.0, source: str = "video.mp4") -> Frame:
    return Frame(IMAGE, index, f"{index}.jpg", path=source, timestamp=timestamp, source=source)


def poses(keypoints: np.ndarray, track_ids, box_size: float = 100.0) -> Poses:
    """People with the given ``(N, K, 2)`` keypoints and square boxes of ``box_size`` px."""
    keypoints = np.asarray(keypoints, np.float32)
    n, k = keypoints.shape[:2]
    centre = keypoints.mean(axis=1)
    xyxy = np.concatenate([centre - box_size / 2, centre + box_size / 2], axis=1)
    return Poses(keypoints, np.full((n, k), 0.9, np.float32), xyxy,
                 np.full((n,), 0.8, np.float32), track_ids=np.asarray(track_ids, np.int64))


def alpha(cutoff: float, dt: float) -> float:
    """Smoothing factor of a first-order low-pass (Casiez et al. 2012)."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


def run_sequence(smoother: KeypointSmoother, tracks: np.ndarray, box_size: float = 100.0,
                 fps: float | None = None) -> np.ndarray:
    """Feed ``(T, K, 2)`` positions of one person (id 0); returns the ``(T, K, 2)`` output."""
    out = []
    for t, points in enumerate(tracks):
        timestamp = 0.0 if fps is None else t / fps
        out.append(smoother.update(frame(t, timestamp), poses(points[None], [0], box_size))
                   .keypoints[0])
    return np.asarray(out, np.float64)


def reference_one_euro(tracks: np.ndarray, scales: np.ndarray, dt: float, min_cutoff: float,
                       beta: float, d_cutoff: float) -> np.ndarray:
    """A scalar loop written from the paper: one filter per keypoint, 2-D speed for the cutoff."""
    t_count, k_count = tracks.shape[:2]
    out = np.zeros_like(tracks, dtype=np.float64)
    for k in range(k_count):
        x_hat = [float(tracks[0, k, 0]), float(tracks[0, k, 1])]
        prev = list(x_hat)
        dx_hat = [0.0, 0.0]
        out[0, k] = x_hat
        for t in range(1, t_count):
            x = [float(tracks[t, k, 0]), float(tracks[t, k, 1])]
            a_d = alpha(d_cutoff, dt)
            for j in range(2):
                dx = (x[j] - prev[j]) / scales[t] / dt
                dx_hat[j] = a_d * dx + (1 - a_d) * dx_hat[j]
            speed = math.sqrt(dx_hat[0] ** 2 + dx_hat[1] ** 2)
            a = alpha(min_cutoff + beta * speed, dt)
            for j in range(2):
                x_hat[j] = a * x[j] + (1 - a) * x_hat[j]
            prev = x
            out[t, k] = x_hat
    return out


def test_matches_a_scalar_reference_implementation() -> None:
    rng = np.random.default_rng(1)
    steps = rng.normal(0, 2.0, (60, 5, 2)).cumsum(axis=0) + rng.normal(0, 1.0, (60, 5, 2))
    tracks = 300 + steps
    config = OneEuroConfig(min_cutoff=0.3, beta=5.0, d_cutoff=1.5)
    got = run_sequence(KeypointSmoother(config), tracks)
    tracks32 = tracks.astype(np.float32).astype(np.float64)
    want = reference_one_euro(tracks32, np.full(60, 100.0), 1 / 30, 0.3, 5.0, 1.5)
    np.testing.assert_allclose(got, want, atol=2e-3)


def test_static_noise_std_falls_as_the_ema_formula_says() -> None:
    # with beta = 0 the filter is an EMA of constant alpha a: for white noise of std s the
    # output's stationary variance is a^2 s^2 / (1 - (1 - a)^2) = s^2 a / (2 - a)
    rng = np.random.default_rng(0)
    sigma, frames, k = 2.0, 700, 200
    tracks = 250.0 + rng.normal(0, sigma, (frames, k, 2))
    config = OneEuroConfig(min_cutoff=0.5, beta=0.0)
    out = run_sequence(KeypointSmoother(config), tracks)
    a = alpha(0.5, 1 / 30)
    assert a == pytest.approx(0.0948, abs=1e-4)
    warmup = int(math.log(1e-4) / math.log(1 - a))  # start-up transient below 1e-4
    ratio = out[warmup:].std(axis=0).mean() / tracks[warmup:].std(axis=0).mean()
    assert ratio == pytest.approx(math.sqrt(a / (2 - a)), rel=0.03)  # 0.223
    # beta > 0 lets noise raise the cutoff: less smoothing than beta = 0, still some
    out_beta = run_sequence(KeypointSmoother(OneEuroConfig(min_cutoff=0.5, beta=20.0)), tracks)
    ratio_beta = out_beta[warmup:].std(axis=0).mean() / tracks[warmup:].std(axis=0).mean()
    assert ratio * 1.1 < ratio_beta < 0.9


@pytest.mark.parametrize("beta", [0.0, 1.0, 10.0], ids=["beta0", "beta1", "beta10"])
def test_ramp_lag_matches_the_cutoff_formula(beta: float) -> None:
    # constant velocity v px/frame: v_hat -> v * fps / scale, and an EMA of factor a trails a
    # ramp by v (1 - a) / a px = (1 - a) / a frames, with a = alpha(min_cutoff + beta * |v_hat|)
    v, fps, scale, min_cutoff = 1.5, 30.0, 100.0, 0.2
    frames = 400
    t = np.arange(frames, dtype=np.float64)
    tracks = np.stack([100 + v * t, np.full(frames, 50.0)], axis=1)[:, None, :]
    out = run_sequence(KeypointSmoother(OneEuroConfig(min_cutoff=min_cutoff, beta=beta)),
                       tracks, box_size=scale)
    speed = v * fps / scale  # person sizes per second
    a = alpha(min_cutoff + beta * speed, 1 / fps)
    lag_frames = (tracks[-1, 0, 0] - out[-1, 0, 0]) / v
    assert lag_frames == pytest.approx((1 - a) / a, rel=1e-3)
    assert out[-1, 0, 1] == pytest.approx(50.0, abs=1e-4)  # no drift across the motion


def test_ramp_lag_decreases_with_beta() -> None:
    t = np.arange(200, dtype=np.float64)
    tracks = np.stack([10 + 2 * t, 20 + t], axis=1)[:, None, :]
    lags = [float(np.linalg.norm(tracks[-1, 0] - run_sequence(
        KeypointSmoother(OneEuroConfig(min_cutoff=0.5, beta=beta)), tracks)[-1, 0]))
        for beta in (0.0, 0.5, 5.0, 50.0)]
    assert lags == sorted(lags, reverse=True) and lags[-1] < 0.1 * lags[0]


def test_step_change_first_response_and_recovery() -> None:
    jump, scale, fps = 30.0, 100.0, 30.0
    tracks = np.full((60, 1, 2), 200.0)
    tracks[20:, 0, 0] += jump
    config = OneEuroConfig()  # MediaPipe's values
    out = run_sequence(KeypointSmoother(config), tracks, box_size=scale)
    np.testing.assert_allclose(out[:20, 0], 200.0, atol=1e-4)
    # the frame of the step: the velocity estimate is alpha_d * jump / scale * fps
    v_hat = alpha(config.d_cutoff, 1 / fps) * jump / scale * fps
    a = alpha(config.min_cutoff + config.beta * v_hat, 1 / fps)
    assert out[20, 0, 0] == pytest.approx(200 + a * jump, abs=1e-3)
    assert abs(out[30, 0, 0] - 230) < 0.02 * jump  # recovered within 10 frames
    # with beta = 0 the error decays as (1 - a_min)^n: far slower
    slow = run_sequence(KeypointSmoother(OneEuroConfig(beta=0.0)), tracks, box_size=scale)
    a_min = alpha(config.min_cutoff, 1 / fps)
    assert 230 - slow[30, 0, 0] == pytest.approx(jump * (1 - a_min) ** 11, rel=1e-3)


@pytest.mark.parametrize("rule", ["box", "keypoints"])
def test_same_motion_at_twice_the_size_gives_the_same_normalised_output(rule: str) -> None:
    rng = np.random.default_rng(3)
    base = rng.uniform(-40, 40, (8, 2))  # a person ~80 px wide
    frames = 50
    motion = np.cumsum(rng.normal(0, 1.5, (frames, 1, 2)), axis=0)
    tracks = base[None] + motion + rng.normal(0, 0.7, (frames, 8, 2)) + 200
    config = OneEuroConfig(min_cutoff=0.1, beta=30.0, scale=rule)
    small = run_sequence(KeypointSmoother(config), tracks, box_size=90.0)
    large = run_sequence(KeypointSmoother(config), 2 * tracks, box_size=180.0)
    np.testing.assert_allclose(large, 2 * small, rtol=1e-5, atol=1e-3)
    # without normalisation the larger person moves "faster" and gets a higher cutoff
    raw = OneEuroConfig(min_cutoff=0.1, beta=30.0 / 90.0, scale="none")
    small_px = run_sequence(KeypointSmoother(raw), tracks, box_size=90.0)
    large_px = run_sequence(KeypointSmoother(raw), 2 * tracks, box_size=180.0)
    assert np.abs(large_px - 2 * small_px).max() > 0.5
    if rule == "box":  # a fixed 90 px box: dividing speeds by 90 == dividing beta by 90
        np.testing.assert_allclose(small_px, small, atol=1e-3)


def test_dt_comes_from_timestamps_else_from_index_and_fps() -> None:
    tracks = np.full((3, 1, 2), 100.0)
    tracks[2, 0, 0] = 110.0  # a 10 px step on the third frame; no velocity before it
    config = OneEuroConfig(min_cutoff=1.0, beta=0.0, fps=30.0)
    timed = run_sequence(KeypointSmoother(config), tracks, fps=10.0)  # timestamps 0.1 s apart
    untimed = run_sequence(KeypointSmoother(config), tracks)  # all 0: dt = 1 / 30
    assert timed[2, 0, 0] == pytest.approx(100 + 10 * alpha(1.0, 0.1), abs=1e-4)
    assert untimed[2, 0, 0] == pytest.approx(100 + 10 * alpha(1.0, 1 / 30), abs=1e-4)
    # timestamps equivalent to the assumed rate give the same result as none
    same = run_sequence(KeypointSmoother(config), tracks, fps=30.0)
    np.testing.assert_allclose(same, untimed, atol=1e-4)
    # a skipped frame without timestamps: dt = 2 / fps
    smoother = KeypointSmoother(config)
    smoother.update(frame(0), poses(tracks[0][None], [0]))
    out = smoother.update(frame(2), poses(tracks[2][None], [0]))
    assert out.keypoints[0, 0, 0] == pytest.approx(100 + 10 * alpha(1.0, 2 / 30), abs=1e-4)


def test_a_track_resumes_after_a_short_gap_and_restarts_after_a_long_one() -> None:
    config = OneEuroConfig(min_cutoff=0.5, beta=0.0, max_gap=2)
    a3 = alpha(0.5, 3 / 30)
    for missing, restarted in [(2, False), (3, True)]:
        smoother = KeypointSmoother(config)
        person = poses(np.full((1, 1, 2), 100.0), [5])
        nobody = poses(np.zeros((0, 1, 2)), [])
        for t in range(10):
            smoother.update(frame(t), person)
        for t in range(10, 10 + missing):
            smoother.update(frame(t), nobody)
        back = poses(np.full((1, 1, 2), 120.0), [5])
        out = smoother.update(frame(10 + missing), back).keypoints[0, 0, 0]
        if restarted:
            assert out == pytest.approx(120.0)
            assert smoother.num_tracks == 1
        else:  # continued over dt = 3 frames
            assert out == pytest.approx(100 + 20 * a3, abs=1e-4)


@pytest.mark.parametrize("change", ["source", "index_backwards"])
def test_a_new_video_forgets_every_track(change: str) -> None:
    smoother = KeypointSmoother(OneEuroConfig(min_cutoff=0.5, beta=0.0))
    for t in range(5):
        smoother.update(frame(t), poses(np.full((1, 3, 2), 50.0), [0]))
    new = frame(0, source="other.mp4") if change == "source" else frame(2)
    out = smoother.update(new, poses(np.full((1, 3, 2), 80.0), [0]))
    np.testing.assert_array_equal(out.keypoints, 80.0)
    assert smoother.num_tracks == 1


def test_untracked_people_and_other_fields_are_unchanged() -> None:
    rng = np.random.default_rng(4)
    smoother = KeypointSmoother()
    for t in range(10):
        points = 100 + rng.normal(0, 3, (2, 4, 2))
        given = poses(points, [-1, 7])
        given.keypoint_scores[:] = rng.uniform(0, 1, (2, 4))
        out = smoother.update(frame(t), given)
        np.testing.assert_array_equal(out.keypoints[0], given.keypoints[0])
        if t > 0:
            assert not np.allclose(out.keypoints[1], given.keypoints[1])
        for name in ("keypoint_scores", "xyxy", "box_scores", "scores", "track_ids"):
            np.testing.assert_array_equal(getattr(out, name), getattr(given, name))
        assert out.layout == given.layout
    assert smoother.num_tracks == 1


def test_input_is_not_modified_and_duplicate_ids_pass_raw() -> None:
    smoother = KeypointSmoother()
    smoother.update(frame(0), poses(np.full((1, 2, 2), 10.0), [1]))
    given = poses(np.stack([np.full((2, 2), 20.0), np.full((2, 2), 30.0)]), [1, 1])
    before = given.keypoints.copy()
    out = smoother.update(frame(1), given)
    np.testing.assert_array_equal(given.keypoints, before)
    assert 10.0 < out.keypoints[0, 0, 0] < 20.0
    np.testing.assert_array_equal(out.keypoints[1], 30.0)


def test_state_stays_bounded_on_an_endless_stream_with_new_ids() -> None:
    config = OneEuroConfig(max_gap=2)
    smoother = KeypointSmoother(config)
    rng = np.random.default_rng(5)
    largest = 0
    for t in range(10_000):
        ids = [0, 10 + t, 10_000 + t // 3]  # one steady person, one new id every frame
        smoother.update(frame(t), poses(100 + rng.normal(0, 1, (3, 2, 2)), ids))
        largest = max(largest, smoother.num_tracks)
    # alive: ids seen in the last max_gap + 2 updates: 1 + 4 + 2
    assert largest == 1 + (config.max_gap + 2) + 2
    assert smoother.num_tracks <= largest


def test_small_people_pass_raw() -> None:
    smoother = KeypointSmoother(OneEuroConfig(min_scale=5.0))
    for t in range(3):
        given = poses(np.full((1, 2, 2), 10.0 + t), [0], box_size=2.0)
        np.testing.assert_array_equal(smoother.update(frame(t), given).keypoints,
                                      given.keypoints)
    assert smoother.num_tracks == 0


@pytest.mark.parametrize("field,value", [
    ("min_cutoff", 0.0), ("min_cutoff", -1.0), ("min_cutoff", float("nan")),
    ("beta", -0.1), ("beta", float("inf")), ("d_cutoff", 0.0), ("fps", 0.0),
    ("max_gap", -1), ("max_gap", 1.5), ("scale", "diagonal"), ("min_scale", 0.0),
], ids=lambda v: str(v))
def test_bad_config_values_name_the_field(field: str, value) -> None:
    with pytest.raises(ValueError, match=f"OneEuroConfig.{field}"):
        OneEuroConfig(**{field: value})


def test_bad_arguments_are_type_errors() -> None:
    with pytest.raises(TypeError, match="poses"):
        KeypointSmoother().update(frame(0), np.zeros((1, 2, 2)))  # type: ignore[arg-type]


def test_pipeline_applies_the_smoother_after_the_tracker() -> None:
    from alphapose.pipeline import Pipeline, RunOptions
    from alphapose.structures import Detections

    rng = np.random.default_rng(6)
    truth = np.array([[40.0, 30.0], [60.0, 70.0]])

    def detector(image: np.ndarray) -> Detections:
        return Detections(np.array([[20, 20, 80, 80]]), np.array([0.9]))

    def estimator(image: np.ndarray, detections: Detections) -> Poses:
        return Poses((truth + rng.normal(0, 2.0, truth.shape))[None], np.full((1, 2), 0.9),
                     detections.xyxy, detections.scores, layout="coco17_like")

    class OneIdTracker:  # gives everybody id 3, as a tracker of one person would
        def update(self, frame: Frame, poses: Poses) -> Poses:
            poses.track_ids = np.full(len(poses), 3, np.int64)
            return poses

    frames = [frame(t, t / 30) for t in range(30)]
    config = OneEuroConfig(min_cutoff=0.5, beta=0.0)
    plain = list(Pipeline(detector, estimator, pose_nms="none", tracker=OneIdTracker(),
                          detect_every=1, run=RunOptions(sp=True)).run(frames))
    rng = np.random.default_rng(6)
    smoothed = list(Pipeline(detector, estimator, pose_nms="none", tracker=OneIdTracker(),
                             smoother=KeypointSmoother(config), detect_every=1,
                             run=RunOptions(sp=True)).run(frames))
    raw = np.stack([p.keypoints[0] for _, p in plain]).astype(np.float64)
    want = run_sequence(KeypointSmoother(config), raw, fps=30.0)
    got = np.stack([p.keypoints[0] for _, p in smoothed])
    np.testing.assert_allclose(got, want, atol=1e-3)
    assert all((p.track_ids == 3).all() for _, p in smoothed)
