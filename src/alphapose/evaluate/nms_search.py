"""Data-driven search of the parametric pose NMS parameters (paper Sec. 3.4, "Optimization").

The paper fixes the four parameters of the elimination criterion, sigma_1, sigma_2, lambda and
eta, by maximising AP on a validation set; since a 4-D exhaustive search is intractable it
optimises two of them at a time with the other two fixed, and iterates until convergence. In
:class:`~alphapose.nms.PoseNMSParams` they are called ``delta1`` (sigma_1), ``delta2``
(sigma_2), ``mu`` (lambda) and ``gamma`` (eta).

:func:`tune_pose_nms` does exactly that on a grid: for each pair in turn, every combination of
the pair's current values times a set of factors is tried with the other parameters fixed; the
best combination is taken only if it raises AP by more than a tolerance. Rounds over all pairs
repeat until one changes nothing; then the factors are narrowed (square roots) and the rounds
go on, ``refinements`` times. Every accepted step strictly raises AP, so the result is never
worse than the starting parameters, and when nothing improves they are returned unchanged.

Input: the *unsuppressed* candidate poses of each validation image (e.g. ``alphapose run
--pose-nms none`` output, several candidates per person) and the ground truth.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from alphapose.evaluate.keypoints import (
    GroundTruth,
    KeypointEvaluator,
    load_results,
    result_entries,
)
from alphapose.nms import PoseNMSParams, pose_nms
from alphapose.structures import Poses

__all__ = [
    "PAPER_NAMES",
    "NMSSearchConfig",
    "NMSSearchResult",
    "apply_nms_to_candidates",
    "load_candidates",
    "load_nms_params",
    "save_nms_params",
    "tune_pose_nms",
]

#: PoseNMSParams field -> the paper's symbol (Eqs. 16-19)
PAPER_NAMES: dict[str, str] = {"delta1": "sigma1", "delta2": "sigma2", "mu": "lambda",
                               "gamma": "eta"}
_FIELDS = tuple(f.name for f in fields(PoseNMSParams))


@dataclass(frozen=True)
class NMSSearchConfig:
    """Settings of :func:`tune_pose_nms`.

    Attributes:
        pairs: the parameter pairs optimised in turn (PoseNMSParams field names); by default
            (sigma_1, sigma_2) then (lambda, eta), the paper's "two at a time by fixing the
            other two".
        factors: multipliers of a parameter's current value forming its grid (must hold 1).
        refinements: how many times the factors are narrowed (square-rooted) after a
            converged round.
        max_rounds: cap on rounds (passes over all pairs) per grid.
        part: the evaluated part whose AP is maximised (``"whole"``, ``"body"``, ...).
        tolerance: smallest AP gain that counts as an improvement.
        min_box_area: the ``min_box_area`` of :func:`~alphapose.nms.pose_nms`.
    """

    pairs: tuple[tuple[str, str], ...] = (("delta1", "delta2"), ("mu", "gamma"))
    factors: tuple[float, ...] = (0.25, 0.5, 0.7, 0.85, 1.0, 1.2, 1.4, 2.0, 4.0)
    refinements: int = 1
    max_rounds: int = 10
    part: str = "whole"
    tolerance: float = 1e-6
    min_box_area: float = 0.0

    def __post_init__(self) -> None:
        if not self.pairs:
            raise ValueError("NMSSearchConfig.pairs: give at least one pair")
        for pair in self.pairs:
            if len(pair) != 2 or pair[0] == pair[1]:
                raise ValueError(f"NMSSearchConfig.pairs: {pair!r} is not a pair of two "
                                 f"different parameters")
            for name in pair:
                if name not in _FIELDS:
                    raise ValueError(f"NMSSearchConfig.pairs: unknown parameter {name!r}; "
                                     f"PoseNMSParams has {', '.join(_FIELDS)}")
        if any(not (f > 0 and math.isfinite(f)) for f in self.factors) \
                or not any(f == 1.0 for f in self.factors):
            raise ValueError(f"NMSSearchConfig.factors: positive finite numbers including 1.0, "
                             f"got {self.factors}")
        if self.refinements < 0 or self.max_rounds < 1:
            raise ValueError(f"NMSSearchConfig: refinements >= 0 and max_rounds >= 1, got "
                             f"{self.refinements}, {self.max_rounds}")
        if not self.tolerance >= 0:
            raise ValueError(f"NMSSearchConfig.tolerance: expected >= 0, got {self.tolerance}")


@dataclass(frozen=True)
class NMSSearchResult:
    """Outcome of :func:`tune_pose_nms`.

    Attributes:
        params: the best parameters found (``start`` itself when nothing improved).
        start: the starting parameters.
        ap_before: AP of ``start`` on the validation set.
        ap_after: AP of ``params`` (``>= ap_before``).
        ap_no_nms: AP of the candidates without any NMS, for reference.
        evaluations: distinct parameter sets evaluated.
        steps: accepted steps ``(round, pair, {name: value}, AP)`` in order.
    """

    params: PoseNMSParams
    start: PoseNMSParams
    ap_before: float
    ap_after: float
    ap_no_nms: float
    evaluations: int
    steps: tuple[tuple[int, tuple[str, str], dict[str, float], float], ...]

    def changed(self) -> dict[str, tuple[float, float]]:
        """``{name: (start value, tuned value)}`` of the parameters that moved."""
        return {n: (getattr(self.start, n), getattr(self.params, n)) for n in _FIELDS
                if getattr(self.start, n) != getattr(self.params, n)}


# ------------------------------------------------------------------------------------------------
# Candidates
# ------------------------------------------------------------------------------------------------


def load_candidates(source: str | Path | Sequence | Mapping, gt: GroundTruth,
                    name: str | None = None) -> dict[int, Poses]:
    """Read unsuppressed candidate poses (a results file) into one :class:`Poses` per image.

    Boxes come from ``box`` ([x, y, w, h], AlphaPose results) or ``bbox``, else from the
    extent of the keypoints. The box score is ``box_score`` when given, else reconstructed from
    the official person score as ``score - mean(kp) - 1.25 * max(kp)`` (what the official
    ``validate.py --ppose-nms`` does); the NMS then rebuilds the person score from it.

    Args:
        source: results path or loaded list / dict (as :func:`~.keypoints.load_results`).
        gt: the ground truth (gives the layout and the image ids).
        name: how to call the source in messages.

    Returns:
        ``{image_id: Poses}`` in the ground truth's layout; images without candidates are
        absent.

    Raises:
        FileNotFoundError, ValueError: as :func:`~.keypoints.load_results`, or a bad box.
    """
    from alphapose.evaluate.keypoints import _read_json

    if isinstance(source, (str, Path)):
        label = name or str(source)
        raw = _read_json(source, "results")
    else:
        label, raw = name or "<results>", source
    entries = result_entries(raw, label)
    normalised = load_results(entries, gt, name=label)
    k = gt.layout.num_keypoints
    grouped: dict[int, list[tuple[np.ndarray, np.ndarray, float]]] = {}
    for i, (entry, res) in enumerate(zip(entries, normalised)):
        kp = np.asarray(res["keypoints"], np.float64).reshape(k, 3)
        box = entry.get("box", entry.get("bbox"))
        if box is not None:
            try:
                x, y, w, h = (float(v) for v in box)
            except (TypeError, ValueError) as error:
                raise ValueError(f"{label}: result {i}: 'box' must be 4 numbers [x, y, w, h], "
                                 f"got {box!r}") from error
            xyxy = np.array([x, y, x + w, y + h])
        else:
            xyxy = np.concatenate([kp[:, :2].min(0), kp[:, :2].max(0)])
        if "box_score" in entry:
            box_score = float(entry["box_score"])
        else:
            box_score = res["score"] - kp[:, 2].mean() - 1.25 * kp[:, 2].max()
        grouped.setdefault(res["image_id"], []).append((kp, xyxy, box_score))
    out = {}
    for image_id, people in grouped.items():
        kps = np.stack([p[0] for p in people])
        out[image_id] = Poses(keypoints=kps[..., :2], keypoint_scores=kps[..., 2],
                              xyxy=np.stack([p[1] for p in people]),
                              box_scores=np.array([p[2] for p in people]),
                              layout=gt.layout.name)
    return out


def apply_nms_to_candidates(candidates: Mapping[int, Poses], params: PoseNMSParams | None,
                            min_box_area: float = 0.0) -> list[dict]:
    """Pose NMS per image, as COCO results (``params=None``: no NMS at all).

    Returns:
        ``[{"image_id", "category_id": 1, "keypoints", "score"}]`` with the official person
        score of the merged poses.
    """
    results = []
    for image_id, poses in candidates.items():
        kept = poses if params is None else pose_nms(poses, params, min_box_area)
        triples = np.concatenate([kept.keypoints, kept.keypoint_scores[..., None]], axis=2)
        for i in range(len(kept)):
            results.append({"image_id": image_id, "category_id": 1,
                            "keypoints": triples[i].astype(np.float64).ravel().tolist(),
                            "score": float(kept.scores[i])})  # type: ignore[index]
    return results


# ------------------------------------------------------------------------------------------------
# Search
# ------------------------------------------------------------------------------------------------


def _round(value: float) -> float:
    """Six significant digits, so grids do not accumulate float noise."""
    return float(f"{value:.6g}")


def _grid(value: float, factors: Sequence[float]) -> list[float]:
    base = value if value != 0 else 1.0
    values = {_round(base * f) for f in factors}
    if value == 0:
        values.add(0.0)
    return sorted(values)


def tune_pose_nms(candidates: Mapping[int, Poses], evaluator: KeypointEvaluator,
                  start: PoseNMSParams | None = None,
                  config: NMSSearchConfig | None = None,
                  progress: Any = None) -> NMSSearchResult:
    """Maximise validation AP over the pose NMS parameters, two at a time (paper Sec. 3.4).

    Args:
        candidates: unsuppressed candidate poses per image (:func:`load_candidates`).
        evaluator: AP of results on the validation ground truth; it must evaluate
            ``config.part``.
        start: starting parameters (default :meth:`PoseNMSParams.for_layout` of the
            candidates' layout with ``regression=True``, the embedded default's choice).
        config: search settings.
        progress: optional callable ``progress(message: str)`` told of each accepted step.

    Returns:
        :class:`NMSSearchResult`; ``ap_after >= ap_before`` always.

    Raises:
        ValueError: ``config.part`` is not evaluated by ``evaluator``, or no candidates.

    Example::

        gt = load_ground_truth("val.json")
        result = tune_pose_nms(load_candidates("no-nms-results.json", gt), KeypointEvaluator(gt))
        print(result.ap_before, "->", result.ap_after, result.changed())
    """
    config = NMSSearchConfig() if config is None else config
    if config.part not in evaluator.parts:
        raise ValueError(f"part {config.part!r}: the evaluator evaluates "
                         f"{', '.join(evaluator.parts)}")
    if not candidates:
        raise ValueError("candidates: no candidate poses to tune on")
    if start is None:
        layout = next(iter(candidates.values())).layout
        start = PoseNMSParams.for_layout(layout, regression=True)
    if not isinstance(start, PoseNMSParams):
        raise TypeError(f"start: expected PoseNMSParams, got {type(start).__name__}")

    cache: dict[tuple[float, ...], float] = {}

    def score(params: PoseNMSParams) -> float:
        key = tuple(getattr(params, n) for n in _FIELDS)
        if key not in cache:
            results = apply_nms_to_candidates(candidates, params, config.min_box_area)
            cache[key] = evaluator(results)[config.part]["AP"]
        return cache[key]

    ap_no_nms = evaluator(apply_nms_to_candidates(candidates, None))[config.part]["AP"]
    best, best_ap = start, score(start)
    ap_before = best_ap
    steps = []
    factors = tuple(config.factors)
    round_index = 0
    for level in range(config.refinements + 1):
        if level:
            factors = tuple(sorted({f ** 0.5 for f in factors}))
        for _ in range(config.max_rounds):
            round_index += 1
            moved = False
            for a, b in config.pairs:
                va, vb = getattr(best, a), getattr(best, b)
                trials = []
                for x in _grid(va, factors):
                    for y in _grid(vb, factors):
                        # nearest first (log distance), so ties keep the smaller move
                        distance = (abs(math.log((x or 1e-12) / (va or 1.0)))
                                    + abs(math.log((y or 1e-12) / (vb or 1.0))))
                        trials.append((distance, x, y))
                trials.sort()
                pair_best, pair_ap = best, best_ap
                for _, x, y in trials:
                    try:
                        params = replace(best, **{a: x, b: y})
                    except ValueError:  # e.g. a grid value outside a parameter's range
                        continue
                    ap = score(params)
                    if ap > pair_ap + config.tolerance:
                        pair_best, pair_ap = params, ap
                if pair_best is not best:
                    best, best_ap, moved = pair_best, pair_ap, True
                    values = {a: getattr(best, a), b: getattr(best, b)}
                    steps.append((round_index, (a, b), values, best_ap))
                    if progress is not None:
                        progress(f"round {round_index}: {a}={values[a]:g} {b}={values[b]:g} "
                                 f"-> AP {best_ap:.4f}")
            if not moved:
                break
    return NMSSearchResult(best, start, ap_before, best_ap, ap_no_nms, len(cache), tuple(steps))


# ------------------------------------------------------------------------------------------------
# Parameter files
# ------------------------------------------------------------------------------------------------


def save_nms_params(params: PoseNMSParams, path: str | Path,
                    extra: Mapping[str, Any] | None = None) -> None:
    """Write parameters as YAML (``.yaml`` / ``.yml``) or JSON (anything else).

    Args:
        params: the parameters.
        path: output file.
        extra: more top-level entries (e.g. ``ap_before``), written under ``search``.
    """
    data: dict[str, Any] = {"pose_nms": asdict(params)}
    if extra:
        data["search"] = dict(extra)
    path = Path(path)
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    else:
        path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def load_nms_params(path: str | Path) -> PoseNMSParams:
    """Read parameters written by :func:`save_nms_params` (or a flat mapping of fields).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not YAML / JSON, unknown field names, or invalid values.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such NMS parameter file")
    from alphapose.jsonfile import load_json, load_yaml

    if path.suffix.lower() in (".yaml", ".yml"):
        data = load_yaml(path, "NMS parameter")
    else:
        data = load_json(path, "NMS parameter")
    if isinstance(data, Mapping) and isinstance(data.get("pose_nms"), Mapping):
        data = data["pose_nms"]
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a mapping of PoseNMSParams fields")
    unknown = set(data) - set(_FIELDS)
    if unknown:
        raise ValueError(f"{path}: unknown pose NMS parameters {sorted(map(str, unknown))}; valid: "
                         f"{', '.join(_FIELDS)}")
    try:
        return PoseNMSParams(**{k: float(v) if isinstance(v, int) and not isinstance(v, bool)
                                else v for k, v in data.items()})
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"{path}: {error}") from None
