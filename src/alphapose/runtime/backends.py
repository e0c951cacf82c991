"""Choosing a backend by name (``--backend torch|onnx``).

:mod:`alphapose.runtime.base` holds the protocol the backends implement; this module is the one
that knows every backend (they import the protocol module, never this one).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from alphapose.runtime.base import Backend

if TYPE_CHECKING:
    from torch import nn

__all__ = ["BACKENDS", "create_backend"]

#: Names accepted by :func:`create_backend` (and ``--backend``).
BACKENDS: tuple[str, ...] = ("torch", "onnx")


def create_backend(kind: str, module: nn.Module | None = None, *,
                   input_size: tuple[int, int] = (256, 192),
                   onnx_path: str | Path | None = None, num_threads: int = 2) -> Backend:
    """A backend by name, for a torch network or an existing ``.onnx`` file.

    * ``"torch"``: :class:`~alphapose.runtime.torch_backend.TorchBackend` around ``module``
      (``torch.set_num_threads(num_threads)``).
    * ``"onnx"``: if ``onnx_path`` names an existing file it is used as is (``module`` may be
      None); otherwise ``module`` is exported first, to ``onnx_path`` or to a temporary file
      removed once loaded.

    Args:
        kind: one of :data:`BACKENDS`.
        module: the network (``crops -> raw maps``).
        input_size: ``(H, W)`` of the crops (for the export).
        onnx_path: where the ONNX model is, or is to be written.
        num_threads: CPU threads.

    Raises:
        ValueError: unknown ``kind`` (the message lists the valid ones) or nothing to run.
    """
    if kind not in BACKENDS:
        raise ValueError(f"kind: expected one of {BACKENDS}, got {kind!r}")
    if kind == "torch":
        if module is None:
            raise ValueError("module: the torch backend needs a torch network")
        from alphapose.runtime.torch_backend import TorchBackend

        return TorchBackend(module, num_threads=num_threads)
    from alphapose.runtime.onnx_backend import OnnxBackend, export_onnx

    if onnx_path is not None and Path(onnx_path).is_file():
        return OnnxBackend(onnx_path, num_threads=num_threads)
    if module is None:
        raise ValueError(f"module: no network to export and no ONNX file at {onnx_path}")
    if onnx_path is not None:
        return OnnxBackend(export_onnx(module, onnx_path, input_size), num_threads=num_threads)
    with tempfile.TemporaryDirectory(prefix="alphapose-onnx-") as tmp:
        path = export_onnx(module, Path(tmp) / "model.onnx", input_size)
        return OnnxBackend(path, num_threads=num_threads)
