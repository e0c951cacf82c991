"""Keypoint AP with pycocotools, per part of COCO-WholeBody.

``keypoint_ap`` runs pycocotools' ``COCOeval`` ('keypoints') with the given sigmas.
``wholebody_ap`` evaluates COCO-WholeBody-133 results against a COCO-WholeBody annotation file
part by part, as xtcocotools' whole-body protocol does: for each part the ground truth and the
results are cut to that part's keypoints, ``num_keypoints`` is recounted for the part (people with
none are ignored for it), results whose part keypoints all score 0 are left out, and the part's
sigmas are used; the OKS scale is the annotated area. The figures equal xtcocotools'
(``keypoints_body``, ``_foot``, ``_face``, ``_lefthand``, ``_righthand``, ``_wholebody``; a test
checks it); ``hand`` (both hands as one part) is the Halpe / halpecocotools definition.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Sequence

import numpy as np

__all__ = ["WHOLEBODY_PARTS", "keypoint_ap", "wholebody_ap"]

#: part -> (annotation keys holding its keypoints, in COCO-WholeBody-133 order)
WHOLEBODY_PARTS: dict[str, tuple[str, ...]] = {
    "body": ("keypoints",),
    "foot": ("foot_kpts",),
    "face": ("face_kpts",),
    "lefthand": ("lefthand_kpts",),
    "righthand": ("righthand_kpts",),
    "hand": ("lefthand_kpts", "righthand_kpts"),
    "wholebody": ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts"),
}
_PART_SLICES = {"keypoints": slice(0, 17), "foot_kpts": slice(17, 23),
                "face_kpts": slice(23, 91), "lefthand_kpts": slice(91, 112),
                "righthand_kpts": slice(112, 133)}


def keypoint_ap(gt: dict, results: Sequence[dict], sigmas: np.ndarray) -> dict[str, float]:
    """COCO keypoint AP / AR of ``results`` against the annotation dict ``gt``.

    Args:
        gt: COCO annotation dict (images, annotations, categories).
        results: COCO results (image_id int, category_id, keypoints flat x, y, s, score).
        sigmas: ``(K,)`` OKS sigmas, K = keypoints per person in both.

    Returns:
        ``{"AP", "AP50", "AP75", "APm", "APl", "AR", ...}``; AP is 0 when there are no results.
    """
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as error:
        raise ImportError("evaluation needs pycocotools: pip install 'alphapose[eval]'") from error
    names = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
    if not results:
        return dict.fromkeys(names, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        dt = coco.loadRes(list(results))
        evaluator = COCOeval(coco, dt, "keypoints")
        evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, np.float64)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(v) for name, v in zip(names, evaluator.stats)}


def wholebody_ap(gt: dict, results: Sequence[dict], sigmas: np.ndarray,
                 parts: Sequence[str] = tuple(WHOLEBODY_PARTS)) -> dict[str, float]:
    """AP per part of COCO-WholeBody-133 results.

    Args:
        gt: COCO-WholeBody annotation dict (annotations with ``keypoints``, ``foot_kpts``,
            ``face_kpts``, ``lefthand_kpts``, ``righthand_kpts``).
        results: results with 133 x 3 keypoint values each.
        sigmas: ``(133,)`` COCO-WholeBody sigmas.
        parts: parts to evaluate (keys of :data:`WHOLEBODY_PARTS`).

    Returns:
        ``{part: AP}``.
    """
    sigmas = np.asarray(sigmas, np.float64)
    out: dict[str, float] = {}
    for part in parts:
        keys = WHOLEBODY_PARTS[part]
        index = np.concatenate([np.arange(133)[_PART_SLICES[k]] for k in keys])
        part_gt = copy.deepcopy(gt)
        for ann in part_gt["annotations"]:
            values = np.concatenate([np.asarray(ann.get(k) or [0.0] * 3 *
                                                (_PART_SLICES[k].stop - _PART_SLICES[k].start),
                                                np.float64) for k in keys])
            ann["keypoints"] = values.tolist()
            ann["num_keypoints"] = int((values.reshape(-1, 3)[:, 2] > 0).sum())
        part_results = []
        for res in results:
            kp = np.asarray(res["keypoints"], np.float64).reshape(-1, 3)
            if kp.shape[0] != 133:
                raise ValueError(f"wholebody_ap: expected 133 keypoints per result, got "
                                 f"{kp.shape[0]} (image_id {res.get('image_id')})")
            if not (kp[index, 2] > 0).any():  # xtcocotools skips results empty for the part
                continue
            part_results.append(dict(res, keypoints=kp[index].ravel().tolist()))
        out[part] = keypoint_ap(part_gt, part_results, sigmas[index])["AP"]
    return out
