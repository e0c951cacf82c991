"""Multi-stage identity matching (MSIM, paper Sec. 4.2): an online pose tracker.

Per frame, :meth:`MSIMTracker.update`:

1. predicts every track one frame ahead with a constant-velocity Kalman filter on the box
   (:mod:`alphapose.tracking.kalman`);
2. **stage 1, appearance**: the appearance distance (:mod:`alphapose.tracking.reid`) between each
   detection and each track (tentative, confirmed or lost); a detection is linked to a track when
   the distance is at most ``mu_emb`` (0.7) and the detection's box centre lies inside the
   track's motion gate (squared Mahalanobis distance <= ``gate_chi2``). The paper links each detection to its row
   minimum; the Hungarian algorithm used here gives the same links when no two detections share
   a row minimum, and resolves the conflicts when they do;
3. **stage 2, position and shape**, for the rest: the fusion matrix ``(1 - IoU) + lambda_np *
   dist_np`` between the detections' boxes and the tracks' predicted boxes, where ``dist_np`` is
   the normalised pose distance (:func:`normalized_pose_distance`: poses centred on their box
   centre and scaled to one box size, compared with Eq. 19's soft keypoint match and spatial
   similarity), plus ``box_motion_weight`` times the capped Mahalanobis distance of the whole
   box from the track's prediction, which only ranks the links that the overlap and pose
   admit below ``mu_f`` (0.5). A person known by the box alone
   (no keypoint scored) is judged on the box: no pose term, and counted as fully visible;
4. **stage 3**: stage 2 again with the relaxed threshold ``mu_f_relaxed``; then the detections
   still left are linked to the tracks still left whose keypoints are predicted where the
   detection shows its keypoints (median distance <= ``keypoint_link`` of the person's size): a
   person mostly hidden shows a box that overlaps no track's box, but the head it shows is where
   its track's head should be;
5. the detections left start new tracks; each linked box corrects its track's Kalman state, less
   so when another live track could as well have produced it (``ambiguous_noise_cap``).

Every stage refuses a link whose shown keypoints lie farther than ``keypoint_gate`` from where
the track's are predicted (each keypoint's last seen place moved by the track's Kalman velocity),
and stage 1 adds ``keypoint_weight`` times that distance to its cost (an appearance measured on
one part, a head over a nearer person's shoulder, is weak evidence). Measured on the
real-appearance scenes (:mod:`tracking_scenes.real`, 10 seeds): switches on crossings
of distinct people 4 -> 0, look-alikes 16 -> 0, crowd 13 -> 4, pan and zoom 0 -> 0.

Track lifecycle: a new track is *tentative*; after ``confirm_hits`` matches it is
*confirmed*; a tentative track unseen for more than ``tentative_max_lost`` frames is *removed*; a confirmed track that misses a
frame is *lost* and is kept ``max_lost`` frames for re-identification (stage 1 can revive it with
its old id; stages 2 and 3 only within ``box_recovery_frames`` of its last match), then
*removed*.

Every number is in :class:`MSIMConfig`. The tracker works with any keypoint layout; the pose
distance uses the layout's body keypoints.

Example:
    >>> tracker = MSIMTracker()
    >>> for frame, poses in pipeline.run(source):      # or Pipeline(..., tracker=tracker)
    ...     poses = tracker.update(frame, poses)
    ...     print(poses.track_ids)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from alphapose.skeletons import get_layout
from alphapose.structures import Frame, Poses
from alphapose.tracking.kalman import (
    CHI2_95_4DOF,
    CHI2_99_2DOF,
    BoxKalmanFilter,
    KalmanParams,
    cxcyah_to_xyxy,
    xyxy_to_cxcyah,
)
from alphapose.tracking.reid import (
    AppearanceModel,
    DescriptorConfig,
    Embeddings,
    PoseGuidedDescriptor,
    appearance_distance,
)

__all__ = [
    "MSIMConfig",
    "MSIMTracker",
    "TrackState",
    "box_iou_matrix",
    "normalized_pose_distance",
]


class TrackState(Enum):
    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    LOST = "lost"
    REMOVED = "removed"


@dataclass(frozen=True)
class MSIMConfig:
    """Every threshold of :class:`MSIMTracker` (exposed on the command line).

    Attributes:
        mu_emb: stage 1: largest appearance distance that links (paper: 0.7).
        mu_f: stage 2: largest fusion distance ``(1 - IoU) + lambda_np * dist_np`` that links
            (paper: 0.5).
        mu_f_relaxed: stage 3: the lowered (more permissive) fusion threshold.
        lambda_np: weight of the normalised pose distance in the fusion matrix.
        gate_chi2: stage 1 motion gate on the squared Mahalanobis distance between a detection's
            box centre and a track's predicted centre (99 % chi-square, 2 dof); ``inf`` disables
            it. Only the centre is gated: a person's box changes shape when limbs are hidden.
        gate_extra_std: position standard deviation added to the Kalman prediction for the gate,
            as a fraction of the box height, divided by the square root of the share of the body
            keypoints that are visible (partial occlusion moves the visible box's centre).
        visibility_threshold: a keypoint above this score counts as visible. The share of
            visible body keypoints also scales the Kalman measurement noise (``1 / share``), so
            the box of a half-hidden person moves a track less.
        motion_weight: stage 1 cost = ``(1 - w) * appearance + w * mahalanobis / gate_chi2``.
        box_motion_weight: stages 2 and 3 choose among the links their threshold admits by
            the fusion cost plus ``w * min(d2 / 9.49, 3)``, ``d2`` the squared Mahalanobis
            distance of the detection's whole box ``(cx, cy, a, h)`` from the track's Kalman
            prediction: people walking together have boxes that overlap alike, their heights
            and velocities differ. The term ranks, it does not admit: a noisy box is not
            refused for being far from the prediction (MOT15 TUD boxes with 5 % noise and
            10 % drop-outs, 10 seeds: adding it to the cost that is thresholded, weight 0.2:
            IDF1 0.79, 334 switches; ranking only: 0.80, 130); 0 disables it.
        appearance_veto: stages 2 and 3 refuse a link whose appearance distance is above this
            (a box overlap cannot override clearly different clothes); pairs that share no
            seen body part are not vetoed; ``None`` disables.
        stages: which stages run (ablation), a tuple from ``(1, 2, 3)``.
        confirm_hits: consecutive matches that confirm a new track (1 = confirmed at once).
        max_lost: frames a lost track is kept for re-identification.
        box_recovery_frames: a track missed for more frames than this is linked by appearance
            (stage 1) only, no longer by box overlap and pose (stages 2, 3): its predicted box
            has drifted, and a person passing where it was would take its identity (MOT15 TUD
            boxes with 5 % noise: 53 -> 28 ID switches).
        ema: appearance memory: ``track = ema * track + (1 - ema) * detection`` per part.
        min_keypoint_score: keypoints at or below this do not count in the pose distance.
        pose_sigma1: Eq. 17 score softness: ``tanh(score / sigma1)``.
        pose_sigma2: Eq. 18 spatial softness ``exp(-d^2 / sigma2)``, in squared units of the
            normalised box size (0.01: a keypoint 0.1 box sizes off scores ``e^-1``).
        pose_lambda: Eq. 19 weight of the spatial term.
        pose_match_box: Eq. 17: a keypoint counts as matching when within a box of this fraction
            of the box size (1/10 in the paper) around the other.
        descriptor: settings of the default appearance model.
        use_appearance: compute appearance (False: stage 1 and the veto are skipped).
        kalman: the Kalman filter's noise settings (:class:`KalmanParams`).
        coast_after: a track unseen for more than this many frames predicts with the wider
            coasting process noise (``kalman.coast_scale``); a single missed frame (a detector
            drop-out) keeps the walking person's tight prediction.
        keypoint_gate: a link whose detection shows its body keypoints farther than this
            from where the track's are predicted is refused (median over the keypoints both
            saw, as a share of the track's size: its predicted box height or the height
            spanned by its remembered keypoints, if larger); ``None`` disables. Same person
            one frame apart, real poses of MOT17-02 (embedded estimator): at most 0.21;
            other people: at least 0.23 (given boxes) / 0.26 (public detections).
        keypoint_weight: stage 1 adds this times the keypoint distance to its cost.
        keypoint_link: stage 3 links a detection still left to a track still left (not
            stale) whose keypoints are predicted within this distance of the detection's.
        keypoint_memory: a keypoint seen more frames ago than this is not predicted.
        tentative_max_lost: frames a tentative track is kept unseen (a person seen once, then
            hidden, keeps the id when it comes back through appearance or keypoints; box
            overlap does not revive it); 0: removed at its first miss.
        box_gate_relaxed: stage 3 also admits a box inside the track's 95 % Kalman gate (4 dof)
            whatever its overlap. MOT15 TUD boxes, 10 seeds, 10 % dropped, IDF1 without ->
            with: noise 3 % 0.9369 -> 0.9371, 5 % 0.8992 -> 0.8994, 8 % 0.667 -> 0.671; 5 %
            noise, 20 % dropped: 0.825 -> 0.831.
        ambiguous_noise_cap: a matched box that another live track (unseen for at most
            ``box_recovery_frames``) could as well have produced corrects its own track less:
            its Kalman measurement standard deviations are divided by ``p``, the share of its
            Gaussian likelihood (``exp(-d2 / 2)``, ``d2`` the whole box's squared Mahalanobis
            distance) that falls on its track among all live tracks, at most this factor (so
            between 1 and the cap; 1 disables). Two people who cross or walk side by side then
            keep their own velocities and sizes through the frames where their boxes fit either
            one, instead of each track being pulled halfway towards the other (the states mix
            and identities swap some frames later). MOT15 TUD boxes, 10 % dropped, 40 seeds,
            IDF1 without -> with: noise 3 % 0.939 -> 0.943, 5 % 0.898 -> 0.902 (per seed
            +0.005 +- 0.004 s.e.: a few swaps of whole groups avoided, a few caused), 8 % 0.664
            -> 0.673; 5 % noise, 20 % dropped: 0.835 -> 0.846; with the official process noise
            (3 seeds) 0.762 -> 0.869, switches 37 -> 14.
        smoothed_boxes: output each tracked person's Kalman-filtered box instead of the
            measured one (keypoints are left as they are; ``--smooth`` smooths those). On TUD
            boxes with 5 % noise: mean IoU with the true boxes 0.735 -> 0.802.
    """

    mu_emb: float = 0.7
    mu_f: float = 0.5
    mu_f_relaxed: float = 0.8
    lambda_np: float = 0.5
    gate_chi2: float = CHI2_99_2DOF
    gate_extra_std: float = 0.25
    visibility_threshold: float = 0.3
    motion_weight: float = 0.02
    appearance_veto: float | None = 0.75
    box_motion_weight: float = 0.3
    stages: tuple[int, ...] = (1, 2, 3)
    confirm_hits: int = 2
    max_lost: int = 90
    box_recovery_frames: int = 5
    ema: float = 0.9
    min_keypoint_score: float = 0.05
    pose_sigma1: float = 0.3
    pose_sigma2: float = 0.01
    pose_lambda: float = 1.0
    pose_match_box: float = 0.1
    descriptor: DescriptorConfig = field(default_factory=DescriptorConfig)
    use_appearance: bool = True
    smoothed_boxes: bool = False
    kalman: KalmanParams = field(default_factory=KalmanParams)
    coast_after: int = 1
    keypoint_gate: float | None = 0.3
    keypoint_weight: float = 0.5
    keypoint_link: float = 0.08
    keypoint_memory: int = 10
    tentative_max_lost: int = 5
    box_gate_relaxed: bool = True
    ambiguous_noise_cap: float = 3.0

    def __post_init__(self) -> None:
        for name in ("mu_emb", "mu_f", "mu_f_relaxed", "lambda_np", "gate_chi2", "pose_sigma1",
                     "pose_sigma2", "pose_match_box"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"MSIMConfig.{name}: expected a positive number, got {value!r}")
        if not self.box_motion_weight >= 0.0:
            raise ValueError(f"MSIMConfig.box_motion_weight: expected >= 0, got "
                             f"{self.box_motion_weight}")
        if not 0.0 <= self.motion_weight <= 1.0:
            raise ValueError(f"MSIMConfig.motion_weight: expected in [0, 1], got "
                             f"{self.motion_weight}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"MSIMConfig.ema: expected in [0, 1), got {self.ema}")
        if not self.stages or any(s not in (1, 2, 3) for s in self.stages):
            raise ValueError(f"MSIMConfig.stages: expected a non-empty subset of (1, 2, 3), got "
                             f"{self.stages!r}")
        if not isinstance(self.kalman, KalmanParams):
            raise TypeError(f"MSIMConfig.kalman: expected KalmanParams, got "
                            f"{type(self.kalman).__name__}")
        if self.keypoint_gate is not None and not self.keypoint_gate > 0:
            raise ValueError(f"MSIMConfig.keypoint_gate: expected a positive number or None, "
                             f"got {self.keypoint_gate!r}")
        if not self.keypoint_weight >= 0 or not self.keypoint_link >= 0 or self.keypoint_memory < 1:
            raise ValueError(f"MSIMConfig: keypoint_weight and keypoint_link must be >= 0 and "
                             f"keypoint_memory >= 1, got {self.keypoint_weight}, "
                             f"{self.keypoint_link} and {self.keypoint_memory}")
        if not self.ambiguous_noise_cap >= 1.0:
            raise ValueError(f"MSIMConfig.ambiguous_noise_cap: expected >= 1, got "
                             f"{self.ambiguous_noise_cap!r}")
        if self.coast_after < 0:
            raise ValueError(f"MSIMConfig.coast_after: expected >= 0, got {self.coast_after}")
        if self.box_recovery_frames < 0:
            raise ValueError(f"MSIMConfig.box_recovery_frames: expected >= 0, got "
                             f"{self.box_recovery_frames}")
        if self.confirm_hits < 1 or self.max_lost < 0:
            raise ValueError(f"MSIMConfig: confirm_hits must be >= 1 and max_lost >= 0, got "
                             f"{self.confirm_hits} and {self.max_lost}")


# ------------------------------------------------------------------------------------------------
# distances
# ------------------------------------------------------------------------------------------------


def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, M)`` IoU between xyxy boxes ``a`` ``(N, 4)`` and ``b`` ``(M, 4)`` (continuous
    coordinates, no +1)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), -1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), -1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), -1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _normalise_poses(keypoints: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """Keypoints relative to their box centre, in units of the box's longer side."""
    centre = (xyxy[:, None, :2] + xyxy[:, None, 2:]) / 2
    size = np.maximum((xyxy[:, 2:] - xyxy[:, :2]).max(1), 1e-6)[:, None, None]
    return (keypoints - centre) / size


