"""Pose non-maximum suppression: parametric pose NMS (paper Sec. 3.4) and OKS-NMS.

A top-down pipeline runs its person detector with a low threshold for recall, so one person is
often estimated several times from overlapping boxes. Pose NMS removes the duplicates by
comparing the poses themselves rather than the boxes.

Parametric pose NMS (:func:`pose_nms`), following the official implementation:

1. Every pose gets a *human score*, the mean of its keypoint scores. Keypoint scores of exactly
   0 are replaced by ``1e-5`` first so that score-weighted means never divide by zero.
2. Greedily, the remaining pose with the highest human score is *picked*; every remaining pose
   that is similar enough to it (Eqs. 16-19: a soft count of coinciding confident keypoints
   ``KSim`` plus ``mu`` times a spatial closeness ``HSim``, compared with ``gamma``), or that has
   at least ``match_threshold`` keypoints within a radius of the pick's, joins the pick's
   *cluster* and leaves the pool.
3. Each pick's keypoints are replaced by the score-weighted mean of its cluster members'
   keypoints lying within a merge radius of the pick's; its keypoint scores by ``sum s^2 / sum s``
   over the same members.
4. A pick is dropped if its best keypoint score (before or after merging) is below
   ``score_threshold``, or if ``1.5^2`` times the area of its merged keypoints' bounding
   rectangle is below ``min_box_area``.

Outputs come in pick order (descending human score); each carries the pick's box, box score and
track id, and the official person score ``mean + box_score + 1.25 * max`` of its merged scores.

Distances are Euclidean in image pixels; a pose's *reference distance* is ``alpha`` times the
longer side of its box.

Layouts with face and hand keypoints (Halpe-136, COCO-WholeBody-133) use the whole-body variant,
which weighs body, face and hand keypoints separately (official
``alphapose/utils/pPose_nms.py::pose_nms_fullbody``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import NamedTuple

import numpy as np

from alphapose.skeletons import Layout, get_layout
from alphapose.structures import Poses, estimated, official_person_scores

__all__ = [
    "POSE_NMS_METHODS",
    "PoseNMSParams",
    "apply_pose_nms",
    "oks",
    "oks_nms",
    "pose_nms",
    "pose_nms_with_clusters",
]

POSE_NMS_METHODS: tuple[str, ...] = ("pnms", "oks", "none")

# Scores of exactly zero are lifted to this so that score-weighted means stay defined.
_MIN_KEYPOINT_SCORE = 1e-5
# The merged keypoints' bounding rectangle is scaled by 1.5 per side before the area test.
_AREA_SCALE = 1.5 ** 2


@dataclass(frozen=True)
class PoseNMSParams:
    """Parameters of parametric pose NMS; defaults are the official body values.

    Attributes:
        delta1: score softness ``sigma_1`` of ``KSim`` (Eq. 17): ``tanh(score / delta1)``.
        mu: weight ``lambda`` of the spatial term ``HSim`` (Eq. 19).
        delta2: distance scale ``sigma_2`` of ``HSim``: ``exp(-dist / delta2)`` (pixels).
        gamma: similarity above which a pose is a duplicate of the pick (``eta``, Eq. 16).
        score_threshold: picks whose best keypoint score is below this are dropped; in the
            whole-body variant also the score below which a keypoint does not count.
        match_threshold: a pose with at least this many keypoints within the match radius of
            the pick's is a duplicate.
        alpha: reference distance = ``alpha * max(box width, box height)``.
        face_factor: whole-body: face distance scale / match radius relative to the body's.
        hand_factor: whole-body: hand distance scale / match radius relative to the body's.
        face_weight_score: whole-body: weight of the face's mean ``KSim`` term.
        hand_weight_score: whole-body: weight of the hands' mean ``KSim`` term.
        face_weight_dist: whole-body: weight of the face's mean ``HSim`` term.
        hand_weight_dist: whole-body: weight of the hands' mean ``HSim`` term.
        max_match_radius: cap on the reference distance when counting matches (pixels).
        max_merge_radius: cap on the reference distance when merging a cluster (pixels).
    """

    delta1: float = 1.0
    mu: float = 1.7
    delta2: float = 2.65
    gamma: float = 22.48
    score_threshold: float = 0.3
    match_threshold: float = 5.0
    alpha: float = 0.1
    face_factor: float = 1.9
    hand_factor: float = 0.55
    face_weight_score: float = 1.0
    hand_weight_score: float = 0.1
    face_weight_dist: float = 1.0
    hand_weight_dist: float = 1.5
    max_match_radius: float = 7.0
    max_merge_radius: float = 15.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"PoseNMSParams.{f.name}: expected a number, "
                                f"got {type(value).__name__}")
            if not np.isfinite(value):
                raise ValueError(f"PoseNMSParams.{f.name}: expected a finite number, got {value}")
        for name in ("delta1", "delta2", "face_factor", "hand_factor"):
            if getattr(self, name) <= 0:
                raise ValueError(f"PoseNMSParams.{name}: expected > 0, got {getattr(self, name)}")
        for name in ("alpha", "max_match_radius", "max_merge_radius"):
            if getattr(self, name) < 0:
                raise ValueError(f"PoseNMSParams.{name}: expected >= 0, got {getattr(self, name)}")

    @classmethod
    def body(cls) -> PoseNMSParams:
        """The official defaults (used for every layout and decoder except below)."""
        return cls()

    @classmethod
    def wholebody(cls) -> PoseNMSParams:
        """The official overrides for whole-body (133/136 keypoint) regression models."""
        return cls(delta1=1.0, mu=1.65, delta2=8.0, gamma=3.6, score_threshold=0.01,
                   match_threshold=3.0, alpha=0.15)

    @classmethod
    def for_layout(cls, layout_name: str | Layout, regression: bool) -> PoseNMSParams:
        """The parameters the official code selects for a model.

        Args:
            layout_name: the model's keypoint layout (name, alias or :class:`Layout`).
            regression: whether the model decodes by integral regression (official
                ``LOSS_TYPE`` other than ``MSELoss``, which includes "Combined" models).

        Returns:
            :meth:`wholebody` for 133/136-keypoint layouts with regression outputs, else
            :meth:`body`.

        Example:
            >>> PoseNMSParams.for_layout("halpe136", regression=True).gamma
            3.6
        """
        layout = get_layout(layout_name)
        if regression and layout.num_keypoints in (133, 136):
            return cls.wholebody()
        return cls.body()


class _WholeBodyParts(NamedTuple):
    body: np.ndarray  # every keypoint that is neither face nor hand (body and feet)
    face: np.ndarray
    hand: np.ndarray


def _wholebody_parts(layout: Layout) -> _WholeBodyParts | None:
    """Part index arrays when the layout has face and hands, else ``None`` (body variant)."""
    face = np.asarray(layout.parts.get("face", ()), np.int64)
    hand = np.asarray(layout.parts.get("hand", ()), np.int64)
    if face.size == 0 or hand.size == 0:
        return None
    rest = np.setdiff1d(np.arange(layout.num_keypoints), np.concatenate([face, hand]))
    return _WholeBodyParts(rest, face, hand)


def _check_layout(poses: Poses) -> Layout:
    layout = get_layout(poses.layout)
    if layout.num_keypoints != poses.num_keypoints:
        raise ValueError(f"poses: layout {poses.layout!r} has {layout.num_keypoints} keypoints "
                         f"but the poses have {poses.num_keypoints}")
    return layout


def _body_duplicates(dist: np.ndarray, pick_scores: np.ndarray, scores: np.ndarray,
                     ref_dist: float, params: PoseNMSParams, shared: np.ndarray) -> np.ndarray:
    """Which candidates duplicate the pick, body variant.

    Args:
        dist: ``(M, K)`` distance of each candidate keypoint to the pick's.
        pick_scores: ``(K,)`` the pick's keypoint scores.
        scores: ``(M, K)`` the candidates' keypoint scores.
        ref_dist: the pick's reference distance.
        params: NMS parameters.
        shared: ``(M, K)`` keypoints that both the candidate and the pick have (estimated).

    Returns:
        ``(M,)`` bool.
    """
    # KSim (Eq. 17): the paper's "within a box of 1/10 the person size" is, in the official
    # code, "within 1 pixel"; the reference distance is only used by the match count.
    close = (dist <= 1.0) & shared
    ksim = np.where(close, np.tanh(pick_scores / params.delta1) * np.tanh(scores / params.delta1),
                    0.0).sum(1)
    hsim = np.where(shared, np.exp(-dist / params.delta2), 0.0).sum(1)  # Eq. 18, distance
    # Only keypoints both poses have can make them duplicates. The similarity is a sum over
    # keypoints compared with one threshold, so sums over fewer shared keypoints are scaled back
    # to the layout's K (unchanged when every keypoint is estimated, the official case).
    num_shared = shared.sum(1)
    scale = np.where(num_shared > 0, dist.shape[1] / np.maximum(num_shared, 1), 0.0)
    similarity = scale * (ksim + params.mu * hsim)  # Eq. 19
    radius = min(ref_dist, params.max_match_radius)
    matches = ((dist <= radius) & shared).sum(1)
    return (similarity > params.gamma) | (matches >= params.match_threshold)


def _part_means(values: np.ndarray, shared: np.ndarray, parts: _WholeBodyParts,
                weights: tuple[float, float, float]) -> np.ndarray:
    """Weighted sum of per-part means over shared keypoints, rescaled for absent parts.

    Each part's mean runs over the keypoints both poses have; a part with none drops out and
    the others' weighted sum is scaled by ``sum(weights) / sum(weights of parts present)``, so
    the result stays on the official scale. With every keypoint shared this is exactly the
    official ``sum_p w_p * mean_p(values)``.

    Args:
        values: ``(M, K)`` per-keypoint terms (zero where not shared).
        shared: ``(M, K)`` bool.
        parts: the layout's body / face / hand indices.
        weights: the three parts' weights.

    Returns:
        ``(M,)``.
    """
    total = np.zeros(values.shape[0])
    present_weight = np.zeros(values.shape[0])
    for index, weight in zip(parts, weights, strict=True):
        count = shared[:, index].sum(1)
        mean = values[:, index].sum(1) / np.maximum(count, 1)
        total += weight * mean
        present_weight += np.where(count > 0, weight, 0.0)
    return np.where(present_weight > 0, total * sum(weights) / np.maximum(present_weight, 1e-12),
                    0.0)


def _wholebody_duplicates(dist: np.ndarray, pick_scores: np.ndarray, scores: np.ndarray,
                          ref_dist: float, params: PoseNMSParams,
                          parts: _WholeBodyParts, shared: np.ndarray) -> np.ndarray:
    """Which candidates duplicate the pick, whole-body variant (official ``pose_nms_fullbody``).

    Same arguments as :func:`_body_duplicates`. Body, face and hands are compared with their own
    distance scales and averaged per part, so the 110 face and hand points do not swamp the body.
    """
    # The official similarity slices from the end ([:-110], [-110:-42], [-42:]), which is right
    # for 133 and 136 keypoints alike, but its match count hard-codes Halpe-136 slices
    # ([:26], [26:94], [94:]), three keypoints off for 133-keypoint COCO-WholeBody models. We
    # use the layout's own part indices in both, so only the match count deviates there
    # (checked against the official code: identical results once its slices are patched in).
    num_keypoints = dist.shape[1]
    # Candidate keypoints below the score threshold are masked. Official behaviour, kept for
    # parity: the KSim term is counted only on *masked* keypoints (so it is at most
    # tanh(score_threshold)-sized), while the HSim term is zeroed on them.
    low = scores < params.score_threshold
    ksim = np.where((dist <= 1.0) & low & shared,
                    np.tanh(pick_scores / params.delta1) * np.tanh(scores / params.delta1), 0.0)
    scale = np.full(num_keypoints, params.delta2)
    scale[parts.face] *= params.face_factor
    scale[parts.hand] *= params.hand_factor
    hsim = np.where(low | ~shared, 0.0, np.exp(-dist / scale))
    # Only keypoints both poses have count: each part's mean runs over its shared keypoints
    # (the official means run over all of a part's keypoints, which is the same when every
    # keypoint is estimated).
    similarity = (_part_means(ksim, shared, parts, (1.0, params.face_weight_score,
                                                    params.hand_weight_score))
                  + params.mu * _part_means(hsim, shared, parts,
                                            (1.0, params.face_weight_dist,
                                             params.hand_weight_dist)))

    # Match count over the pick's confident keypoints. The official normalisation divides the
    # raw count by twice the size of an (M, K, 2) mask of those keypoints and multiplies by K,
    # i.e. count * K / (4 * M * V); it depends on the number M of remaining candidates. Kept for
    # parity with official outputs. Only shared keypoints count, in the count and in V (so the
    # fraction count / V means the same whether or not parts are missing; with every keypoint
    # estimated this is the official formula).
    visible = ((pick_scores > params.score_threshold / 2) & shared).sum(1)  # (M,)
    num_candidates = dist.shape[0]
    mask_size = 2 * num_candidates * visible
    radius = min(ref_dist, params.max_match_radius)
    factor = np.ones(num_keypoints)
    factor[parts.face] = params.face_factor
    factor[parts.hand] = params.hand_factor
    count = ((dist <= radius * factor) & shared).sum(1)
    matches = np.where(mask_size >= 2, count / np.maximum(mask_size, 1) / 2 * num_keypoints, 0.0)
    return (similarity > params.gamma) | (matches >= params.match_threshold)


def pose_nms_with_clusters(poses: Poses, params: PoseNMSParams | None = None,
                           min_box_area: float = 0.0) -> tuple[Poses, list[np.ndarray]]:
    """Parametric pose NMS that also reports which inputs each output absorbed.

    Args:
        poses: ``N`` candidate poses of one image; their layout picks the variant (whole-body
            when it has face and hand keypoints).
        params: NMS parameters; :meth:`PoseNMSParams.body` when ``None`` (use
            :meth:`PoseNMSParams.for_layout` to get the official per-model choice).
        min_box_area: drop a pose when ``1.5^2`` x the area of its merged keypoints' bounding
            rectangle is below this (square pixels; the official ``--min_box_area``).

    Returns:
        ``(kept, clusters)``: ``M <= N`` merged poses in pick order (same layout; box, box
        score and track id of the pick; ``scores`` the official person score of the merged
        keypoint scores), and for each a ``(C,)`` int64 array of the input indices merged into
        it, the pick first, then the others ascending.

    Example::

        kept, clusters = pose_nms_with_clusters(poses, PoseNMSParams.body())
        print(kept.track_ids, clusters[0])  # e.g. [-1 -1] [3 0 5]: input 3 absorbed 0 and 5
    """
    params = PoseNMSParams.body() if params is None else params
    if not isinstance(params, PoseNMSParams):
        raise TypeError(f"params: expected PoseNMSParams or None, got {type(params).__name__}")
    if not isinstance(poses, Poses):
        raise TypeError(f"poses: expected Poses, got {type(poses).__name__}")
    layout = _check_layout(poses)
    if len(poses) == 0:
        return Poses.empty(poses.num_keypoints, poses.layout), []
    parts = _wholebody_parts(layout)

    keypoints = poses.keypoints.astype(np.float64)
    scores = poses.keypoint_scores.astype(np.float64)
    present = estimated(scores)
    scores[~present] = _MIN_KEYPOINT_SCORE
    box_wh = np.clip(poses.xyxy[:, 2:] - poses.xyxy[:, :2], 0, None).astype(np.float64)
    ref_dists = params.alpha * box_wh.max(1)
    human_scores = scores.mean(1)

    # Greedy clustering.
    remaining = np.arange(len(poses))
    picks: list[int] = []
    clusters: list[np.ndarray] = []
    while remaining.size:
        pick = int(remaining[np.argmax(human_scores[remaining])])
        dist = np.linalg.norm(keypoints[remaining] - keypoints[pick], axis=2)
        shared = present[remaining] & present[pick]
        if parts is None:
            duplicate = _body_duplicates(dist, scores[pick], scores[remaining], ref_dists[pick],
                                         params, shared)
        else:
            duplicate = _wholebody_duplicates(dist, scores[pick], scores[remaining],
                                              ref_dists[pick], params, parts, shared)
        # The pick always belongs to its own cluster. (The official code only guarantees this
        # when nothing else matched; in the whole-body variant a pick with few confident
        # keypoints could otherwise stay in the pool and be picked again.)
        duplicate |= remaining == pick
        members = remaining[duplicate]
        remaining = remaining[~duplicate]
        picks.append(pick)
        clusters.append(np.concatenate([[pick], members[members != pick]]).astype(np.int64))

    # Merge and filter.
    out_index: list[int] = []
    out_keypoints: list[np.ndarray] = []
    out_scores: list[np.ndarray] = []
    out_clusters: list[np.ndarray] = []
    for pick, members in zip(picks, clusters):
        if scores[pick].max() < params.score_threshold:
            continue
        radius = min(ref_dists[pick], params.max_merge_radius)
        near = np.linalg.norm(keypoints[members] - keypoints[pick], axis=2) <= radius  # (C, K)
        # A member's keypoint that was not estimated never moves an estimated one of the pick.
        near &= present[members] | ~present[pick]
        weights = np.where(near, scores[members], 0.0)
        # The pick is at distance 0 from itself with a score >= 1e-5, so the sum is positive.
        weights = weights / weights.sum(0)
        merged = (weights[..., None] * keypoints[members]).sum(0)
        merged_scores = (weights * scores[members]).sum(0)
        # Keypoints nobody in the cluster estimated stay "not estimated" (score 0).
        merged_scores[~(near & present[members]).any(0)] = 0.0
        if merged_scores.max() < params.score_threshold:
            continue
        extent = merged.max(0) - merged.min(0)
        if _AREA_SCALE * extent[0] * extent[1] < min_box_area:
            continue
        out_index.append(pick)
        out_keypoints.append(merged)
        out_scores.append(merged_scores)
        out_clusters.append(members)

    if not out_index:
        return Poses.empty(poses.num_keypoints, poses.layout), []
    index = np.asarray(out_index, np.int64)
    merged_scores_all = np.stack(out_scores).astype(np.float32)
    picked = poses[index]
    kept = replace(picked, keypoints=np.stack(out_keypoints).astype(np.float32),
                   keypoint_scores=merged_scores_all,
                   scores=official_person_scores(merged_scores_all, picked.box_scores))
    return kept, out_clusters


def pose_nms(poses: Poses, params: PoseNMSParams | None = None,
             min_box_area: float = 0.0) -> Poses:
    """Parametric pose NMS (paper Sec. 3.4): merge duplicate poses of the same person.

    See the module docstring for the procedure and :func:`pose_nms_with_clusters` for the
    arguments; this returns only the kept poses.

    Example::

        params = PoseNMSParams.for_layout("halpe136", regression=True)
        kept = pose_nms(poses, params, min_box_area=0.0)
    """
    return pose_nms_with_clusters(poses, params, min_box_area)[0]


def oks(a_kpts: np.ndarray, b_kpts: np.ndarray, sigmas: np.ndarray,
        area: float | np.ndarray, shared: np.ndarray | None = None) -> np.ndarray:
    """Object keypoint similarity of one pose to each of several others.

    ``oks = mean_k exp(-d_k^2 / (2 * area * (2 * sigma_k)^2))`` over all keypoints (or over the
    ``shared`` ones), with a tiny epsilon added to ``area``.

    Args:
        a_kpts: ``(K, 2)`` keypoints of the reference pose.
        b_kpts: ``(N, K, 2)`` keypoints of the others.
        sigmas: ``(K,)`` per-keypoint OKS sigmas (as in COCO evaluation, e.g. nose 0.026).
        area: scale in square pixels, a scalar or ``(N,)`` (e.g. the mean box area of each pair).
        shared: optional ``(N, K)`` bool, the keypoints both poses have; the mean runs over
            these only (0 where a pair shares none). ``None``: all keypoints.

    Returns:
        ``(N,)`` float64 OKS in [0, 1].

    Example:
        >>> oks(np.zeros((1, 2)), np.array([[[3.0, 4.0]]]), np.array([0.5]), 125.0).round(4)
        array([0.9048])
    """
    a = np.asarray(a_kpts, np.float64)
    b = np.asarray(b_kpts, np.float64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"a_kpts: expected shape (K, 2), got {a.shape}")
    k = a.shape[0]
    if b.size == 0 and b.ndim != 3:
        b = b.reshape(0, k, 2)
    if b.ndim != 3 or b.shape[1:] != (k, 2):
        raise ValueError(f"b_kpts: expected shape (N, {k}, 2), got {b.shape}")
    sig = np.asarray(sigmas, np.float64)
    if sig.shape != (k,):
        raise ValueError(f"sigmas: expected shape ({k},), got {sig.shape}")
    areas = np.broadcast_to(np.asarray(area, np.float64), (b.shape[0],))
    variances = (2 * sig) ** 2
    sq_dist = ((b - a) ** 2).sum(2)
    e = sq_dist / variances / (areas[:, None] + np.spacing(1)) / 2
    if shared is None:
        return np.exp(-e).mean(1) if k else np.ones(b.shape[0])
    mask = np.asarray(shared, bool)
    if mask.shape != (b.shape[0], k):
        raise ValueError(f"shared: expected shape ({b.shape[0]}, {k}), got {mask.shape}")
    count = mask.sum(1)
    return np.where(count > 0, np.where(mask, np.exp(-e), 0.0).sum(1) / np.maximum(count, 1),
                    0.0)


def oks_nms(poses: Poses, sigmas: np.ndarray | None = None, threshold: float = 0.9,
            visibility_threshold: float = 0.2) -> Poses:
    """OKS-based pose NMS (the official ``--oks-nms`` of ``validate.py``).

    Each pose is first rescored: ``score * mean(keypoint scores > visibility_threshold)`` (0 if
    no keypoint is visible), where ``score`` is ``Poses.scores`` — the official code multiplies
    the result's ``score`` field, which there is the person score ``box + mean + 1.25 * max``.
    Then greedily by the new score, every pose whose OKS with a kept pose is ``> threshold``
    is removed; the OKS area of a pair is the mean of their box areas. The OKS of a pair runs
    over the keypoints both poses have (every keypoint for the official networks), so two
    people whose skipped parts sit at ``(0, 0)`` are not made alike by them.

    Args:
        poses: ``N`` candidate poses of one image.
        sigmas: ``(K,)`` OKS sigmas; the layout's when ``None``.
        threshold: OKS above which a pose is a duplicate.
        visibility_threshold: keypoint score above which a keypoint counts in the rescoring.

    Returns:
        The kept poses in descending order of their new score, with ``scores`` set to it.

    Example::

        kept = oks_nms(poses, threshold=0.9)  # sigmas from the poses' layout
    """
    if not isinstance(poses, Poses):
        raise TypeError(f"poses: expected Poses, got {type(poses).__name__}")
    layout = _check_layout(poses)
    sig = layout.sigmas if sigmas is None else np.asarray(sigmas, np.float64)
    if sig.shape != (poses.num_keypoints,):
        raise ValueError(f"sigmas: expected shape ({poses.num_keypoints},), got {sig.shape}")
    if len(poses) == 0:
        return Poses.empty(poses.num_keypoints, poses.layout)

    kp_scores = poses.keypoint_scores.astype(np.float64)
    present = estimated(kp_scores)
    visible = kp_scores > visibility_threshold
    count = visible.sum(1)
    visible_mean = np.where(count > 0, np.where(visible, kp_scores, 0).sum(1)
                            / np.maximum(count, 1), 0.0)
    new_scores = poses.scores.astype(np.float64) * visible_mean  # type: ignore[union-attr]
    wh = np.clip(poses.xyxy[:, 2:] - poses.xyxy[:, :2], 0, None).astype(np.float64)
    areas = wh[:, 0] * wh[:, 1]

    order = np.argsort(-new_scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        similarity = oks(poses.keypoints[best], poses.keypoints[rest], sig,
                         (areas[best] + areas[rest]) / 2, shared=present[rest] & present[best])
        order = rest[similarity <= threshold]
    index = np.asarray(keep, np.int64)
    kept = poses[index]
    return replace(kept, scores=new_scores[index].astype(np.float32))


def apply_pose_nms(poses: Poses, method: str, params: PoseNMSParams | None = None,
                   min_box_area: float = 0.0) -> Poses:
    """Run the pose NMS named ``method`` (one of :data:`POSE_NMS_METHODS`).

    Args:
        poses: candidate poses of one image.
        method: ``"pnms"`` (parametric, :func:`pose_nms`), ``"oks"`` (:func:`oks_nms` with
            defaults) or ``"none"`` (poses returned unchanged).
        params: parametric NMS parameters (``"pnms"`` only).
        min_box_area: minimum scaled keypoint area (``"pnms"`` only).

    Returns:
        The kept poses.

    Raises:
        ValueError: unknown ``method``; the message lists the valid ones.
    """
    if method == "pnms":
        return pose_nms(poses, params, min_box_area)
    if method == "oks":
        return oks_nms(poses)
    if method == "none":
        return poses
    raise ValueError(f"unknown pose NMS method {method!r}; valid methods: "
                     f"{', '.join(POSE_NMS_METHODS)}")
