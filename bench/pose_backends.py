"""Crops per second of FastPose-50 (256x192, COCO-17) under torch and onnxruntime on this CPU.

A randomly initialised FastPose-50 (seeded; speed does not depend on the weights) is exported to
ONNX; the backends first show that they agree on the raw maps, then run batches of 1 and 8 crops.
Rounds alternate between the backends, so a busy neighbour process slows all alike; the figure
per backend is the best round (the least disturbed one), the median is printed beside it.

* ``torch``: ``TorchBackend`` (``torch.inference_mode``, ``torch.set_num_threads(threads)``),
  the default contiguous (NCHW) memory format, as ``--backend torch`` runs it;
* ``torch-cl``: the same with ``channels_last=True``;
* ``onnx``: ``OnnxBackend`` (all graph optimisations incl. NCHWc layout and conv+BN fusion,
  ``intra_op_num_threads = threads``).

Last line: ``torch_crops_per_s=... onnx_crops_per_s=... ratio=...`` (batch 8), where torch is the
default ``torch`` backend; the line before it gives the ratio to the faster torch variant.

Usage: ``.venv/bin/python bench/pose_backends.py [--threads 2] [--rounds 7] [--no-channels-last]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from alphapose.models.fastpose import FastPose
from alphapose.runtime.onnx_backend import OnnxBackend, export_onnx
from alphapose.runtime.torch_backend import TorchBackend

INPUT_SIZE = (256, 192)


def build_model(seed: int = 0) -> torch.nn.Module:
    """FastPose-50, COCO-17, with random weights and non-trivial BN statistics."""
    torch.manual_seed(seed)
    model = FastPose(17, depth=50)
    generator = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=generator) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
    return model.eval()


def crops_per_second(run: Callable[[np.ndarray], np.ndarray], batch: np.ndarray,
                     min_seconds: float) -> float:
    """Crops per second of ``run(batch)`` over at least ``min_seconds`` (and 2 calls)."""
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < min_seconds:
        run(batch)
        calls += 1
    return calls * len(batch) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per backend")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per batch size")
    parser.add_argument("--seconds", type=float, default=1.5, help="minimum time per round")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--no-channels-last", action="store_true",
                        help="skip the channels-last torch variant")
    parser.add_argument("--onnx", type=Path, help="keep the exported model at this path")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model = build_model()
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, args.onnx or Path(tmp) / "fastpose50.onnx", INPUT_SIZE)
        backends: dict[str, Callable[[np.ndarray], np.ndarray]] = {"torch": TorchBackend(model)}
        if not args.no_channels_last:
            backends["torch-cl"] = TorchBackend(build_model(), channels_last=True)
        backends["onnx"] = OnnxBackend(path, num_threads=args.threads)
        rng = np.random.default_rng(0)
        probe = rng.uniform(-0.5, 0.5, (2, 3, *INPUT_SIZE)).astype(np.float32)
        reference = backends["torch"](probe)
        diffs = ", ".join(f"{name} {float(np.abs(run(probe) - reference).max()):.1e}"
                          for name, run in backends.items() if name != "torch")
        print(f"torch {torch.__version__}, onnxruntime {ort_version()}, threads={args.threads}; "
              f"max |raw - torch raw|: {diffs}")

        best: dict[tuple[str, int], float] = {}
        for batch_size in args.batch_sizes:
            batch = rng.uniform(-0.5, 0.5, (batch_size, 3, *INPUT_SIZE)).astype(np.float32)
            for run in backends.values():
                run(batch)  # warm-up: allocation, weight pre-packing
            rounds: dict[str, list[float]] = {name: [] for name in backends}
            for _ in range(args.rounds):
                for name, run in backends.items():
                    rounds[name].append(crops_per_second(run, batch, args.seconds))
            for name, values in rounds.items():
                best[name, batch_size] = max(values)
                print(f"batch {batch_size:2d} {name:8s}: {max(values):6.1f} crops/s best, "
                      f"{statistics.median(values):6.1f} median of {len(values)} rounds")
            print(f"batch {batch_size:2d} ratio onnx/torch: "
                  f"{best['onnx', batch_size] / best['torch', batch_size]:.2f}")

    last = 8 if 8 in args.batch_sizes else args.batch_sizes[-1]
    fastest = max((name for name in backends if name.startswith("torch")),
                  key=lambda name: best[name, last])
    print(f"batch {last} ratio onnx/{fastest} (fastest torch variant): "
          f"{best['onnx', last] / best[fastest, last]:.2f}")
    t, o = best["torch", last], best["onnx", last]
    print(f"torch_crops_per_s={t:.1f} onnx_crops_per_s={o:.1f} ratio={o / t:.2f}")


def ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


if __name__ == "__main__":
    main()
