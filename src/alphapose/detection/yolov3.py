"""YOLOv3-SPP person detector (AlphaPose's default): darknet ``.cfg`` + ``.weights`` in torch.

The network is built from a darknet configuration file (the user's ``yolov3-spp.cfg``) and
filled from a darknet ``.weights`` file; no other format is involved. Supported sections:
``[net]`` (ignored but for ``channels``), ``[convolutional]``, ``[shortcut]``, ``[route]``
(1, 2 or 4 layers, e.g. the SPP concatenation), ``[upsample]``, ``[maxpool]`` and ``[yolo]``.

Darknet ``.weights`` layout: a header of three little-endian int32 (major, minor, revision)
and the count of images seen (int64 when ``major * 10 + minor >= 2`` and both are below 1000,
else int32), then float32 values, convolution after convolution in cfg order: with batch
normalisation ``beta (bias), gamma (scale), running mean, running variance`` then the kernel
``(out, in / groups, k, k)``; without it, the conv bias then the kernel.

Settings and conventions follow AlphaPose's ``detector/yolo_api.py`` / ``yolo_cfg.py``:

* Preprocessing: letterbox to ``S x S`` (608): ``r = min(S / w, S / h)``, resize to
  ``(int(w * r), int(h * r))`` with **bicubic** interpolation, centred on a canvas filled with
  **128** (offset ``((S - new_w) // 2, (S - new_h) // 2)``), BGR -> **RGB**, divided by 255.
* Decoding of a ``[yolo]`` layer with grid ``G`` (stride ``s = S // G``) and anchors in input
  pixels: centre ``((sigmoid(tx) + gx) * s, (sigmoid(ty) + gy) * s)``, size
  ``(exp(tw) * anchor_w, exp(th) * anchor_h)``; objectness and class scores are independent
  sigmoids. Rows run over cells row-major, then anchors, then layers in cfg order.
* Keep ``objectness > conf_threshold`` (0.1; AlphaPose uses 0.3 when tracking) whose best class
  is ``person`` (0); sort by objectness; NMS with the **+1 pixel** area convention suppressing
  IoU **>=** 0.6 (0.55 when more than 100 boxes survive); the score is the objectness.
* Back to the image: subtract ``((S - r w) / 2, (S - r h) / 2)``, divide by ``r`` and clamp to
  ``[0, W] x [0, H]`` (the official mapping; coordinate 0 is the image's top-left edge).
* As in AlphaPose, BatchNorm uses eps 1e-5 and stride-1 max-pools pad with zeros.

Decoding, filtering and NMS run in numpy (:func:`decode_outputs`, :func:`postprocess`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from alphapose.codecs import sigmoid
from alphapose.detection import check_yolo_config
from alphapose.detection.batched import BatchedTorchDetector
from alphapose.detection.nms import nms
from alphapose.structures import Detections, check_image
from alphapose.transforms import PastedLetterbox, paste_letterbox

__all__ = [
    "Darknet",
    "DarknetHeader",
    "DarknetSection",
    "YOLOv3Config",
    "YOLOv3Detector",
    "YoloLayer",
    "decode_outputs",
    "load_darknet_weights",
    "nms_plus_one",
    "parse_darknet_cfg",
    "postprocess",
    "preprocess",
    "read_darknet_cfg",
    "read_darknet_weights",
]

_PAD_VALUE = 128
_SUPPORTED = ("convolutional", "shortcut", "route", "upsample", "maxpool", "yolo")


# -- cfg parsing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DarknetSection:
    """One ``[type]`` section of a darknet cfg: its options as strings and its line number."""

    kind: str
    options: dict[str, str] = field(default_factory=dict)
    line: int = 0

    def get(self, key: str, default: str | None = None) -> str:
        if key in self.options:
            return self.options[key]
        if default is None:
            raise ValueError(f"darknet cfg line {self.line}: [{self.kind}] needs '{key}='")
        return default

    def get_int(self, key: str, default: int | None = None) -> int:
        value = self.get(key, None if default is None else str(default))
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"darknet cfg line {self.line}: [{self.kind}] {key}={value!r} is "
                             f"not an integer") from None

    def get_ints(self, key: str) -> list[int]:
        try:
            return [int(v) for v in self.get(key).split(",") if v.strip()]
        except ValueError:
            raise ValueError(f"darknet cfg line {self.line}: [{self.kind}] {key}= must be a "
                             f"comma-separated list of integers, got "
                             f"{self.get(key)!r}") from None


def parse_darknet_cfg(text: str) -> list[DarknetSection]:
    """Split darknet cfg text into sections.

    Blank lines and lines starting with ``#`` or ``;`` are skipped; ``key = value`` pairs keep
    their last value; whitespace around keys and values is removed.

    Args:
        text: the cfg file's content.

    Returns:
        The sections in order (the ``[net]`` section first, if present).

    Example:
        >>> [s.kind for s in parse_darknet_cfg("[net]\\nchannels=3\\n[maxpool]\\nsize=2\\n")]
        ['net', 'maxpool']
    """
    sections: list[DarknetSection] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise ValueError(f"darknet cfg line {number}: unterminated section header "
                                 f"{line!r}")
            sections.append(DarknetSection(line[1:-1].strip().lower(), {}, number))
        elif "=" in line:
            if not sections:
                raise ValueError(f"darknet cfg line {number}: option {line!r} before any "
                                 f"[section]")
            key, value = line.split("=", 1)
            sections[-1].options[key.strip()] = value.strip()
        else:
            raise ValueError(f"darknet cfg line {number}: expected '[section]' or 'key=value', "
                             f"got {line!r}")
    return sections


def read_darknet_cfg(path: str | Path) -> list[DarknetSection]:
    """:func:`parse_darknet_cfg` of a file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"cfg_path: no such file: {path}")
    return parse_darknet_cfg(path.read_text())


