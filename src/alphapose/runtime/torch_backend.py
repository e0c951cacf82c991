"""PyTorch runtime: run an ``nn.Module`` on numpy crops (CPU)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from alphapose.runtime.base import check_batch

__all__ = ["TorchBackend"]


class TorchBackend:
    """Runs a pose network with ``torch.inference_mode``.

    Args:
        module: ``crops (N, 3, H, W) -> raw maps (N, K, h, w)``; it is put in eval mode. A tuple
            or list output is reduced to its first element.
        channels_last: convert the module's weights (in place) and the input to the
            channels-last memory format (sometimes faster for convolutions on CPU; slower for
            FastPose on the machine where ``bench/pose_backends.py`` was run).
        num_threads: if given, calls ``torch.set_num_threads`` (a process-wide setting).

    Example:
        >>> backend = TorchBackend(network)                          # doctest: +SKIP
        >>> raw = backend(np.zeros((1, 3, 256, 192), np.float32))    # doctest: +SKIP
    """

    name = "torch"

    def __init__(self, module: nn.Module, *, channels_last: bool = False,
                 num_threads: int | None = None) -> None:
        self.channels_last = channels_last
        if num_threads is not None:
            if num_threads < 1:
                raise ValueError(f"num_threads: expected >= 1, got {num_threads}")
            torch.set_num_threads(num_threads)
        self.load(module)

    def load(self, module: nn.Module) -> None:
        """Use ``module`` (in eval mode) from now on."""
        if not isinstance(module, nn.Module):
            raise TypeError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
        module.eval()
        if self.channels_last:
            module = module.to(memory_format=torch.channels_last)
        self.module = module

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Raw output maps for ``batch``.

        Args:
            batch: ``(N, 3, H, W)`` float32 crops.

        Returns:
            ``(N, K, h, w)`` float32 raw maps.
        """
        x = torch.from_numpy(check_batch(batch))
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            out = self.module(x)
            if isinstance(out, (tuple, list)):
                out = out[0]
            return out.float().contiguous().numpy().copy()