def normalized_pose_distance(keypoints_a: np.ndarray, scores_a: np.ndarray, xyxy_a: np.ndarray,
                             keypoints_b: np.ndarray, scores_b: np.ndarray, xyxy_b: np.ndarray,
                             *, sigma1: float = 0.3, sigma2: float = 0.01, lam: float = 1.0,
                             match_box: float = 0.1, min_score: float = 0.05) -> np.ndarray:
    """Shape distance between two sets of poses, independent of where the people stand.

    Each pose is centred on its box centre and divided by its box's longer side. Then, per pair,
    with ``k`` the keypoints confident in both poses, Eq. 17 counts soft matches
    ``KSim = sum tanh(s_a / sigma1) tanh(s_b / sigma1) [|dx|, |dy| <= match_box / 2]`` and Eq. 18
    adds the spatial similarity ``HSim = sum exp(-|d|^2 / sigma2)``; their Eq. 19 combination is
    normalised by its largest possible value and turned into a distance::

        dist_np = 1 - (KSim + lam * HSim) / (sum tanh(s_a / sigma1) tanh(s_b / sigma1) + lam * k)

    Args:
        keypoints_a: ``(N, K, 2)``; scores_a ``(N, K)``; xyxy_a ``(N, 4)``.
        keypoints_b: ``(M, K, 2)``; scores_b ``(M, K)``; xyxy_b ``(M, 4)``.

    Returns:
        ``(N, M)`` distances in [0, 1]; 1 where two poses share no confident keypoint.
    """
    na, nb = len(keypoints_a), len(keypoints_b)
    if na == 0 or nb == 0:
        return np.ones((na, nb))
    pa = _normalise_poses(np.asarray(keypoints_a, np.float64), np.asarray(xyxy_a, np.float64))
    pb = _normalise_poses(np.asarray(keypoints_b, np.float64), np.asarray(xyxy_b, np.float64))
    sa, sb = np.asarray(scores_a, np.float64), np.asarray(scores_b, np.float64)
    valid = (sa[:, None, :] > min_score) & (sb[None, :, :] > min_score)          # (N, M, K)
    valid &= np.isfinite(pa).all(-1)[:, None, :] & np.isfinite(pb).all(-1)[None, :, :]
    diff = np.nan_to_num(pa[:, None] - pb[None, :])                            # (N, M, K, 2)
    conf = np.tanh(sa / sigma1)[:, None, :] * np.tanh(sb / sigma1)[None, :, :]
    conf = np.where(valid, conf, 0.0)
    within = (np.abs(diff) <= match_box / 2).all(-1)
    ksim = (conf * within).sum(-1)
    hsim = np.where(valid, np.exp(-(diff ** 2).sum(-1) / sigma2), 0.0).sum(-1)
    top = conf.sum(-1) + lam * valid.sum(-1)
    return np.where(top > 1e-9, 1.0 - (ksim + lam * hsim) / np.maximum(top, 1e-12), 1.0)


