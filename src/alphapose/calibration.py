"""Keypoint-score calibration per part: reliability, expected calibration error, monotone maps.

A keypoint score is *calibrated* when, among points scored ``s``, a fraction ``s`` is right. The
embedded default's raw scores are not: body points carry the body model's visibility, every
face / hand point its model's presence probability, and at photo resolution the hand model calls
small hands absent while placing their points well (``bench/hands.py``). A
:class:`ScoreCalibration` maps each part's raw scores through a monotone piecewise-linear curve
fitted by isotonic regression (:func:`fit_isotonic`) on held-out data (``bench/calibration.py``);
being monotone, it keeps the order of a part's scores and changes their level.

Example:
    >>> x, y = fit_isotonic(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 1, 0, 1]))
    >>> [round(v, 2) for v in y]
    [0.0, 0.5, 1.0]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ScoreCalibration", "expected_calibration_error", "fit_isotonic", "reliability"]


def _checked(scores: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, np.float64).ravel()
    correct = np.asarray(correct, np.float64).ravel()
    if scores.shape != correct.shape:
        raise ValueError(f"scores, correct: expected the same length, got {scores.shape[0]} "
                         f"and {correct.shape[0]}")
    if not np.isfinite(scores).all():
        raise ValueError("scores: expected finite values")
    return scores, correct


def reliability(scores: np.ndarray, correct: np.ndarray,
                bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean score, fraction right and count per equal-width score bin on [0, 1].

    Args:
        scores: ``(N,)`` keypoint scores in [0, 1].
        correct: ``(N,)`` whether each point is right (bool or 0/1).
        bins: number of bins.

    Returns:
        ``(mean_score, accuracy, count)``, each ``(bins,)``; empty bins hold NaN and 0.
    """
    scores, correct = _checked(scores, correct)
    index = np.clip((scores * bins).astype(int), 0, bins - 1)
    count = np.bincount(index, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = np.bincount(index, scores, bins) / count
        accuracy = np.bincount(index, correct, bins) / count
    return mean_score, accuracy, count.astype(np.int64)


def expected_calibration_error(scores: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Count-weighted mean of ``|fraction right - mean score|`` over the bins of
    :func:`reliability` (0 = calibrated). NaN for no points."""
    mean_score, accuracy, count = reliability(scores, correct, bins)
    if count.sum() == 0:
        return float("nan")
    used = count > 0
    return float((np.abs(accuracy[used] - mean_score[used]) * count[used]).sum() / count.sum())


def fit_isotonic(scores: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-decreasing least-squares fit of ``correct`` on ``scores`` (pool adjacent violators).

    Args:
        scores: ``(N,)`` raw scores.
        correct: ``(N,)`` 0/1 outcomes.

    Returns:
        ``(x, y)``: knots of a piecewise-linear map, ``x`` the mean raw score of each pooled
        block (increasing), ``y`` its fraction right (non-decreasing); use with ``np.interp``.
    """
    scores, correct = _checked(scores, correct)
    if scores.size == 0:
        raise ValueError("scores: expected at least one point to fit")
    order = np.argsort(scores, kind="stable")
    # blocks of [sum of x, sum of y, count], merged while a block's mean exceeds the next one's
    blocks: list[list[float]] = []
    for x, y in zip(scores[order], correct[order]):
        blocks.append([x, y, 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            x2, y2, n2 = blocks.pop()
            blocks[-1] = [blocks[-1][0] + x2, blocks[-1][1] + y2, blocks[-1][2] + n2]
    x = np.array([b[0] / b[2] for b in blocks])
    y = np.array([b[1] / b[2] for b in blocks])
    return x, y


@dataclass(frozen=True)
class ScoreCalibration:
    """Monotone per-part maps of raw keypoint scores to calibrated ones.

    Attributes:
        curves: ``part -> (x knots, y knots)`` (``np.interp``: flat beyond the end knots);
            parts without a curve keep their scores.
        floor: lowest calibrated score (a fitted 0 would claim certainty the data cannot give,
            and an all-zero part is read as "not estimated" by the evaluation).
        ceiling: highest calibrated score.
    """

    curves: Mapping[str, tuple[tuple[float, ...], tuple[float, ...]]] = field(default_factory=dict)
    floor: float = 0.01
    ceiling: float = 0.99

    def __call__(self, part: str, scores: np.ndarray) -> np.ndarray:
        """Calibrated scores of ``part`` (same shape and dtype as ``scores``).

        Example:
            >>> cal = ScoreCalibration({"hand": ((0.0, 1.0), (0.4, 0.9))})
            >>> cal("hand", np.array([0.0, 0.5], np.float32)).tolist()
            [0.4000000059604645, 0.6499999761581421]
        """
        scores = np.asarray(scores)
        if part not in self.curves:
            return scores
        x, y = self.curves[part]
        mapped = np.interp(scores, np.asarray(x), np.clip(np.asarray(y), self.floor,
                                                             self.ceiling))
        return mapped.astype(scores.dtype if scores.dtype.kind == "f" else np.float32)