# -- layers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class YoloLayer:
    """One ``[yolo]`` output: ``anchors`` ``(A, 2)`` (width, height) in input pixels (the cfg's
    ``anchors`` picked by ``mask``) and the class count."""

    anchors: np.ndarray
    num_classes: int

    @property
    def channels(self) -> int:
        return len(self.anchors) * (5 + self.num_classes)


_ACTIVATIONS = {
    "linear": nn.Identity,
    "leaky": lambda: nn.LeakyReLU(0.1, inplace=True),
    "relu": lambda: nn.ReLU(inplace=True),
    "logistic": nn.Sigmoid,
    "mish": nn.Mish,
    "swish": nn.SiLU,
}


def _activation(section: DarknetSection) -> nn.Module:
    name = section.get("activation", "linear")
    if name not in _ACTIVATIONS:
        raise ValueError(f"darknet cfg line {section.line}: activation={name!r} is not "
                         f"supported; valid: {', '.join(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()


class DarknetConv(nn.Module):
    """Convolution, optional BatchNorm (then the conv has no bias), activation."""

    def __init__(self, in_channels: int, section: DarknetSection) -> None:
        super().__init__()
        filters = section.get_int("filters")
        size = section.get_int("size", 1)
        stride = section.get_int("stride", 1)
        groups = section.get_int("groups", 1)
        padding = section.get_int("padding", 0)
        if section.get_int("pad", 0):
            padding = size // 2
        batch_norm = bool(section.get_int("batch_normalize", 0))
        if filters < 1 or size < 1 or stride < 1 or groups < 1 or in_channels % groups:
            raise ValueError(f"darknet cfg line {section.line}: [convolutional] filters="
                             f"{filters} size={size} stride={stride} groups={groups} does not "
                             f"fit {in_channels} input channels")
        self.conv = nn.Conv2d(in_channels, filters, size, stride, padding, groups=groups,
                              bias=not batch_norm)
        self.bn = nn.BatchNorm2d(filters) if batch_norm else None
        self.act = _activation(section)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return self.act(x)

    def darknet_tensors(self) -> list[torch.Tensor]:
        """The tensors in ``.weights`` order."""
        if self.bn is not None:
            head = [self.bn.bias, self.bn.weight, self.bn.running_mean, self.bn.running_var]
        else:
            head = [self.conv.bias]
        return [*head, self.conv.weight]


class _MaxPool(nn.Module):
    """Max-pool; with stride 1 the input is zero-padded (as AlphaPose does) to keep its size."""

    def __init__(self, size: int, stride: int) -> None:
        super().__init__()
        self.size, self.stride = size, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            before = (self.size - 1) // 2
            after = self.size - 1 - before
            x = nn.functional.pad(x, (before, after, before, after), value=0.0)
        return nn.functional.max_pool2d(x, self.size, self.stride)


class _Upsample(nn.Module):
    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.interpolate(x, scale_factor=float(self.factor), mode="nearest")


class _Passthrough(nn.Module):
    """Route, shortcut and yolo sections: no parameters; the wiring lives in :class:`Darknet`."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def extra_repr(self) -> str:
        return self.kind


class Darknet(nn.Module):
    """A darknet network built from cfg sections.

    ``layers[i]`` is the module of the ``i``-th section after ``[net]`` (darknet's layer
    index, which ``[route] layers=`` and ``[shortcut] from=`` refer to): a
    :class:`DarknetConv` (``layers.<i>.conv``, ``layers.<i>.bn``) or a parameterless module.

    ``forward(images)`` takes ``(B, C, S, S)`` floats and returns, for each ``[yolo]`` section
    in order, its raw input map ``(B, A * (5 + classes), G, G)`` (decode with
    :func:`decode_outputs` and :attr:`yolo_layers`).

    Args:
        sections: parsed cfg (see :func:`read_darknet_cfg`).
    """

    def __init__(self, sections: Sequence[DarknetSection]) -> None:
        super().__init__()
        sections = list(sections)
        in_channels = 3
        if sections and sections[0].kind == "net":
            in_channels = sections[0].get_int("channels", 3)
            sections = sections[1:]
        if not sections:
            raise ValueError("darknet cfg: no layers")
        self.sections = sections
        self.layers = nn.ModuleList()
        self.yolo_layers: list[YoloLayer] = []
        self._wiring: list[tuple[str, tuple[int, ...]]] = []  # (kind, absolute inputs)
        channels: list[int] = []
        for i, section in enumerate(sections):
            previous = channels[i - 1] if i else in_channels
            kind = section.kind
            if kind not in _SUPPORTED:
                raise ValueError(f"darknet cfg line {section.line}: layer {i} [{kind}] is not "
                                 f"supported; valid: {', '.join(_SUPPORTED)}")
            sources: tuple[int, ...] = (i - 1,)
            if kind == "convolutional":
                module: nn.Module = DarknetConv(previous, section)
                out = module.conv.out_channels
            elif kind == "route":
                if "groups" in section.options:
                    raise ValueError(f"darknet cfg line {section.line}: [route] groups= is not "
                                     f"supported")
                sources = tuple(self._resolve(section, i, v) for v in section.get_ints("layers"))
                if len(sources) not in (1, 2, 4):
                    raise ValueError(f"darknet cfg line {section.line}: [route] takes 1, 2 or "
                                     f"4 layers, got {len(sources)}")
                module, out = _Passthrough("route"), sum(channels[s] for s in sources)
            elif kind == "shortcut":
                other = self._resolve(section, i, section.get_int("from"))
                if i == 0 or channels[other] != previous:
                    raise ValueError(f"darknet cfg line {section.line}: [shortcut] adds layer "
                                     f"{other} to layer {i - 1} with different channel counts")
                if section.get("activation", "linear") != "linear":
                    raise ValueError(f"darknet cfg line {section.line}: only linear shortcuts "
                                     f"are supported")
                sources, module, out = (i - 1, other), _Passthrough("shortcut"), previous
            elif kind == "upsample":
                module, out = _Upsample(section.get_int("stride", 2)), previous
            elif kind == "maxpool":
                size = section.get_int("size", 1)
                module, out = _MaxPool(size, section.get_int("stride", 1)), previous
            else:  # yolo
                layer = self._yolo_layer(section)
                if layer.channels != previous:
                    raise ValueError(f"darknet cfg line {section.line}: [yolo] with "
                                     f"{len(layer.anchors)} anchors and {layer.num_classes} "
                                     f"classes needs {layer.channels} input channels, the "
                                     f"previous layer gives {previous}")
                self.yolo_layers.append(layer)
                module, out = _Passthrough("yolo"), previous
            self.layers.append(module)
            self._wiring.append((kind, sources))
            channels.append(out)
        if not self.yolo_layers:
            raise ValueError("darknet cfg: no [yolo] layer")
        self.in_channels = in_channels
        # outputs read later by a route or shortcut are cached during forward
        self._keep = {s for kind, sources in self._wiring if kind in ("route", "shortcut")
                      for s in sources}

    @staticmethod
    def _resolve(section: DarknetSection, i: int, index: int) -> int:
        absolute = index if index >= 0 else i + index
        if not 0 <= absolute < i:
            raise ValueError(f"darknet cfg line {section.line}: layer {i} [{section.kind}] "
                             f"refers to layer {index}, outside 0..{i - 1}")
        return absolute

    @staticmethod
    def _yolo_layer(section: DarknetSection) -> YoloLayer:
        try:
            values = [float(v) for v in section.get("anchors").split(",") if v.strip()]
        except ValueError:
            raise ValueError(f"darknet cfg line {section.line}: [yolo] anchors= must be "
                             f"numbers") from None
        if len(values) % 2:
            raise ValueError(f"darknet cfg line {section.line}: [yolo] anchors= needs (w, h) "
                             f"pairs, got {len(values)} numbers")
        anchors = np.asarray(values, dtype=np.float64).reshape(-1, 2)
        mask = (section.get_ints("mask") if "mask" in section.options
                else list(range(len(anchors))))
        if any(not 0 <= m < len(anchors) for m in mask):
            raise ValueError(f"darknet cfg line {section.line}: [yolo] mask={mask} outside the "
                             f"{len(anchors)} anchors")
        return YoloLayer(anchors[mask], section.get_int("classes"))

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        outputs: dict[int, torch.Tensor] = {}
        results: list[torch.Tensor] = []
        x = images
        for i, (module, (kind, sources)) in enumerate(zip(self.layers, self._wiring)):
            if kind == "route":
                x = torch.cat([outputs[s] for s in sources], dim=1)
            elif kind == "shortcut":
                x = outputs[sources[0]] + outputs[sources[1]]
            elif kind == "yolo":
                results.append(x)
            else:
                x = module(x)
            if i in self._keep:
                outputs[i] = x
        return results

    def convolutions(self) -> list[DarknetConv]:
        """The convolution layers in cfg (= ``.weights``) order."""
        return [m for m in self.layers if isinstance(m, DarknetConv)]

    def darknet_value_count(self) -> int:
        """Number of float32 values a matching ``.weights`` file holds after its header."""
        return sum(t.numel() for conv in self.convolutions() for t in conv.darknet_tensors())


# -- weights ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DarknetHeader:
    """Header of a ``.weights`` file: version and images seen in training; ``size`` in bytes."""

    major: int
    minor: int
    revision: int
    seen: int
    size: int


def read_darknet_weights(path: str | Path) -> tuple[DarknetHeader, np.ndarray]:
    """Read a darknet ``.weights`` file.

    Returns:
        ``(header, values)``: the header and the ``(V,)`` float32 values after it.

    Raises:
        ValueError: missing file, truncated header, or a body that is not whole float32s.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"weights_path: no such file: {path}")
    data = path.read_bytes()
    if len(data) < 16:
        raise ValueError(f"{path}: {len(data)} bytes is too short for a darknet header")
    major, minor, revision = (int(v) for v in np.frombuffer(data, "<i4", count=3))
    if major * 10 + minor >= 2 and major < 1000 and minor < 1000:
        if len(data) < 20:
            raise ValueError(f"{path}: {len(data)} bytes is too short for a version "
                             f"{major}.{minor} darknet header (20 bytes)")
        seen, size = int(np.frombuffer(data, "<i8", count=1, offset=12)[0]), 20
    else:
        seen, size = int(np.frombuffer(data, "<i4", count=1, offset=12)[0]), 16
    body = len(data) - size
    if body % 4:
        raise ValueError(f"{path}: {body} bytes after the {size}-byte header are not a whole "
                         f"number of float32 values")
    values = np.frombuffer(data, "<f4", offset=size)
    return DarknetHeader(major, minor, revision, seen, size), values


