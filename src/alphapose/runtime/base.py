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

from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Backend", "check_batch"]


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
