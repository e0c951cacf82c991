"""Person masks (``--masks``) against the COCO ground-truth person segmentations.

Runs the default pipeline with ``masks=True`` on the shared COCO images
(``mmpose/coco/test_coco.json``: 4 val2017 images, 14 people with polygon segmentations),
matches predicted masks to ground-truth people one to one (greedy by mask IoU), and reports the
mean mask IoU per ground-truth person (an unmatched person counts 0) for people taller than
200 px and for everyone, for both ways of giving a pixel two masks cover to one person
(``mask_resolution``: ``score``, the default, and ``logit``). It also checks that pycocotools
decodes every RLE written to the same mask as :func:`alphapose.masks.decode_rle`.

It also scores the masks as COCO segmentation results (``COCOeval(..., "segm")``, AP over the
4 images: a small sample).

Last line: ``mask_iou_tall=... people=... mask_iou_all=... people_all=... mask_iou_tall_logit=...
segm_ap=... pycocotools_roundtrip=ok``.

Usage: ``.venv/bin/python bench/masks.py [--data ../shared/data] [--out DIR]`` (``--out``:
also write the rendered overlays there).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from alphapose.masks import decode_rle
from alphapose.pipeline import Pipeline, RunOptions
from alphapose.render import RenderOptions

ROOT = Path(__file__).resolve().parents[1]


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def match_ious(truth: list[np.ndarray], found: list[np.ndarray]) -> list[float]:
    """Per ground-truth mask the IoU of the found mask matched to it (greedy by IoU, one to
    one; 0 when none is left)."""
    table = np.array([[mask_iou(t, f) for f in found] for t in truth]).reshape(len(truth),
                                                                            len(found))
    best = [0.0] * len(truth)
    while table.size and table.max() > 0:
        t, f = np.unravel_index(int(np.argmax(table)), table.shape)
        best[t] = float(table[t, f])
        table[t, :] = -1
        table[:, f] = -1
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=None, help="write rendered overlays here")
    args = parser.parse_args()
    annotations = args.data / "mmpose" / "coco" / "test_coco.json"
    if not annotations.is_file():
        sys.exit(f"bench/masks.py: {annotations} not found (pass --data PATH/TO/shared/data)")
    try:
        from pycocotools import mask as coco_mask
        from pycocotools.coco import COCO
    except ImportError:
        sys.exit("bench/masks.py needs pycocotools: pip install alphapose[eval]")
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(annotations))
    pipeline = Pipeline(masks=True, run=RunOptions(sp=True))
    base = pipeline.estimator.config
    figures: dict[str, list[float]] = {}
    results: dict[str, list[dict]] = {}
    roundtrip = True
    for resolution in ("score", "logit"):
        pipeline.estimator.config = replace(base, mask_resolution=resolution)
        tall, everyone = [], []
        results[resolution] = []
        for image_id in sorted(coco.getImgIds()):
            info = coco.loadImgs(image_id)[0]
            image = cv2.imread(str(annotations.parent / info["file_name"]))
            poses = pipeline.predict(image)
            found = [decode_rle(rle) for rle in poses.masks]
            results[resolution] += [{"image_id": image_id, "category_id": 1, "score": float(score),
                                     "segmentation": dict(rle)}
                                    for rle, score in zip(poses.masks, poses.scores)]
            for rle, mask in zip(poses.masks, found):
                decoded = coco_mask.decode({"size": rle["size"],
                                            "counts": rle["counts"].encode("ascii")})
                roundtrip &= bool((decoded.astype(bool) == mask).all())
            people = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=image_id, iscrowd=False))
                      if a["category_id"] == 1]
            ious = match_ious([coco.annToMask(a).astype(bool) for a in people], found)
            for person, iou in zip(people, ious):
                everyone.append(iou)
                if person["bbox"][3] > 200:
                    tall.append(iou)
            print(f"[{resolution}] {info['file_name']}: {len(poses)} masks, ground truth "
                  f"{len(people)}: IoU " + " ".join(f"{v:.2f}" for v in ious))
            if args.out is not None and resolution == base.mask_resolution:
                args.out.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(args.out / info["file_name"]), RenderOptions().draw(image, poses))
        figures[resolution] = [float(np.mean(tall)), len(tall), float(np.mean(everyone)),
                               len(everyone)]
        print(f"[{resolution}] mean mask IoU: people taller than 200 px {figures[resolution][0]:.3f} "
              f"({len(tall)}), everyone {figures[resolution][2]:.3f} ({len(everyone)})")
    main_figures = figures[base.mask_resolution]
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(coco, coco.loadRes(results[base.mask_resolution]), "segm")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    print(f"COCO mask AP (pycocotools, segm) over the 4 images: {evaluation.stats[0]:.3f}")
    print(f"mask_iou_tall={main_figures[0]:.3f} people={main_figures[1]} "
          f"mask_iou_all={main_figures[2]:.3f} people_all={main_figures[3]} "
          f"mask_iou_tall_logit={figures['logit'][0]:.3f} segm_ap={evaluation.stats[0]:.3f} "
          f"pycocotools_roundtrip={'ok' if roundtrip else 'FAILED'}")


if __name__ == "__main__":
    main()
