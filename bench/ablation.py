"""SIKR ablation on real crops: heatmap vs soft-argmax integral vs SIKR without ASG vs full SIKR.

The 12 people with keypoints of the COCO sample in ../shared/data (mmpose/coco/test_coco.json,
4 val2017 images) are cropped around their ground-truth boxes (the official test-time crop, no
augmentation) at a small input size. For each method a small FastPose (SE-ResNet-18 trunk) is
trained from the same random initialisation, with the same data, optimiser and number of steps,
on CPU; then its train-set COCO keypoint AP is computed with pycocotools
(:func:`alphapose.evaluate.keypoint_ap`) against the ground truth, decoding each method with its
own decoder:

  (a) heatmap       -- Gaussian heatmaps, weighted MSE, argmax + quarter-cell decode;
  (b) softmax integral -- one-step softmax normalisation, plain integral gradient;
  (c) SIKR, no ASG  -- two-step (sigmoid, then divide by the sum) normalisation, plain gradient;
  (d) SIKR          -- two-step normalisation with the amplitude-symmetric gradient.

Usage:
    .venv/bin/python bench/ablation.py [--steps 400] [--size 128x96] [--seed 0]

The last line is ``ap_heatmap=... ap_softmax_integral=... ap_sikr_no_asg=... ap_sikr=...``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from alphapose.codecs import HeatmapCodec, IntegralRegressionCodec
from alphapose.data.augment import AugmentConfig, augment_sample
from alphapose.data.datasets import load_coco_keypoints
from alphapose.evaluate import keypoint_ap
from alphapose.losses import PoseLoss
from alphapose.models.fastpose import FastPose
from alphapose.skeletons import get_layout
from alphapose.transforms import apply_affine, invert_affine

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mmpose" / "coco"

METHODS = {
    "heatmap": (PoseLoss("heatmap"), HeatmapCodec()),
    "softmax_integral": (PoseLoss("integral", norm_type="softmax", symmetric_gradient=False),
                         IntegralRegressionCodec("softmax")),
    "sikr_no_asg": (PoseLoss("integral", norm_type="sigmoid", symmetric_gradient=False),
                    IntegralRegressionCodec("sigmoid")),
    "sikr": (PoseLoss("integral", norm_type="sigmoid", symmetric_gradient=True),
             IntegralRegressionCodec("sigmoid")),
}


def build_crops(size: tuple[int, int]):
    import cv2

    samples = load_coco_keypoints(DATA / "test_coco.json")
    cfg = AugmentConfig.no_augmentation(size)
    rng = np.random.default_rng(0)
    crops = [augment_sample(cv2.imread(str(s.image_path)), s, cfg, rng) for s in samples]
    return samples, crops


def evaluate(model: torch.nn.Module, codec, samples, crops, gt: dict, stride: float) -> float:
    model.eval()
    with torch.no_grad():
        raw = model(torch.from_numpy(np.stack([c.image for c in crops]))).numpy()
    coords, scores = codec.decode(raw.astype(np.float32))
    results = []
    for sample, crop, xy, sc in zip(samples, crops, coords, scores):
        points = apply_affine(xy * stride, invert_affine(crop.crop_from_img))
        kp = np.concatenate([points, sc[:, None]], axis=1)
        results.append({"image_id": sample.image_id, "category_id": 1,
                        "keypoints": kp.ravel().tolist(), "score": float(np.mean(sc))})
    model.train()
    return keypoint_ap(gt, results, get_layout("coco17").sigmas)["AP"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="training steps per method")
    parser.add_argument("--size", default="128x96", help="input HxW (multiples of 32)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not (DATA / "test_coco.json").is_file():
        print(f"test data not found at {DATA}", file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    samples, crops = build_crops(size)
    gt = json.loads((DATA / "test_coco.json").read_text())
    images = torch.from_numpy(np.stack([c.image for c in crops]))
    stride = size[1] / (size[1] // 4)
    keypoints = torch.from_numpy(np.stack([c.keypoints for c in crops])) / stride
    weights = torch.from_numpy(np.stack([c.weights for c in crops]))
    print(f"{len(samples)} people, {int(weights.sum())} labelled keypoints, input {size}, "
          f"{args.steps} Adam steps (lr {args.lr}) per method")
    torch.manual_seed(args.seed)
    initial = FastPose(17, depth=18, conv_dim=64, input_size=size).state_dict()
    aps = {}
    start_all = time.perf_counter()
    for name, (loss_fn, codec) in METHODS.items():
        model = FastPose(17, depth=18, conv_dim=64, input_size=size)
        model.load_state_dict(initial)
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        start = time.perf_counter()
        for step in range(args.steps):
            loss = loss_fn(model(images), keypoints, weights)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        aps[name] = evaluate(model, codec, samples, crops, gt, stride)
        print(f"{name:17s} loss {loss.item():.5f}  train AP {aps[name]:.3f}  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"total {time.perf_counter() - start_all:.0f} s")
    print(" ".join(f"ap_{name}={ap:.3f}" for name, ap in aps.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