def load_darknet_weights(model: Darknet, path: str | Path) -> DarknetHeader:
    """Fill ``model`` from a darknet ``.weights`` file.

    Raises:
        ValueError: the file's value count differs from what the cfg needs (both counts and
            byte sizes are named).
    """
    header, values = read_darknet_weights(path)
    needed = model.darknet_value_count()
    if values.size != needed:
        raise ValueError(f"{path}: has {values.size} float32 values ({values.size * 4} bytes) "
                         f"after its {header.size}-byte header, but the cfg's "
                         f"{len(model.convolutions())} convolutions need {needed} "
                         f"({needed * 4} bytes); cfg and weights do not belong together")
    offset = 0
    with torch.no_grad():
        for conv in model.convolutions():
            for tensor in conv.darknet_tensors():
                n = tensor.numel()
                chunk = torch.from_numpy(values[offset:offset + n].copy())
                tensor.copy_(chunk.view_as(tensor))
                offset += n
    return header


# -- pre- and post-processing (numpy) --------------------------------------------------------


@dataclass(frozen=True)
class YOLOv3Config:
    """Input size and thresholds (defaults: AlphaPose's ``detector/yolo_cfg.py``).

    Attributes:
        input_size: side of the square network input (a multiple of 32).
        conf_threshold: keep boxes with ``objectness > conf_threshold`` (AlphaPose: 0.1, and
            0.3 when pose tracking is on).
        nms_threshold: NMS suppresses boxes whose (+1 convention) IoU with a kept box is
            ``>= nms_threshold``.
        crowd_size: when more than this many boxes survive NMS, it is redone with
            ``nms_threshold - crowd_nms_step``.
        crowd_nms_step: see ``crowd_size``.
        person_class: the class index kept (COCO ``person`` = 0).
    """

    input_size: int = 608
    conf_threshold: float = 0.1
    nms_threshold: float = 0.6
    crowd_size: int = 100
    crowd_nms_step: float = 0.05
    person_class: int = 0

    def __post_init__(self) -> None:
        if int(self.input_size) != self.input_size or self.input_size <= 0 or \
                self.input_size % 32:
            raise ValueError(f"input_size: expected a positive multiple of 32, got "
                             f"{self.input_size!r}")
        check_yolo_config(self)


