"""Validation during training: keypoint AP of the model on the validation set every epoch, and
the plot of the losses and AP over epochs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from alphapose.data.augment import AugmentConfig
from alphapose.data.datasets import Sample

if TYPE_CHECKING:
    import torch

__all__ = ["VALIDATION_LAYOUTS", "plot_history", "validate"]

#: dataset formats AP can be measured on, and their keypoint layouts
VALIDATION_LAYOUTS = {"coco": "coco17", "halpe": "halpe136", "coco_wholebody": "coco_wholebody133"}


def unwrap_model(model):
    """The model a DDP wrapper holds (or the model itself)."""
    return getattr(model, "module", model)


def validate(model: torch.nn.Module, codec, samples: Sequence[Sample], gt: dict,
             eval_layout: str, input_size: tuple[int, int], batch_size: int = 32,
             flip: bool = False) -> dict[str, float]:
    """COCO keypoint AP of ``model`` on ground-truth boxes.

    Args:
        model: network in the samples' layout.
        codec: its decoder.
        samples: validation samples (ground-truth boxes).
        gt: the validation annotation dict (COCO / Halpe / COCO-WholeBody JSON).
        eval_layout: the layout of ``gt``'s keypoints (results are converted to it).
        input_size: crop ``(h, w)``.
        batch_size: crops per forward pass.
        flip: official flip test.

    Returns:
        ``{"AP": ..., ...}`` (COCO-WholeBody: per part, ``"AP"`` = whole body).
    """
    import torch

    from alphapose.codecs import flip_average, flip_crops
    from alphapose.data.augment import augment_sample
    from alphapose.data.sampler import ImageCache
    from alphapose.evaluate import keypoint_ap, wholebody_ap
    from alphapose.skeletons import convert, get_layout
    from alphapose.transforms import apply_affine, invert_affine

    layout = get_layout(samples[0].layout) if samples else get_layout(eval_layout)
    target = get_layout(eval_layout)
    aug = AugmentConfig.no_augmentation(input_size)
    rng = np.random.default_rng(0)
    load = ImageCache(8)
    net = unwrap_model(model)
    was_training = net.training
    net.eval()
    results = []
    try:
        for start in range(0, len(samples), batch_size):
            chunk = samples[start:start + batch_size]
            crops = [augment_sample(load(s.image_path), s, aug, rng) for s in chunk]
            images = np.stack([c.image for c in crops])
            with torch.no_grad():
                raw = net(torch.from_numpy(images)).float().numpy()
                if flip:
                    raw_f = net(torch.from_numpy(flip_crops(images))).float().numpy()
                    raw = flip_average(raw, raw_f, layout)
            coords, scores = codec.decode(raw)
            stride = input_size[1] / raw.shape[-1]
            for sample, crop, xy, sc in zip(chunk, crops, coords, scores):
                points = apply_affine(xy * stride, invert_affine(crop.crop_from_img))
                points, sc = convert(points, sc, layout, target)
                kp = np.concatenate([points, sc[:, None]], axis=1)
                results.append({"image_id": sample.image_id, "category_id": 1,
                                "keypoints": kp.ravel().tolist(),
                                "score": float(np.mean(sc))})
    finally:
        net.train(was_training)
    if target.name == "coco_wholebody133":
        parts = wholebody_ap(gt, results, target.sigmas)
        return {"AP": parts["wholebody"], **{f"AP_{k}": v for k, v in parts.items()}}
    return keypoint_ap(gt, results, target.sigmas)


def plot_history(history: Sequence[Mapping[str, float]], path: str | Path,
                 size: tuple[int, int] = (900, 360)) -> Path:
    """Draw training loss and validation AP per epoch into a PNG (OpenCV, no matplotlib).

    Args:
        history: one mapping per epoch with ``"epoch"``, ``"loss"`` and optionally ``"AP"``.
        path: output PNG.
        size: ``(width, height)`` in pixels.

    Returns:
        The path written.
    """
    width, height = size
    canvas = np.full((height, width, 3), 255, np.uint8)
    panels = [("train loss", "loss", (200, 60, 20)), ("val AP", "AP", (30, 140, 30))]
    panel_w = width // 2
    for p, (title, key, colour) in enumerate(panels):
        x0, x1 = p * panel_w + 60, (p + 1) * panel_w - 20
        y0, y1 = 40, height - 40
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (0, 0, 0), 1)
        cv2.putText(canvas, title, (x0, y0 - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1,
                    cv2.LINE_AA)
        points = [(float(h["epoch"]), float(h[key])) for h in history
                  if key in h and h[key] is not None and math.isfinite(float(h[key]))]
        if not points:
            cv2.putText(canvas, "no data", (x0 + 10, (y0 + y1) // 2), cv2.FONT_HERSHEY_SIMPLEX,
                        0.5, (120, 120, 120), 1, cv2.LINE_AA)
            continue
        xs = np.array([q[0] for q in points])
        ys = np.array([q[1] for q in points])
        lo, hi = (0.0, 1.0) if key == "AP" else (float(ys.min()), float(ys.max()))
        if hi - lo < 1e-12:
            lo, hi = lo - 0.5, hi + 0.5
        xlo, xhi = float(xs.min()), float(max(xs.max(), xs.min() + 1))
        px = x0 + (xs - xlo) / (xhi - xlo) * (x1 - x0)
        py = y1 - (ys - lo) / (hi - lo) * (y1 - y0)
        pts = np.stack([px, py], 1).round().astype(np.int32)
        cv2.polylines(canvas, [pts.reshape(-1, 1, 2)], False, colour, 2, cv2.LINE_AA)
        for q in pts:
            cv2.circle(canvas, (int(q[0]), int(q[1])), 3, colour, -1, cv2.LINE_AA)
        for value, yy in ((hi, y0), (lo, y1)):
            cv2.putText(canvas, f"{value:.3g}", (p * panel_w + 4, yy + 4),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        for value, xx in ((xlo, x0), (xhi, x1)):
            cv2.putText(canvas, f"{value:.0f}", (xx - 8, y1 + 18), cv2.FONT_HERSHEY_SIMPLEX,
                        0.4, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(canvas, "epoch", ((x0 + x1) // 2 - 20, y1 + 32), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, (0, 0, 0), 1, cv2.LINE_AA)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), canvas):
        raise OSError(f"could not write the plot to {path}")
    return path