def _has_pose(keypoint_scores: np.ndarray) -> np.ndarray:
    """``(N,)``: whether each person ``(N, K)`` has any keypoint scored above 0 (False: a
    person known by the box alone)."""
    scores = np.nan_to_num(np.asarray(keypoint_scores, np.float64), nan=0.0)
    return scores.max(1) > 0 if scores.shape[1] else np.zeros(len(scores), bool)


#: largest squared Mahalanobis distance (in units of the 95 % gate) the motion term counts
_MOTION_CAP = 3.0


def _assign(cost: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Minimum-cost one-to-one links with cost <= threshold (rows, cols)."""
    if cost.size == 0:
        return []
    finite = np.where(np.isfinite(cost), cost, threshold + 1e4)
    capped = np.minimum(finite, threshold + 1e-4)   # links above the threshold cost the same
    from scipy.optimize import linear_sum_assignment  # ~0.3 s: imported when first used

    rows, cols = linear_sum_assignment(capped)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if finite[r, c] <= threshold]


# ------------------------------------------------------------------------------------------------
# tracker
# ------------------------------------------------------------------------------------------------


@dataclass
class _Track:
    track_id: int
    mean: np.ndarray
    covariance: np.ndarray
    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    xyxy: np.ndarray
    appearance: np.ndarray | None
    appearance_weights: np.ndarray | None
    state: TrackState = TrackState.TENTATIVE
    hits: int = 1
    age: int = 1
    missed: int = 0
    #: ``(K, 3)``: where each keypoint was last seen (score above the visibility threshold)
    #: and the frame it was seen in (``x, y, frame``; frame 0: never)
    seen_keypoints: np.ndarray | None = None


class MSIMTracker:
    """Online multi-stage identity matching; see the module docstring.

    Args:
        config: thresholds and settings.
        appearance: the appearance model; default :class:`PoseGuidedDescriptor` with
            ``config.descriptor`` (pass e.g. :class:`alphapose.tracking.reid_torch.PGAEmbedder`
            for learned embeddings).

    Attributes:
        tracks: the live tracks (tentative, confirmed and lost).
        frame_count: frames seen.
        stage_links: how many links each stage made so far (``{1: .., 2: .., 3: .., "new": ..}``).
    """

    def __init__(self, config: MSIMConfig = MSIMConfig(),
                 appearance: AppearanceModel | None = None) -> None:
        if not isinstance(config, MSIMConfig):
            raise TypeError(f"config: expected MSIMConfig, got {type(config).__name__}")
        self.config = config
        self.appearance = appearance if appearance is not None else \
            PoseGuidedDescriptor(config.descriptor)
        self.kalman = BoxKalmanFilter(config.kalman)
        self.reset()

    def reset(self) -> None:
        """Forget every track (a new video); ids start again at 0."""
        self.tracks: list[_Track] = []
        self.frame_count = 0
        self._next_id = 0
        self._body_index: dict[str, np.ndarray] = {}
        self.stage_links: dict[int | str, int] = {1: 0, 2: 0, 3: 0, "new": 0}

    def _body(self, layout: str, k: int) -> np.ndarray:
        if layout not in self._body_index:
            try:
                index = np.asarray(get_layout(layout).parts["body"], np.int64)
            except ValueError:
                index = np.arange(k)
            self._body_index[layout] = index if len(index) else np.arange(k)
        return self._body_index[layout]

    def update(self, frame: Frame | None, poses: Poses) -> Poses:
        """Give every person of one frame an identity.

        Args:
            frame: the frame the poses were found in (its image feeds the appearance cue;
                ``None`` = no appearance this frame).
            poses: the people of this frame, after pose NMS.

        Returns:
            A copy of ``poses`` whose ``track_ids`` hold the identities (>= 0), in input order.
        """
        if not isinstance(poses, Poses):
            raise TypeError(f"poses: expected Poses, got {type(poses).__name__}")
        if frame is not None and not isinstance(frame, Frame):
            raise TypeError(f"frame: expected Frame or None, got {type(frame).__name__}")
        cfg = self.config
        self.frame_count += 1
        n = len(poses)
        boxes = poses.xyxy.astype(np.float64)
        boxes = np.where(np.isfinite(boxes), boxes, 0.0)
        measurements = xyxy_to_cxcyah(boxes) if n else np.zeros((0, 4))

        # 1. predict
        means_all, covs_all = np.zeros((0, 8)), np.zeros((0, 8, 8))
        if self.tracks:
            means = np.stack([t.mean for t in self.tracks])
            covs = np.stack([t.covariance for t in self.tracks])
            # a track unseen for more than coast_after frames coasts: its prediction widens
            # faster (KalmanParams.coast_scale), as the person may have turned or stopped
            means, covs = self.kalman.predict(
                means, covs, np.array([t.missed > cfg.coast_after for t in self.tracks]))
            for t, m, c in zip(self.tracks, means, covs):
                if t.mean[3] + m[7] <= 1.0:     # never let the predicted height collapse
                    m[7] = 0.0
                t.mean, t.covariance = m, c
                t.age += 1
            means_all, covs_all = means, covs

        visibility = self._visibility(poses)
        embeddings: Embeddings | None = None
        if cfg.use_appearance and frame is not None and n:
            embeddings = self.appearance.embed(frame.image, poses)

        # where the keypoints each person shows lie from where each track's are predicted
        kp_far = np.zeros((n, len(self.tracks)), bool)
        kp_distance = np.full((n, len(self.tracks)), np.nan)
        if self.tracks and n:
            kp_distance = self._keypoint_distance(poses, means)
            if cfg.keypoint_gate is not None:
                kp_far = kp_distance > cfg.keypoint_gate          # NaN (nothing shared): False

        assigned = np.full(n, -1, np.int64)
        det_left = list(range(n))
        track_left = list(range(len(self.tracks)))
        app = None
        if embeddings is not None and self.tracks:
            track_emb = self._track_embeddings(embeddings)
            app = appearance_distance(embeddings, track_emb)               # (N, T)
            # pairs that share no seen body part have no appearance to compare (distance 1)
            comparable = ((embeddings.weights > 0).astype(np.float32)
                          @ (track_emb.weights > 0).T.astype(np.float32)) > 0

        # 2. stage 1: appearance, within the motion gate
        if 1 in cfg.stages and app is not None and det_left:
            pool = [j for j in track_left if self.tracks[j].appearance is not None]
            if pool:
                pool_means = np.stack([self.tracks[j].mean for j in pool])
                # a partly visible person's box centre can sit anywhere within the full body:
                # widen the gate by a share of the larger of the two heights, more for people
                # of whom less is visible
                heights = np.maximum(pool_means[:, None, 3], measurements[None, det_left, 3])
                extra = (cfg.gate_extra_std * heights
                         / np.sqrt(np.maximum(visibility[None, det_left], 0.1))) ** 2
                gate = self.kalman.centre_gating_distance(
                    pool_means, np.stack([self.tracks[j].covariance for j in pool]),
                    measurements[det_left, :2], extra).T                    # (D, T)
                cost = app[np.ix_(det_left, pool)]
                cost = (1 - cfg.motion_weight) * cost + cfg.motion_weight * gate / cfg.gate_chi2
                cost = np.where(gate > cfg.gate_chi2, np.inf, cost)
                # weak appearance (a head above a nearer person) must not link a track whose
                # keypoints are elsewhere (real scenes: the head went to the occluder's track)
                # and among the links left, the keypoints' places choose
                near = kp_distance[np.ix_(det_left, pool)]
                cost = cost + cfg.keypoint_weight * np.where(near >= 0, near, 0.0)
                cost = np.where(kp_far[np.ix_(det_left, pool)], np.inf, cost)
                for r, c in _assign(cost, cfg.mu_emb):
                    assigned[det_left[r]] = pool[c]
                self.stage_links[1] += int((assigned >= 0).sum())
                det_left = [i for i in det_left if assigned[i] < 0]
                track_left = [j for j in track_left if j not in set(assigned[assigned >= 0])]

        # 3. stages 2 and 3: box overlap + pose shape, over the tracks left
        for stage, threshold in ((2, cfg.mu_f), (3, cfg.mu_f_relaxed)):
            if stage not in cfg.stages or not det_left or not track_left:
                continue
            cost, d2 = self._fusion_cost(poses, det_left, track_left)
            allowed = np.ones_like(cost, bool)
            # a track unseen for longer than box_recovery_frames comes back through appearance
            # (stage 1) only: its predicted box has drifted, and whoever walks through it
            # would take its identity
            # (a tentative track unseen has no velocity worth predicting with: appearance and
            # keypoints only; MOT15 TUD boxes alone with 8 % noise: a box revival within one
            # frame lowered IDF1 0.667 -> 0.655)
            stale = np.array([self.tracks[j].missed > (
                0 if self.tracks[j].state == TrackState.TENTATIVE else cfg.box_recovery_frames)
                for j in track_left])
            allowed &= ~stale[None, :]
            if app is not None and cfg.appearance_veto is not None:
                # a person whose parts are all hidden (or unseen by the track) shows no
                # clothes to veto with: the box and pose decide (real scenes: a walker hidden
                # to the shoulders got a new id for 2 frames)
                pair = np.ix_(det_left, track_left)
                allowed &= ~((app[pair] > cfg.appearance_veto) & comparable[pair])
            # the box overlap and the pose say which links are possible; among those, the
            # whole box's distance from the Kalman prediction chooses (people walking together
            # overlap alike, their heights and velocities differ)
            allowed &= ~kp_far[np.ix_(det_left, track_left)]
            admit = allowed & (cost <= threshold)
            if stage == 3 and cfg.box_gate_relaxed:
                # a track found again after a miss has an uncertain prediction, which a fixed
                # overlap threshold ignores: stage 3 also admits a box inside the track's 95 %
                # Kalman gate (whole box, 4 dof)
                admit |= allowed & np.isfinite(cost) & (d2 <= CHI2_95_4DOF)
            motion = cfg.box_motion_weight * np.minimum(d2 / CHI2_95_4DOF, _MOTION_CAP)
            links = _assign(np.where(admit, cost + motion, np.inf),
                            threshold + cfg.box_motion_weight * _MOTION_CAP)
            if stage == 3:
                # a person mostly hidden shows a box unlike the track's, but the keypoints it
                # shows lie where the track's are predicted: link those still left by that
                taken = {c for _, c in links}
                rows = [r for r in range(len(det_left)) if r not in {x for x, _ in links}]
                cols = [c for c in range(len(track_left)) if c not in taken]
                if rows and cols:
                    sub = kp_distance[np.ix_([det_left[r] for r in rows],
                                             [track_left[c] for c in cols])]
                    ok = allowed[np.ix_(rows, cols)] & np.isfinite(sub)
                    links += [(rows[r], cols[c]) for r, c in
                              _assign(np.where(ok, sub, np.inf), cfg.keypoint_link)]
            for r, c in links:
                assigned[det_left[r]] = track_left[c]
            self.stage_links[stage] += len(links)
            used = {track_left[c] for _, c in links}
            det_left = [i for i in det_left if assigned[i] < 0]
            track_left = [j for j in track_left if j not in used]

        # 4. update matched tracks, age the others, start new ones
        matched_dets = np.flatnonzero(assigned >= 0)
        matched = {int(assigned[i]) for i in matched_dets}
        if len(matched_dets):
            # one batched Kalman correction for every matched track
            rows = [int(assigned[i]) for i in matched_dets]
            scale = (1.0 / np.maximum(visibility[matched_dets], 0.1)
                     * self._ambiguity_scale(means_all, covs_all, measurements[matched_dets],
                                             rows))
            means, covs = self.kalman.update(np.stack([self.tracks[j].mean for j in rows]),
                                             np.stack([self.tracks[j].covariance for j in rows]),
                                             measurements[matched_dets], scale)
            for i, j, m, c in zip(matched_dets, rows, means, covs):
                self.tracks[j].mean, self.tracks[j].covariance = m, c
                self._update_track(self.tracks[j], poses, int(i))
            if embeddings is not None:
                self._remember_appearance(rows, matched_dets, embeddings)
            self._remember_keypoints([self.tracks[j] for j in rows], poses, matched_dets)
        for j, t in enumerate(self.tracks):
            if j in matched:
                continue
            t.missed += 1
            if t.state == TrackState.TENTATIVE:
                # a person seen once, then hidden, may come back within a few frames
                if t.missed > cfg.tentative_max_lost:
                    t.state = TrackState.REMOVED
            elif t.missed > cfg.max_lost:
                t.state = TrackState.REMOVED
            else:
                t.state = TrackState.LOST
        ids = np.full(n, -1, np.int64)
        for i in range(n):
            if assigned[i] >= 0:
                ids[i] = self.tracks[int(assigned[i])].track_id
        new_tracks = []
        for i in det_left:
            track = self._new_track(poses, i, measurements[i], embeddings)
            new_tracks.append(track)
            ids[i] = track.track_id
        self._remember_keypoints(new_tracks, poses, np.asarray(det_left, np.int64))
        self.stage_links["new"] += len(new_tracks)
        self.tracks = [t for t in self.tracks if t.state != TrackState.REMOVED] + new_tracks
        if cfg.smoothed_boxes and len(matched_dets):
            # the Kalman posterior of each matched person (new tracks have nothing to smooth)
            by_id = {t.track_id: t for t in self.tracks}
            xyxy = poses.xyxy.copy()
            xyxy[matched_dets] = cxcyah_to_xyxy(np.stack(
                [by_id[int(ids[i])].mean[:4] for i in matched_dets]))
            return replace(poses, track_ids=ids, xyxy=xyxy)
        return replace(poses, track_ids=ids)

    # --------------------------------------------------------------------------------------------

    def _ambiguity_scale(self, means: np.ndarray, covariances: np.ndarray,
                         measurements: np.ndarray, rows: list[int]) -> np.ndarray:
        """``(M,)`` factor (1 to ``ambiguous_noise_cap``) on the measurement noise of each
        matched box ``measurements`` ``(M, 4)`` -> track ``rows``: ``1 / p``, ``p`` the share of
        the box's Gaussian likelihood that falls on its own track among the live tracks.
        ``means`` / ``covariances``: every track's predicted state this frame."""
        cfg = self.config
        missed = np.array([t.missed for t in self.tracks])
        live = missed <= cfg.box_recovery_frames
        if cfg.ambiguous_noise_cap <= 1.0 or live.sum() < 2:
            return np.ones(len(rows))
        d2 = self.kalman.gating_distance(means[live], covariances[live], measurements).T
        likelihood = np.exp(-0.5 * np.minimum(d2, 200.0))                  # (M, live)
        own = np.cumsum(live) - 1                                           # track -> column
        rows_arr = np.asarray(rows)
        mine = np.where(live[rows_arr],
                        likelihood[np.arange(len(rows)), own[rows_arr]], 0.0)
        share = mine / np.maximum(likelihood.sum(1), 1e-300)
        scale = np.minimum(1.0 / np.maximum(share, 1e-12), cfg.ambiguous_noise_cap)
        # a track matched while stale (stage 1) is not among the live: left as it is
        return np.where(live[rows_arr], scale, 1.0)

    def _visibility(self, poses: Poses) -> np.ndarray:
        """``(N,)`` share of each person's body keypoints scored above the threshold."""
        if len(poses) == 0:
            return np.zeros(0)
        body = self._body(poses.layout, poses.num_keypoints)
        scores = poses.keypoint_scores[:, body]
        seen = (scores > self.config.visibility_threshold).mean(1).astype(np.float64)
        # people known by their box alone are measured by that box: nothing says part of them
        # is hidden (measured on MOT15 TUD boxes: IDF1 0.12 -> 0.80 with this and the box-only
        # fusion cost)
        return np.where(_has_pose(scores), seen, 1.0)

    def _track_embeddings(self, like: Embeddings) -> Embeddings:
        p, d = like.vectors.shape[1:]
        vectors = np.zeros((len(self.tracks), p, d), np.float32)
        weights = np.zeros((len(self.tracks), p), np.float32)
        for j, t in enumerate(self.tracks):
            if t.appearance is not None and t.appearance.shape == (p, d):
                vectors[j], weights[j] = t.appearance, t.appearance_weights
        return Embeddings(vectors, weights, like.metric)

    def _fusion_cost(self, poses: Poses, det_left: list[int], track_left: list[int]) -> np.ndarray:
        cfg = self.config
        tracks = [self.tracks[j] for j in track_left]
        predicted = cxcyah_to_xyxy(np.stack([t.mean[:4] for t in tracks]))
        det_boxes = poses.xyxy[det_left].astype(np.float64)
        iou = box_iou_matrix(det_boxes, predicted)
        body = self._body(poses.layout, poses.num_keypoints)
        same_k = all(t.keypoints.shape[0] == poses.num_keypoints for t in tracks)
        if same_k and cfg.lambda_np > 0:
            dist = normalized_pose_distance(
                poses.keypoints[det_left][:, body], poses.keypoint_scores[det_left][:, body],
                det_boxes,
                np.stack([t.keypoints[body] for t in tracks]),
                np.stack([t.keypoint_scores[body] for t in tracks]),
                np.stack([t.xyxy for t in tracks]),
                sigma1=cfg.pose_sigma1, sigma2=cfg.pose_sigma2, lam=cfg.pose_lambda,
                match_box=cfg.pose_match_box, min_score=cfg.min_keypoint_score)
            # a person known by the box alone (no keypoint scored at all: given boxes without
            # poses) is judged on the box, not as the worst possible pose match
            box_only_det = ~_has_pose(poses.keypoint_scores[det_left][:, body])
            box_only_track = ~_has_pose(np.stack([t.keypoint_scores[body] for t in tracks]))
            dist = np.where(box_only_det[:, None] | box_only_track[None, :], 0.0, dist)
        else:
            dist = np.zeros_like(iou)
        cost = (1.0 - iou) + cfg.lambda_np * dist
        # people walking together have boxes that overlap alike; the box's height and the
        # track's velocity still tell them apart
        d2 = self.kalman.gating_distance(np.stack([t.mean for t in tracks]),
                                         np.stack([t.covariance for t in tracks]),
                                         xyxy_to_cxcyah(det_boxes)).T
        return np.where(iou > 0, cost, np.inf), d2

    def _remember_keypoints(self, tracks: list[_Track], poses: Poses, dets: np.ndarray) -> None:
        """Keep where each person's visible keypoints are now, and the frame, for the tracks
        ``tracks`` given the people ``dets`` (all at once)."""
        if not len(tracks):
            return
        k = poses.num_keypoints
        points = poses.keypoints[dets].astype(np.float64)                     # (M, K, 2)
        seen = (poses.keypoint_scores[dets] > self.config.visibility_threshold) \
            & np.isfinite(points).all(-1)
        now = np.concatenate([points, np.full(seen.shape + (1,), float(self.frame_count))], -1)
        before = np.stack([t.seen_keypoints if t.seen_keypoints is not None
                           and t.seen_keypoints.shape[0] == k else np.zeros((k, 3))
                           for t in tracks])
        for t, m in zip(tracks, np.where(seen[..., None], now, before)):
            t.seen_keypoints = m

    def _keypoint_distance(self, poses: Poses, means: np.ndarray) -> np.ndarray:
        """``(N, T)``: how far each person's visible body keypoints lie from where each
        track's are predicted now, as a share of the track's size (the median over the
        keypoints both saw; NaN where they share none). ``means``: the tracks' ``(T, 8)``
        predicted Kalman states.

        A keypoint last seen ``a`` frames ago is predicted at its last position moved by the
        track's Kalman velocity times ``a`` (seen within ``keypoint_memory`` frames). Unlike the
        box, the keypoints a person shows keep their place when the rest is hidden: a head
        over a nearer person's shoulder is where the track's head should be, while the box of
        the visible pixels is a small box far from the track's box.
        """
        cfg = self.config
        k = poses.num_keypoints
        body = self._body(poses.layout, k)
        memory = np.stack([t.seen_keypoints if t.seen_keypoints is not None
                           and t.seen_keypoints.shape[0] == k else np.zeros((k, 3))
                           for t in self.tracks])
        if len(body) != k:
            memory = memory[:, body]
            points, scores = poses.keypoints[:, body], poses.keypoint_scores[:, body]
        else:
            points, scores = poses.keypoints, poses.keypoint_scores
        seen_frame = memory[..., 2]                                                  # (T, B)
        age = self.frame_count - seen_frame
        known = (seen_frame > 0) & (age <= cfg.keypoint_memory)
        predicted = memory[..., :2] + means[:, None, 4:6] * age[..., None]          # (T, B, 2)
        diff = points[:, None] - predicted[None]                                    # (N, T, B, 2)
        gap = np.hypot(diff[..., 0], diff[..., 1])
        shared = (scores > cfg.visibility_threshold)[:, None, :] & known[None] & np.isfinite(gap)
        count = shared.sum(-1)
        # the median keypoint: a limb the estimator put on a neighbour does not count
        gap[~shared] = np.inf
        gap.sort(-1)
        flat = gap.reshape(-1, gap.shape[-1])
        median_gap = flat[np.arange(len(flat)), np.maximum(count - 1, 0).ravel() // 2
                          ].reshape(count.shape)
        # the person's size: the predicted box, or the span of the keypoints remembered, if
        # larger (the box of a person hidden to the shoulders is a head's height)
        ys = predicted[..., 1]
        span = np.where(known.any(1), np.where(known, ys, -np.inf).max(1)
                        - np.where(known, ys, np.inf).min(1), 0.0)
        size = np.maximum(np.maximum(means[:, 3], span), 1.0)
        return np.where(count > 0, median_gap / size[None, :], np.nan)

    def _update_track(self, track: _Track, poses: Poses, i: int) -> None:
        cfg = self.config
        track.keypoints = poses.keypoints[i].copy()
        track.keypoint_scores = poses.keypoint_scores[i].copy()
        track.xyxy = poses.xyxy[i].astype(np.float64)
        track.hits += 1
        track.missed = 0
        if track.state == TrackState.TENTATIVE:
            if track.hits >= cfg.confirm_hits:
                track.state = TrackState.CONFIRMED
        else:
            track.state = TrackState.CONFIRMED

    def _remember_appearance(self, rows: list[int], dets: np.ndarray,
                             embeddings: Embeddings) -> None:
        """Blend each matched detection's appearance into its track's memory (all at once)."""
        cfg = self.config
        shape = embeddings.vectors.shape[1:]
        blend = []
        for j, i in zip(rows, dets):
            track = self.tracks[j]
            if track.appearance is None or track.appearance.shape != shape:
                track.appearance = embeddings.vectors[i].copy()
                track.appearance_weights = embeddings.weights[i].copy()
            else:
                blend.append((track, int(i)))
        if not blend:
            return
        memory = np.stack([t.appearance for t, _ in blend])                 # (M, P, D)
        memory_w = np.stack([t.appearance_weights for t, _ in blend])       # (M, P)
        index = [i for _, i in blend]
        vec, w = embeddings.vectors[index], embeddings.weights[index]
        # per part: blend where the detection saw the part, keep memory where it did not
        alpha = np.where(w > 0, cfg.ema + (1 - cfg.ema) * (1 - w), 1.0)[..., None]
        alpha = np.where(memory_w[..., None] > 0, alpha, 0.0)
        blended = alpha * memory + (1 - alpha) * vec
        norm = np.linalg.norm(blended, axis=-1, keepdims=True)
        vectors = np.where(norm > 1e-9, blended / np.maximum(norm, 1e-12), 0.0).astype(np.float32)
        weights = np.maximum(memory_w, w).astype(np.float32)
        for k, (track, _) in enumerate(blend):
            track.appearance, track.appearance_weights = vectors[k], weights[k]

    def _new_track(self, poses: Poses, i: int, measurement: np.ndarray,
                   embeddings: Embeddings | None) -> _Track:
        mean, cov = self.kalman.initiate(measurement)
        first = self.frame_count == 1
        track = _Track(
            track_id=self._next_id, mean=mean, covariance=cov,
            keypoints=poses.keypoints[i].copy(), keypoint_scores=poses.keypoint_scores[i].copy(),
            xyxy=poses.xyxy[i].astype(np.float64),
            appearance=None if embeddings is None else embeddings.vectors[i].copy(),
            appearance_weights=None if embeddings is None else embeddings.weights[i].copy(),
            state=(TrackState.CONFIRMED if first or self.config.confirm_hits <= 1
                   else TrackState.TENTATIVE))
        self._next_id += 1
        return track

    @property
    def active_ids(self) -> list[int]:
        """Ids of the tracks that are not lost (tentative and confirmed)."""
        return [t.track_id for t in self.tracks if t.state in (TrackState.TENTATIVE,
                                                              TrackState.CONFIRMED)]