def preprocess(image: np.ndarray, input_size: int) -> tuple[np.ndarray, PastedLetterbox]:
    """The official YOLOv3 input for one BGR image.

    Args:
        image: ``(H, W, 3)`` uint8 BGR.
        input_size: side of the square input.

    Returns:
        ``(tensor, letterbox)``: ``(3, S, S)`` float32 RGB in [0, 1] (padding 128 / 255) and
        the placement.

    Example:
        >>> x, box = preprocess(np.zeros((100, 200, 3), np.uint8), 64)
        >>> x.shape, box.scale, round(float(x[0, 0, 0]) * 255)
        ((3, 64, 64), 0.32, 128)
    """
    check_image(image)
    canvas, placement = paste_letterbox(image, (input_size, input_size), pad_value=_PAD_VALUE,
                                        interpolation=cv2.INTER_CUBIC, centred=True)
    rgb = canvas[:, :, ::-1].transpose(2, 0, 1)
    tensor = np.ascontiguousarray(rgb, dtype=np.float32) / np.float32(255.0)
    return tensor, placement


def decode_outputs(maps: Sequence[np.ndarray], yolo_layers: Sequence[YoloLayer],
                   input_size: int) -> np.ndarray:
    """Raw ``[yolo]`` input maps -> boxes and probabilities per anchor.

    Args:
        maps: per ``[yolo]`` layer ``(B, A * (5 + C), G, G)`` raw maps (channels grouped by
            anchor: ``tx, ty, tw, th, objectness, C class logits``).
        yolo_layers: the layers' anchors and class counts (:attr:`Darknet.yolo_layers`).
        input_size: side of the square input; the stride is ``input_size // G``.

    Returns:
        ``(B, N, 5 + C)`` float32 rows ``(cx, cy, w, h, objectness, class scores...)`` in input
        pixels; per layer, cells row-major (``y * G + x``), then anchors.

    Example:
        >>> layer = YoloLayer(np.array([[10.0, 20.0]]), num_classes=1)
        >>> decode_outputs([np.zeros((1, 6, 2, 2), np.float32)], [layer], 64)[0, 1, :5]
        array([48. , 16. , 10. , 20. ,  0.5], dtype=float32)
    """
    if len(maps) != len(yolo_layers):
        raise ValueError(f"maps: expected {len(yolo_layers)} maps (one per [yolo] layer), got "
                         f"{len(maps)}")
    rows = []
    for raw, layer in zip(maps, yolo_layers):
        raw = np.asarray(raw, dtype=np.float32)
        a, attrs = len(layer.anchors), 5 + layer.num_classes
        if raw.ndim != 4 or raw.shape[1] != a * attrs or raw.shape[2] != raw.shape[3]:
            raise ValueError(f"maps: expected (B, {a * attrs}, G, G) for a [yolo] layer with "
                             f"{a} anchors and {layer.num_classes} classes, got {raw.shape}")
        b, _, g, _ = raw.shape
        stride = input_size // g
        flat = raw.reshape(b, a, attrs, g * g).transpose(0, 3, 1, 2)  # (B, G*G, A, attrs)
        gy, gx = np.divmod(np.arange(g * g, dtype=np.float32), np.float32(g))
        out = np.empty_like(flat)
        out[..., 0] = (sigmoid(flat[..., 0]) + gx[:, None]) * stride
        out[..., 1] = (sigmoid(flat[..., 1]) + gy[:, None]) * stride
        with np.errstate(over="ignore"):
            out[..., 2:4] = np.exp(flat[..., 2:4]) * layer.anchors.astype(np.float32)
        out[..., 4:] = sigmoid(flat[..., 4:])
        rows.append(out.reshape(b, g * g * a, attrs))
    return np.concatenate(rows, axis=1)


