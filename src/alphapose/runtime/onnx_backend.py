"""ONNX runtime: export a torch network (optionally with its codec's decode) and run the ``.onnx``
file with onnxruntime on CPU.

Running needs only ``onnxruntime`` (``pip install onnxruntime``); exporting also needs torch and
``onnx``. Both are imported inside the functions that use them.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from alphapose.runtime.base import check_batch

if TYPE_CHECKING:
    from torch import nn

    from alphapose.codecs import Codec

__all__ = ["DECODED_OUTPUTS", "RAW_OUTPUT", "OnnxBackend", "export_onnx"]

#: name of the graph input
INPUT_NAME = "crops"
#: name of the raw-maps output (always the first output)
RAW_OUTPUT = "heatmaps"
#: names of the decoded outputs added by ``export_onnx(..., codec=...)``
DECODED_OUTPUTS = ("keypoints", "keypoint_scores")

_OPTIMIZATION_LEVELS = ("disable", "basic", "extended", "all")


def export_onnx(module: nn.Module, path: str | Path, input_size: tuple[int, int] = (256, 192),
                *, codec: Codec | None = None, dynamic_batch: bool = True,
                opset: int = 17) -> Path:
    """Write ``module`` to an ``.onnx`` file.

    The graph has one input ``"crops"`` ``(N, 3, H, W)`` float32 and the output ``"heatmaps"``
    (the raw maps). With ``codec`` it also outputs the decoded ``"keypoints"`` ``(N, K, 2)``
    (heatmap pixels, see :mod:`alphapose.codecs`) and ``"keypoint_scores"`` ``(N, K)``.

    Uses torch's TorchScript-based exporter (``dynamo=False``), which needs no extra packages.

    Args:
        module: ``crops -> raw maps`` network (exported in eval mode; its mode is restored).
        path: destination file.
        input_size: ``(H, W)`` of the crops.
        codec: also export the decode of this codec.
        dynamic_batch: make the batch dimension dynamic (else fixed at 1).
        opset: ONNX opset version.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    try:
        import torch
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("exporting to ONNX needs torch and onnx: "
                          "pip install alphapose[torch,onnx]") from error
    from alphapose.codecs_torch import DecodeHead

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    if len(input_size) != 2 or min(input_size) < 1:
        raise ValueError(f"input_size: expected (H, W) with positive sides, got {input_size}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    network: torch.nn.Module = module if codec is None else DecodeHead(module, codec)
    outputs = [RAW_OUTPUT] if codec is None else [RAW_OUTPUT, *DECODED_OUTPUTS]
    dynamic_axes = {name: {0: "batch"} for name in [INPUT_NAME, *outputs]} if dynamic_batch \
        else None
    was_training = module.training
    module.eval()
    example = torch.zeros(1, 3, *input_size)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            # the TorchScript exporter announces its deprecation on every call
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(network, (example,), str(path), input_names=[INPUT_NAME],
                              output_names=outputs, dynamic_axes=dynamic_axes,
                              opset_version=opset, do_constant_folding=True, dynamo=False)
    finally:
        module.train(was_training)
    return path


class OnnxBackend:
    """Runs an ``.onnx`` pose network with onnxruntime on CPU.

    Args:
        path: the model file (e.g. from :func:`export_onnx`).
        num_threads: intra-op threads.
        optimization: graph optimisation level: ``"disable"``, ``"basic"``, ``"extended"`` or
            ``"all"`` (constant folding, conv+BN fusion, layout transforms).
        allow_spinning: let idle worker threads spin (lower latency, more CPU use).

    Example:
        >>> backend = OnnxBackend("fastpose.onnx")                   # doctest: +SKIP
        >>> raw = backend(np.zeros((8, 3, 256, 192), np.float32))   # doctest: +SKIP
    """

    name = "onnx"

    def __init__(self, path: str | Path, *, num_threads: int = 2, optimization: str = "all",
                 allow_spinning: bool = True) -> None:
        if num_threads < 1:
            raise ValueError(f"num_threads: expected >= 1, got {num_threads}")
        if optimization not in _OPTIMIZATION_LEVELS:
            raise ValueError(f"optimization: expected one of {_OPTIMIZATION_LEVELS}, "
                             f"got {optimization!r}")
        self.num_threads = num_threads
        self.optimization = optimization
        self.allow_spinning = allow_spinning
        self.load(path)

    def load(self, path: str | Path) -> None:
        """Open ``path`` in a new inference session."""
        try:
            import onnxruntime as ort
        except ImportError as error:
            raise ImportError("the ONNX backend needs onnxruntime: pip install onnxruntime "
                              "(or alphapose[onnx])") from error
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"path: ONNX model {path} does not exist")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[self.optimization]
        options.add_session_config_entry("session.intra_op.allow_spinning",
                                         "1" if self.allow_spinning else "0")
        self.path = path
        self.session = ort.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])
        (self._input,) = self.session.get_inputs()
        self.output_names = tuple(o.name for o in self.session.get_outputs())

    @property
    def input_shape(self) -> tuple[int | str | None, ...]:
        """Input shape as stored in the graph (a dynamic batch shows as ``"batch"``)."""
        return tuple(self._input.shape)

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """All outputs for ``batch``, by name (``"heatmaps"`` and, with a decode, the others).

        Args:
            batch: ``(N, 3, H, W)`` float32 crops.
        """
        batch = self._checked(batch)
        values = self.session.run(None, {self._input.name: batch})
        return dict(zip(self.output_names, values, strict=True))

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Raw output maps ``(N, K, h, w)`` float32 (the graph's first output).

        Args:
            batch: ``(N, 3, H, W)`` float32 crops.
        """
        batch = self._checked(batch)
        (raw,) = self.session.run([self.output_names[0]], {self._input.name: batch})
        return np.asarray(raw, np.float32)

    def _checked(self, batch: np.ndarray) -> np.ndarray:
        batch = check_batch(batch)
        expected = self._input.shape
        if len(expected) != batch.ndim:
            raise ValueError(f"batch: {self.path.name} expects a {len(expected)}-D input "
                             f"{tuple(expected)}, got shape {batch.shape}")
        for axis, (want, got) in enumerate(zip(expected, batch.shape, strict=True)):
            if isinstance(want, int) and want != got:
                hint = "; export with dynamic_batch=True" if axis == 0 else ""
                raise ValueError(f"batch: {self.path.name} expects shape {tuple(expected)}, "
                                 f"got {batch.shape} (axis {axis} differs){hint}")
        return batch
