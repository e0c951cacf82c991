"""The backend protocol: one class per runtime, each with ``load`` and ``__call__``.

A backend runs a pose network on a batch of preprocessed crops and returns its raw output maps as
numpy; it knows nothing of crops, codecs or images. Implementations:
:class:`alphapose.runtime.torch_backend.TorchBackend` (an ``nn.Module``) and
:class:`alphapose.runtime.onnx_backend.OnnxBackend` (an ``.onnx`` file, onnxruntime). Their
optional imports happen inside them.

Example:
    >>> backend = OnnxBackend("fastpose.onnx")                   # doctest: +SKIP
    >>> raw = backend(np.zeros((8, 3, 256, 192), np.float32))   # doctest: +SKIP
    >>> raw.shape                                               # doctest: +SKIP
    (8, 17, 64, 48)
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from torch import nn

__all__ = ["BACKENDS", "Backend", "check_batch", "create_backend"]

#: Names accepted by :func:`create_backend` (and ``--backend``).
BACKENDS: tuple[str, ...] = ("torch", "onnx")


@runtime_checkable
class Backend(Protocol):
    """A network runtime.

    ``load(source)`` prepares the network (a module, a file path, ...); constructors call it.
    ``__call__(batch)`` takes ``(N, C, H, W)`` float32 crops and returns the raw output maps
    ``(N, K, h, w)`` float32.
    """

    def load(self, source: Any) -> None: ...

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


def check_batch(batch: np.ndarray, name: str = "batch") -> np.ndarray:
    """A C-contiguous float32 ``(N, C, H, W)`` view or copy of ``batch``.

    Raises:
        TypeError: ``batch`` is not a numeric array.
        ValueError: ``batch`` is not 4-D or is empty.
    """
    array = np.asarray(batch)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"{name}: expected a float32 array, got dtype {array.dtype}")
    if array.ndim != 4:
        raise ValueError(f"{name}: expected shape (N, C, H, W), got {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one crop, got shape {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float32)


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