def nms_plus_one(xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS with the pixel-count (+1) area convention, suppressing IoU ``>=`` threshold.

    Boxes are taken as inclusive pixel ranges, so a box's area is ``(x2 - x1 + 1) *
    (y2 - y1 + 1)`` and an overlap's width ``min(x2) - max(x1) + 1``: the same as the
    plain IoU of the boxes grown by one pixel to the right and bottom, which is how it is
    computed here (with :func:`alphapose.detection.nms.nms`).

    Args:
        xyxy: ``(N, 4)`` boxes.
        scores: ``(N,)`` confidences.
        iou_threshold: suppression threshold.

    Returns:
        ``(M,)`` int64 indices of the kept boxes by descending score.

    Example:
        >>> nms_plus_one(np.array([[0, 0, 9, 9], [0, 0, 9, 5]]), np.array([0.9, 0.8]), 0.6)
        array([0])
    """
    boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4).copy()
    boxes[:, 2:] += 1.0
    # nms drops iou > t; iou >= t is iou > the next float below t
    return nms(boxes, scores, float(np.nextafter(iou_threshold, -np.inf)))


def postprocess(decoded: np.ndarray, letterbox: PastedLetterbox,
                config: YOLOv3Config = YOLOv3Config()) -> Detections:
    """One image's decoded rows -> person detections in image pixels.

    Keeps rows with ``objectness > conf_threshold`` whose best class (argmax of the class
    scores) is ``person_class``, runs +1-convention NMS on the objectness (redone at the
    crowd threshold when more than ``crowd_size`` boxes survive), maps back and clamps.

    Args:
        decoded: ``(N, 5 + C)`` rows of :func:`decode_outputs` for one image.
        letterbox: the placement of this image on the input.
        config: thresholds.

    Returns:
        Detections by descending objectness (the scores).
    """
    rows = np.asarray(decoded, dtype=np.float32)
    if rows.ndim != 2 or rows.shape[1] < 6:
        raise ValueError(f"decoded: expected (N, 5 + C) rows, got {rows.shape}")
    rows = rows[rows[:, 4] > config.conf_threshold]
    rows = rows[rows[:, 5:].argmax(axis=1) == config.person_class]
    xyxy = np.concatenate([rows[:, :2] - rows[:, 2:4] / 2, rows[:, :2] + rows[:, 2:4] / 2],
                          axis=1)
    objectness = rows[:, 4]
    kept = nms_plus_one(xyxy, objectness, config.nms_threshold)
    if len(kept) > config.crowd_size:
        kept = nms_plus_one(xyxy, objectness, config.nms_threshold - config.crowd_nms_step)
    return Detections(letterbox.to_image(xyxy[kept]), objectness[kept])


# -- detector --------------------------------------------------------------------------------


class YOLOv3Detector(BatchedTorchDetector):
    """Person detector with a darknet YOLOv3(-SPP) cfg and weights, AlphaPose's settings.

    Args:
        cfg_path: the darknet ``.cfg`` (e.g. ``yolov3-spp.cfg``).
        weights_path: the matching darknet ``.weights``; ``None`` leaves the network untrained
            (for tests only).
        config: input size and thresholds.
        device: torch device to run on.
        model: a ready :class:`Darknet` (or any module with ``yolo_layers`` and the same
            forward contract) to use instead of building ``cfg_path``.

    Example:
        >>> detector = YOLOv3Detector("yolov3-spp.cfg", "yolov3-spp.weights")  # doctest: +SKIP
        >>> detections = detector(cv2.imread("people.jpg"))                    # doctest: +SKIP
    """

    def __init__(self, cfg_path: str | Path | None = None,
                 weights_path: str | Path | None = None, config: YOLOv3Config | None = None,
                 *, device: str | torch.device = "cpu", model: nn.Module | None = None) -> None:
        if model is None and cfg_path is None:
            raise ValueError("cfg_path: a darknet .cfg file is required (or pass model=)")
        self.config = config if config is not None else YOLOv3Config()
        self.device = torch.device(device)
        net = model if model is not None else Darknet(read_darknet_cfg(cfg_path))
        if weights_path is not None:
            if not isinstance(net, Darknet):
                raise TypeError(f"model: darknet weights can only be loaded into a Darknet, "
                                f"got {type(net).__name__}")
            load_darknet_weights(net, weights_path)
        if not getattr(net, "yolo_layers", None):
            raise ValueError("model: expected a network with yolo_layers")
        self.model = net.to(self.device).eval()

    def _preprocess(self, image: np.ndarray) -> tuple[np.ndarray, Any]:
        return preprocess(image, self.config.input_size)

    def _postprocess(self, maps: list[np.ndarray], prepared: list) -> list[Detections]:
        decoded = decode_outputs(maps, self.model.yolo_layers, self.config.input_size)
        return [postprocess(rows, box, self.config)
                for rows, (_, box) in zip(decoded, prepared)]
