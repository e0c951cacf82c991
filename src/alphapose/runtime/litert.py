"""LiteRT (TensorFlow Lite) runtime for the embedded default's ``.tflite`` models (XNNPACK, CPU)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["LiteRTModel", "native_stderr_silenced"]


class LiteRTModel:
    """A ``.tflite`` model with named outputs.

    Args:
        path: the model file.
        num_threads: CPU threads for the interpreter.
        skip_outputs: positions of outputs the caller does not use: returned as ``None``
            instead of a copy (e.g. the body model's 256x256 segmentation mask).

    Example:
        >>> model = LiteRTModel(get_model_file("blaze-face-mesh"))   # doctest: +SKIP
        >>> outputs = model(np.zeros((1, 192, 192, 3), np.float32))  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, num_threads: int = 2,
                 skip_outputs: tuple[int, ...] = ()) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as error:  # pragma: no cover - a core dependency
            raise ImportError("the embedded default needs ai-edge-litert: "
                              "pip install ai-edge-litert") from error
        self.path = Path(path)
        with native_stderr_silenced():  # "INFO: Created TensorFlow Lite XNNPACK delegate"
            self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
            self._interpreter.allocate_tensors()
        (self._input,) = self._interpreter.get_input_details()
        self._outputs = self._interpreter.get_output_details()
        if any(not 0 <= i < len(self._outputs) for i in skip_outputs):
            raise ValueError(f"{self.path.name}: skip_outputs {skip_outputs} out of range for "
                             f"{len(self._outputs)} outputs")
        self._output_indices = [None if i in skip_outputs else int(o["index"])
                                for i, o in enumerate(self._outputs)]
        self._input_index = int(self._input["index"])
        self._input_shape = tuple(int(s) for s in self._input["shape"])
        self._lock = threading.Lock()  # one interpreter runs one invoke at a time
        self.invocations = 0
        self.invoke_seconds = 0.0  # wall time inside invoke
        self.invoke_cpu_seconds = 0.0  # CPU time of the invoking thread inside invoke

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of the input tensor, e.g. ``(1, 224, 224, 3)``."""
        return self._input_shape

    @property
    def output_shapes(self) -> list[tuple[int, ...]]:
        return [tuple(int(s) for s in o["shape"]) for o in self._outputs]

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run one input tensor.

        Args:
            batch: float32 tensor of :attr:`input_shape`.

        Returns:
            The output tensors, in the model's output order, as new arrays (``None`` at the
            positions in ``skip_outputs``).
        """
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.shape != self._input_shape:
            raise ValueError(f"{self.path.name}: expected input shape {self._input_shape}, "
                             f"got {batch.shape}")
        with self._lock:
            self._interpreter.set_tensor(self._input_index, batch)
            start, cpu_start = time.perf_counter(), time.thread_time()
            self._interpreter.invoke()
            self.invoke_seconds += time.perf_counter() - start
            self.invoke_cpu_seconds += time.thread_time() - cpu_start
            self.invocations += 1
            get = self._interpreter.get_tensor
            return [None if index is None else get(index).copy()
                    for index in self._output_indices]


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what native code writes to file descriptor 2 to /dev/null meanwhile (LiteRT prints
    an INFO line when it creates its CPU delegate; errors still come as Python exceptions).
    ``ALPHAPOSE_DEBUG=1`` keeps it."""
    if os.environ.get("ALPHAPOSE_DEBUG"):
        yield
        return
    with _STDERR_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no usable fd 2 (embedded interpreters)
            yield
            return
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


_STDERR_LOCK = threading.Lock()
