"""Temporal keypoint smoothing for video: a One-Euro filter per tracked person and keypoint.

The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) is an exponential moving average whose
cutoff frequency rises with speed: still keypoints are smoothed hard (little jitter), moving ones
lightly (little lag). For every keypoint, with ``dt`` the seconds since the track's last frame::

    alpha(fc) = 1 / (1 + tau / dt),  tau = 1 / (2 pi fc)        smoothing factor of cutoff fc
    v         = (x - x_raw_prev) / (scale * dt)                  raw speed, person sizes per second
    v_hat    += alpha(d_cutoff) * (v - v_hat)                    smoothed velocity
    fc        = min_cutoff + beta * |v_hat|                      |.| = 2-D length (one fc per point)
    x_hat    += alpha(fc) * (x - x_hat)                          smoothed position (pixels)

Dividing the speed by the person's ``scale`` (MediaPipe's pose graph does the same with the size
of the body ROI) makes the filter independent of how large the person appears: the same motion
at twice the size gives exactly twice the output, so one setting fits near and far people. The
cutoff is computed from the 2-D speed of each keypoint (rather than per axis), so the filter does
not depend on the direction of motion either.

:class:`KeypointSmoother` has the tracker's shape (``update(frame, poses) -> Poses``) and runs
after the tracker: it keys its state on ``Poses.track_ids``. Only keypoint positions change;
untracked people (id ``-1``) pass unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from alphapose.structures import Frame, Poses

__all__ = ["SCALE_RULES", "KeypointSmoother", "OneEuroConfig", "one_euro_alpha"]

#: How a person's scale (the length speeds are divided by) is measured, in pixels.
SCALE_RULES = ("box", "keypoints", "none")


@dataclass(frozen=True)
class OneEuroConfig:
    """Settings of :class:`KeypointSmoother`.

    Units follow MediaPipe's pose graph (speeds in object sizes per second). Its object size is
    the side of the square around the body circle, about the height of a standing person; the
    longer side of our person box is about the same length, so its values carry over as they
    are: min_cutoff 0.05 Hz, beta 80, derivative cutoff 1 Hz. The defaults keep its min_cutoff
    and derivative cutoff but lower beta to 20: our keypoints jitter more than MediaPipe's (its
    tracking crops come from separately smoothed alignment points, ours do not, and a fresh
    detection every ``detect_every`` frames moves the crop), and the speed term reads jitter as
    motion. Measured by ``bench/smoothing.py`` (embedded pipeline, static and moving photo):
    beta 80 removes 16 % of the jitter of confident body keypoints at 0.2 frames of lag, beta 20
    34 % at 0.9 frames (a person moving a quarter of their size per second; the lag falls as
    ``1 / (min_cutoff + beta * speed)`` at higher speeds).

    Attributes:
        min_cutoff: cutoff frequency (Hz) of a still keypoint; lower = less jitter, more lag
            at low speed. At 30 fps, 0.05 Hz is an averaging weight of 0.0104 per frame.
        beta: how fast the cutoff rises with speed (Hz per person-size-per-second); higher =
            less lag when moving.
        d_cutoff: cutoff frequency (Hz) of the velocity estimate.
        scale: how the person's scale is measured: ``"box"`` = the longer side of
            ``Poses.xyxy``; ``"keypoints"`` = the longer side of the extent of the person's
            keypoints (all of them); ``"none"`` = 1 (speeds in pixels per second; beta then
            depends on the person's size in the image).
        fps: frame rate assumed when frame timestamps do not increase (still images, streams
            without time): ``dt`` is then the frame index step over ``fps``.
        max_gap: frames a track may be missing and still continue its filter; a longer
            absence (or a frame index jump of more than ``max_gap + 1``) starts it afresh, as
            MediaPipe resets when tracking is lost. Tracks unseen for more than ``max_gap``
            updates are forgotten, so memory stays bounded on endless streams.
        min_scale: people smaller than this (pixels) pass unsmoothed and restart their filter.
    """

    min_cutoff: float = 0.05
    beta: float = 20.0
    d_cutoff: float = 1.0
    scale: str = "box"
    fps: float = 30.0
    max_gap: int = 2
    min_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in ("min_cutoff", "d_cutoff", "fps", "min_scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or not value > 0:
                raise ValueError(f"OneEuroConfig.{name}: expected a positive finite number, "
                                 f"got {value!r}")
        if isinstance(self.beta, bool) or not isinstance(self.beta, (int, float)) \
                or not math.isfinite(self.beta) or self.beta < 0:
            raise ValueError(f"OneEuroConfig.beta: expected a finite number >= 0, "
                             f"got {self.beta!r}")
        if isinstance(self.max_gap, bool) or not isinstance(self.max_gap, (int, np.integer)) \
                or self.max_gap < 0:
            raise ValueError(f"OneEuroConfig.max_gap: expected an integer >= 0, "
                             f"got {self.max_gap!r}")
        if self.scale not in SCALE_RULES:
            raise ValueError(f"OneEuroConfig.scale: expected one of {SCALE_RULES}, "
                             f"got {self.scale!r}")


def one_euro_alpha(cutoff: float | np.ndarray, dt: float) -> float | np.ndarray:
    """The exponential smoothing factor of a first-order low-pass of ``cutoff`` Hz sampled every
    ``dt`` seconds: ``1 / (1 + tau / dt)`` with ``tau = 1 / (2 pi cutoff)``."""
    return 1.0 / (1.0 + 1.0 / (2.0 * math.pi * np.asarray(cutoff, np.float64) * dt))


@dataclass
class _TrackState:
    x_hat: np.ndarray       # (K, 2) smoothed positions, pixels
    x_raw: np.ndarray       # (K, 2) last raw positions, pixels
    v_hat: np.ndarray       # (K, 2) smoothed velocity, scales per second
    time: float             # timestamp of the last frame (seconds)
    index: int              # frame index of the last frame
    seen: int               # update count when last seen


class KeypointSmoother:
    """One-Euro smoothing of each tracked person's keypoints across video frames.

    Use after a tracker (``Pipeline(tracker=..., smoother=KeypointSmoother())``) or call
    :meth:`update` yourself on ``(frame, poses)`` in frame order.

    Behaviour:
        * Time: ``dt`` is the increase of ``frame.timestamp`` since the track's last frame;
          when the timestamp does not increase (images, timeless streams) it is the increase of
          ``frame.index`` over ``config.fps`` (at least one frame).
        * A new video (``frame.source`` changes, or ``frame.path`` when the source has no name,
          or the frame index goes backwards) forgets every track. A track missing for more than
          ``max_gap`` frames restarts from its raw keypoints.
        * Every keypoint is smoothed, including low-score ones (as MediaPipe does: a hidden
          point's position is still drawn and still jitters); scores are not used.
        * A person's first frame (and any restart) is returned raw.
        * ``scores``, ``keypoint_scores``, boxes and ids are unchanged; the
          result is a copy, the input is not modified.
        * ``keypoints_3d`` (when present) are smoothed by a filter of their own with the same
          settings, speeds in person sizes per second as well (the size: the longer side of the
          extent of the person's 3D keypoints, in metres); absent (NaN) points stay absent.

    Args:
        config: filter settings (default: :class:`OneEuroConfig`).

    Example:
        >>> smoother = KeypointSmoother(OneEuroConfig(min_cutoff=0.05, beta=80.0))
        >>> for frame, poses in pipeline.run(source):          # doctest: +SKIP
        ...     poses = smoother.update(frame, poses)
    """

    def __init__(self, config: OneEuroConfig | None = None) -> None:
        self.config = config or OneEuroConfig()
        self.reset()

    def reset(self) -> None:
        """Forget every track (a new video)."""
        self._states: dict[int, _TrackState] = {}
        self._states_3d: dict[int, _TrackState] = {}
        self._sequence: tuple[str, str | None] | None = None
        self._last_index: int | None = None
        self._updates = 0

    @property
    def num_tracks(self) -> int:
        """Tracks whose filter state is kept."""
        return len(self._states)

    def _scales(self, poses: Poses) -> np.ndarray:
        """``(N,)`` each person's scale in pixels (see :attr:`OneEuroConfig.scale`)."""
        rule = self.config.scale
        if rule == "none":
            return np.ones(len(poses), np.float64)
        if rule == "box":
            sides = poses.xyxy[:, 2:].astype(np.float64) - poses.xyxy[:, :2]
        else:
            points = poses.keypoints.astype(np.float64)
            sides = points.max(axis=1) - points.min(axis=1)
        return sides.max(axis=1)

    def update(self, frame: Frame, poses: Poses) -> Poses:
        """Smooth the keypoints of one frame's tracked people.

        Args:
            frame: the frame the poses belong to (for its time, index and source).
            poses: the frame's people with ``track_ids`` (``-1`` = untracked, left as is).

        Returns:
            A copy of ``poses`` whose tracked people's ``keypoints`` ``(N, K, 2)`` are smoothed.
        """
        if not isinstance(poses, Poses):
            raise TypeError(f"poses: expected Poses, got {type(poses).__name__}")
        if not isinstance(frame, Frame):
            raise TypeError(f"frame: expected Frame, got {type(frame).__name__}")
        config = self.config
        sequence = (frame.source, None if frame.source else frame.path)
        index = int(frame.index)
        if sequence != self._sequence or (self._last_index is not None
                                          and index < self._last_index):
            self.reset()
            self._sequence = sequence
        self._last_index = index
        self._updates += 1
        now = self._updates
        # forget tracks that can no longer continue: memory is bounded by recent people
        stale = [tid for tid, state in self._states.items() if now - state.seen > config.max_gap + 1]
        for tid in stale:
            del self._states[tid]
        for tid in [t for t, state in self._states_3d.items()
                    if now - state.seen > config.max_gap + 1]:
            del self._states_3d[tid]

        track_ids = poses.track_ids
        if len(poses) == 0 or not (track_ids >= 0).any():  # type: ignore[operator]
            return poses
        keypoints = poses.keypoints.copy()
        scales = self._scales(poses)
        timestamp = float(frame.timestamp)
        done: set[int] = set()
        for i, tid in enumerate(track_ids.tolist()):  # type: ignore[union-attr]
            if tid < 0 or tid in done:  # a duplicate id keeps its raw keypoints
                continue
            done.add(tid)
            raw = poses.keypoints[i].astype(np.float64)
            scale = float(scales[i])
            state = self._states.get(tid)
            if not math.isfinite(scale) or scale < config.min_scale or not np.isfinite(raw).all():
                self._states.pop(tid, None)
                continue
            if state is not None and (state.x_hat.shape != raw.shape
                                      or index - state.index > config.max_gap + 1):
                state = None
            if state is None:
                self._states[tid] = _TrackState(raw.copy(), raw.copy(), np.zeros_like(raw),
                                                timestamp, index, now)
                continue
            value_scale = 1.0 if config.scale == "none" else 1.0 / scale
            keypoints[i] = self._advance(state, raw, value_scale, timestamp, index, now)
        if poses.keypoints_3d is None:
            return replace(poses, keypoints=keypoints)
        return replace(poses, keypoints=keypoints,
                       keypoints_3d=self._smooth_3d(poses, timestamp, index, now))

    def _smooth_3d(self, poses: Poses, timestamp: float, index: int, now: int) -> np.ndarray:
        """The tracked people's ``keypoints_3d`` ``(N, K, 3)`` smoothed (see :meth:`update`)."""
        config = self.config
        out = poses.keypoints_3d.copy()  # type: ignore[union-attr]
        done: set[int] = set()
        for i, tid in enumerate(poses.track_ids.tolist()):  # type: ignore[union-attr]
            if tid < 0 or tid in done:
                continue
            done.add(tid)
            raw = poses.keypoints_3d[i].astype(np.float64)  # type: ignore[index]
            finite = np.isfinite(raw).all(1)
            extent = raw[finite].max(0) - raw[finite].min(0) if finite.any() else np.zeros(3)
            scale = 1.0 if config.scale == "none" else float(extent.max())
            state = self._states_3d.get(tid)
            if not scale > 0:
                self._states_3d.pop(tid, None)
                continue
            if state is None or state.x_hat.shape != raw.shape \
                    or index - state.index > config.max_gap + 1:
                self._states_3d[tid] = _TrackState(raw.copy(), raw.copy(), np.zeros_like(raw),
                                                   timestamp, index, now)
                continue
            out[i] = self._advance(state, raw, 1.0 / scale, timestamp, index, now)
        return out

    def _advance(self, state: _TrackState, raw: np.ndarray, value_scale: float,
                 timestamp: float, index: int, now: int) -> np.ndarray:
        """One One-Euro step of a track's ``(K, D)`` points: speeds in ``value_scale`` units
        per second, one cutoff per point (the same for its coordinates). A point absent
        (NaN) in either frame has speed 0; one that was absent starts from its raw position,
        and one absent now stays absent."""
        config = self.config
        if timestamp > state.time:
            dt = timestamp - state.time
        else:
            dt = max(index - state.index, 1) / config.fps
        velocity = (raw - state.x_raw) * (value_scale / dt)
        velocity[~np.isfinite(velocity)] = 0.0
        state.v_hat += one_euro_alpha(config.d_cutoff, dt) * (velocity - state.v_hat)
        cutoff = config.min_cutoff + config.beta * np.linalg.norm(state.v_hat, axis=1)
        smoothed = state.x_hat + one_euro_alpha(cutoff, dt)[:, None] * (raw - state.x_hat)
        state.x_hat = np.where(np.isfinite(state.x_hat), smoothed, raw)
        state.x_raw = raw
        state.time, state.index, state.seen = timestamp, index, now
        return state.x_hat
