"""YOLOX person detector (nano, tiny, s, m, l, x) in torch, loading the official checkpoints.

The network is the anchor-free YOLOX of Ge et al. (2021): a CSPDarknet backbone with a Focus
stem and an SPP block, a PAN feature pyramid, and a decoupled head that predicts, for every cell
of the stride-8, 16 and 32 feature maps, four box regressors, one objectness logit and 80 COCO
class logits. Module and parameter names follow the official implementation, so the official
``yolox_<variant>.pth`` files (their ``"model"`` entry) load unchanged with ``strict=True``.
Nano uses depthwise-separable 3x3 convolutions (``dconv`` + ``pconv``) everywhere but the stem,
the SPP block, the 1x1 convolutions and the head's stems.

Settings follow AlphaPose's ``detector/yolox_cfg.py``: a 640 x 640 input for every variant
(YOLOX itself evaluates nano and tiny at 416), keep ``objectness * class score >= 0.1`` where the
best class is ``person`` (class 0), NMS at IoU 0.6 on ``objectness * class score`` (0.55 when more
than 100 boxes survive), and report the **objectness** as the box score.

Conventions:

* Preprocessing (AlphaPose ``preproc``): resize by ``r = min(H_in / h, W_in / w)`` to
  ``(int(w * r), int(h * r))`` with bilinear interpolation, paste at the **top-left** of an
  ``H_in x W_in`` canvas filled with 114, keep **BGR** and the 0..255 range (no mean/std).
* Decoding: for a cell ``(gx, gy)`` of the level with stride ``s`` and regressors
  ``(tx, ty, tw, th)``, the box centre is ``((tx + gx) * s, (ty + gy) * s)`` and its size
  ``(exp(tw) * s, exp(th) * s)`` in input pixels; objectness and class scores are sigmoids.
* Back to the image: input coordinates are divided by ``r`` (the official mapping, which treats
  coordinate 0 as the image's top-left edge) and clamped to ``[0, W] x [0, H]``. Boxes lying in
  the padding therefore come out clamped (possibly empty), as in the official code.

The network returns the raw per-level maps; decoding, filtering and NMS run in numpy
(:func:`decode_outputs`, :func:`postprocess`), so they can be used with any runtime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
    "STRIDES",
    "YOLOX",
    "YOLOX_VARIANTS",
    "YOLOXArch",
    "YOLOXConfig",
    "YOLOXDetector",
    "build_yolox",
    "decode_outputs",
    "guess_variant",
    "load_yolox_weights",
    "postprocess",
    "preprocess",
    "read_checkpoint",
]

#: Strides of the three output levels, finest first (the order of the outputs and anchors).
STRIDES = (8, 16, 32)

_BN_EPS = 1e-3  # the official experiments set every BatchNorm's eps to 1e-3
_PAD_VALUE = 114


# -- blocks ----------------------------------------------------------------------------------


class ConvBnAct(nn.Module):
    """Conv (no bias, 'same' padding) -> BatchNorm -> SiLU; the official ``BaseConv``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                              padding=(kernel_size - 1) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=_BN_EPS, momentum=0.03)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class DepthwiseSeparableConv(nn.Module):
    """Depthwise ``k x k`` conv then pointwise 1x1 conv, each with BN and SiLU (``DWConv``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1) -> None:
        super().__init__()
        self.dconv = ConvBnAct(in_channels, in_channels, kernel_size, stride,
                               groups=in_channels)
        self.pconv = ConvBnAct(in_channels, out_channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pconv(self.dconv(x))


def _conv3x3(depthwise: bool, in_channels: int, out_channels: int, stride: int) -> nn.Module:
    if depthwise:
        return DepthwiseSeparableConv(in_channels, out_channels, 3, stride)
    return ConvBnAct(in_channels, out_channels, 3, stride)


class Bottleneck(nn.Module):
    """1x1 conv then 3x3 conv (same width), with a residual add when ``shortcut``."""

    def __init__(self, channels: int, shortcut: bool, depthwise: bool) -> None:
        super().__init__()
        self.conv1 = ConvBnAct(channels, channels, 1, 1)
        self.conv2 = _conv3x3(depthwise, channels, channels, 1)
        self.use_add = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(x))
        return y + x if self.use_add else y


class CSPLayer(nn.Module):
    """Cross-stage-partial block: two 1x1 branches of half width, ``n`` bottlenecks on the
    first, concatenation (bottleneck branch first) and a 1x1 fusion conv."""

    def __init__(self, in_channels: int, out_channels: int, n: int, shortcut: bool,
                 depthwise: bool) -> None:
        super().__init__()
        hidden = out_channels // 2
        self.conv1 = ConvBnAct(in_channels, hidden, 1, 1)
        self.conv2 = ConvBnAct(in_channels, hidden, 1, 1)
        self.conv3 = ConvBnAct(2 * hidden, out_channels, 1, 1)
        self.m = nn.Sequential(*[Bottleneck(hidden, shortcut, depthwise) for _ in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(torch.cat((self.m(self.conv1(x)), self.conv2(x)), dim=1))


class SPPBottleneck(nn.Module):
    """1x1 conv to half width, concatenation with its 5/9/13 stride-1 max-pools, 1x1 conv."""

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_sizes: tuple[int, ...] = (5, 9, 13)) -> None:
        super().__init__()
        hidden = in_channels // 2
        self.conv1 = ConvBnAct(in_channels, hidden, 1, 1)
        self.m = nn.ModuleList([nn.MaxPool2d(k, stride=1, padding=k // 2) for k in kernel_sizes])
        self.conv2 = ConvBnAct(hidden * (len(kernel_sizes) + 1), out_channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [pool(x) for pool in self.m], dim=1))


class Focus(nn.Module):
    """Space-to-depth stem: the four pixel phases stacked on channels, then a 3x3 conv.

    Phase order on the channel axis: (even row, even col), (odd row, even col),
    (even row, odd col), (odd row, odd col).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = ConvBnAct(4 * in_channels, out_channels, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phases = (x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2])
        return self.conv(torch.cat(phases, dim=1))


class CSPDarknet(nn.Module):
    """Backbone: Focus stem, then four stride-2 stages (``dark2`` .. ``dark5``); returns the
    stride-8, 16 and 32 features (``dark3``, ``dark4``, ``dark5``)."""

    def __init__(self, depth: float, width: float, depthwise: bool) -> None:
        super().__init__()
        c = int(width * 64)
        n = max(round(depth * 3), 1)
        self.stem = Focus(3, c)
        self.dark2 = nn.Sequential(_conv3x3(depthwise, c, 2 * c, 2),
                                   CSPLayer(2 * c, 2 * c, n, True, depthwise))
        self.dark3 = nn.Sequential(_conv3x3(depthwise, 2 * c, 4 * c, 2),
                                   CSPLayer(4 * c, 4 * c, 3 * n, True, depthwise))
        self.dark4 = nn.Sequential(_conv3x3(depthwise, 4 * c, 8 * c, 2),
                                   CSPLayer(8 * c, 8 * c, 3 * n, True, depthwise))
        self.dark5 = nn.Sequential(_conv3x3(depthwise, 8 * c, 16 * c, 2),
                                   SPPBottleneck(16 * c, 16 * c),
                                   CSPLayer(16 * c, 16 * c, n, False, depthwise))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.dark2(self.stem(x))
        c3 = self.dark3(x)
        c4 = self.dark4(c3)
        return c3, c4, self.dark5(c4)


class PAFPN(nn.Module):
    """Backbone plus a top-down then bottom-up path aggregation network (``YOLOPAFPN``).

    Returns features of ``int(256 w)``, ``int(512 w)`` and ``int(1024 w)`` channels at strides
    8, 16 and 32.
    """

    def __init__(self, depth: float, width: float, depthwise: bool) -> None:
        super().__init__()
        c3, c4, c5 = int(256 * width), int(512 * width), int(1024 * width)
        n = round(3 * depth)
        self.backbone = CSPDarknet(depth, width, depthwise)
        self.lateral_conv0 = ConvBnAct(c5, c4, 1, 1)
        self.C3_p4 = CSPLayer(2 * c4, c4, n, False, depthwise)
        self.reduce_conv1 = ConvBnAct(c4, c3, 1, 1)
        self.C3_p3 = CSPLayer(2 * c3, c3, n, False, depthwise)
        self.bu_conv2 = _conv3x3(depthwise, c3, c3, 2)
        self.C3_n3 = CSPLayer(2 * c3, c4, n, False, depthwise)
        self.bu_conv1 = _conv3x3(depthwise, c4, c4, 2)
        self.C3_n4 = CSPLayer(2 * c4, c5, n, False, depthwise)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x3, x4, x5 = self.backbone(x)
        top5 = self.lateral_conv0(x5)
        p4 = self.C3_p4(torch.cat((_upsample2(top5), x4), dim=1))
        top4 = self.reduce_conv1(p4)
        out3 = self.C3_p3(torch.cat((_upsample2(top4), x3), dim=1))
        out4 = self.C3_n3(torch.cat((self.bu_conv2(out3), top4), dim=1))
        out5 = self.C3_n4(torch.cat((self.bu_conv1(out4), top5), dim=1))
        return out3, out4, out5


def _upsample2(x: torch.Tensor) -> torch.Tensor:
    return nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")


class YOLOXHead(nn.Module):
    """Decoupled head, one branch set per level: a 1x1 stem, two 3x3 convs for classes and two
    for the box, then 1x1 predictors ``cls_preds`` (C), ``reg_preds`` (4), ``obj_preds`` (1)."""

    def __init__(self, num_classes: int, width: float, depthwise: bool) -> None:
        super().__init__()
        hidden = int(256 * width)
        self.num_classes = num_classes
        self.stems = nn.ModuleList()
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        self.cls_preds = nn.ModuleList()
        self.reg_preds = nn.ModuleList()
        self.obj_preds = nn.ModuleList()
        for channels in (256, 512, 1024):
            self.stems.append(ConvBnAct(int(channels * width), hidden, 1, 1))
            self.cls_convs.append(nn.Sequential(_conv3x3(depthwise, hidden, hidden, 1),
                                                _conv3x3(depthwise, hidden, hidden, 1)))
            self.reg_convs.append(nn.Sequential(_conv3x3(depthwise, hidden, hidden, 1),
                                                _conv3x3(depthwise, hidden, hidden, 1)))
            self.cls_preds.append(nn.Conv2d(hidden, num_classes, 1))
            self.reg_preds.append(nn.Conv2d(hidden, 4, 1))
            self.obj_preds.append(nn.Conv2d(hidden, 1, 1))

    def forward(self, features: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        outputs = []
        for k, x in enumerate(features):
            x = self.stems[k](x)
            reg = self.reg_convs[k](x)
            outputs.append(torch.cat((self.reg_preds[k](reg), self.obj_preds[k](reg),
                                      self.cls_preds[k](self.cls_convs[k](x))), dim=1))
        return outputs


# -- main module and builder -----------------------------------------------------------------


class YOLOX(nn.Module):
    """The full network: ``backbone`` (:class:`PAFPN`) and ``head`` (:class:`YOLOXHead`).

    ``forward(images)`` takes ``(B, 3, H, W)`` float BGR in 0..255 (``H``, ``W`` multiples of
    32) and returns the three raw level maps ``(B, 5 + C, H / s, W / s)`` for ``s`` in
    :data:`STRIDES`; channels are ``tx, ty, tw, th``, the objectness logit, then ``C`` class
    logits (decode with :func:`decode_outputs`).
    """

    def __init__(self, depth: float, width: float, depthwise: bool = False,
                 num_classes: int = 80) -> None:
        super().__init__()
        self.backbone = PAFPN(depth, width, depthwise)
        self.head = YOLOXHead(num_classes, width, depthwise)

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return self.head(self.backbone(images))


@dataclass(frozen=True)
class YOLOXArch:
    """Size of one official variant.

    Attributes:
        depth: depth multiplier (bottlenecks per CSP block: ``max(round(3 depth), 1)``, three
            times that in ``dark3`` and ``dark4``).
        width: width multiplier of all channel counts (stem: ``int(64 width)``).
        depthwise: depthwise-separable 3x3 convolutions (nano).
        test_size: the input side YOLOX itself evaluates at (AlphaPose uses 640 for all).
    """

    depth: float
    width: float
    depthwise: bool = False
    test_size: int = 640


#: The official variants by AlphaPose's detector names.
YOLOX_VARIANTS: dict[str, YOLOXArch] = {
    "yolox-nano": YOLOXArch(0.33, 0.25, depthwise=True, test_size=416),
    "yolox-tiny": YOLOXArch(0.33, 0.375, test_size=416),
    "yolox-s": YOLOXArch(0.33, 0.50),
    "yolox-m": YOLOXArch(0.67, 0.75),
    "yolox-l": YOLOXArch(1.0, 1.0),
    "yolox-x": YOLOXArch(1.33, 1.25),
}


def _variant_name(variant: str) -> str:
    name = str(variant).lower().replace("_", "-")
    if name == "yolox":
        name = "yolox-x"  # AlphaPose's alias
    if name not in YOLOX_VARIANTS:
        raise ValueError(f"variant: unknown YOLOX variant {variant!r}; valid: "
                         f"{', '.join(YOLOX_VARIANTS)}")
    return name


def build_yolox(variant: str, num_classes: int = 80) -> YOLOX:
    """Build an (untrained) official YOLOX variant.

    Args:
        variant: ``"yolox-nano" | "yolox-tiny" | "yolox-s" | "yolox-m" | "yolox-l" |
            "yolox-x"`` (``_`` for ``-`` and the alias ``"yolox"`` = x are accepted).
        num_classes: class count of the head (80 for the official COCO weights).

    Returns:
        The network in eval mode.

    Example:
        >>> model = build_yolox("yolox-s")
        >>> tuple(model.state_dict()["head.cls_preds.0.weight"].shape)
        (80, 128, 1, 1)
    """
    arch = YOLOX_VARIANTS[_variant_name(variant)]
    if num_classes < 1:
        raise ValueError(f"num_classes: expected at least 1, got {num_classes}")
    return YOLOX(arch.depth, arch.width, arch.depthwise, num_classes).eval()


# -- weights ---------------------------------------------------------------------------------


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Read the state dict of an official YOLOX checkpoint.

    The official files hold ``{"model": state_dict, ...}`` (optimizer state and epoch may
    ride along); a bare state dict is accepted too, and a ``"module."`` prefix (from
    ``DataParallel``) is removed. Files are read with ``torch.load(weights_only=True)``.

    Raises:
        ValueError: the file is missing, needs unrestricted unpickling, or holds no state dict.
    """
    from alphapose.models.checkpoint import load_torch_file

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"weights_path: no such file: {path}")
    data = load_torch_file(path)
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        data = data["model"]
    if not isinstance(data, dict) or not data or not all(
            isinstance(v, torch.Tensor) for v in data.values()):
        raise ValueError(f"{path}: expected a YOLOX checkpoint ({{'model': state_dict}}) or a "
                         f"state dict of tensors, got {type(data).__name__}")
    prefix = "module."
    if all(k.startswith(prefix) for k in data):
        data = {k[len(prefix):]: v for k, v in data.items()}
    return dict(data)


def guess_variant(state_dict: dict[str, torch.Tensor]) -> str | None:
    """The official variant whose layout a YOLOX state dict has, or ``None``.

    Reads the stem width (``int(64 * width)`` output channels of the Focus conv), whether
    depthwise convs are present and the bottleneck count of ``dark2`` (``max(round(3 depth),
    1)``).
    """
    stem = state_dict.get("backbone.backbone.stem.conv.conv.weight")
    if stem is None or stem.ndim != 4:
        return None
    depthwise = any(".dconv." in k for k in state_dict)
    bottlenecks = {k.split(".")[5] for k in state_dict
                   if k.startswith("backbone.backbone.dark2.1.m.")}
    for name, arch in YOLOX_VARIANTS.items():
        if (int(arch.width * 64) == stem.shape[0] and arch.depthwise == depthwise
                and max(round(arch.depth * 3), 1) == len(bottlenecks)):
            return name
    return None


def load_yolox_weights(model: YOLOX, weights: str | Path | dict[str, torch.Tensor]) -> YOLOX:
    """Load official weights into ``model`` (strict: every key, every shape).

    Args:
        model: a network from :func:`build_yolox`.
        weights: a checkpoint file (see :func:`read_checkpoint`) or a state dict.

    Returns:
        ``model``, in eval mode.

    Raises:
        ValueError: missing, unexpected or wrong-shape keys, listed, with the variant the
            weights look like. ``num_batches_tracked`` buffers may be absent.
    """
    state = read_checkpoint(weights) if isinstance(weights, (str, Path)) else dict(weights)
    expected = model.state_dict()
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(state) - optional)
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
                   for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        guess = guess_variant(state)
        hint = (f"; the weights look like {guess!r}" if guess else
                "; they match no official variant")
        raise ValueError(_mismatch_message(missing, unexpected, wrong) + hint)
    for key in optional - set(state):
        state[key] = torch.zeros((), dtype=torch.long)
    model.load_state_dict(state, strict=True)
    return model.eval()


def _mismatch_message(missing: list[str], unexpected: list[str], wrong: list[str],
                      limit: int = 8) -> str:
    def part(title: str, items: list[str]) -> str:
        shown = ", ".join(items[:limit]) + (f", ... ({len(items)} in all)"
                                            if len(items) > limit else "")
        return f"{title} ({len(items)}): {shown}"

    parts = [part(t, i) for t, i in (("missing", missing), ("unexpected", unexpected),
                                     ("wrong shape", wrong)) if i]
    return "YOLOX weights do not fit the model: " + "; ".join(parts)


# -- pre- and post-processing (numpy) --------------------------------------------------------


@dataclass(frozen=True)
class YOLOXConfig:
    """Input size and thresholds (defaults: AlphaPose's ``detector/yolox_cfg.py``).

    Attributes:
        input_size: network input ``(height, width)`` or one side; multiples of 32.
        conf_threshold: keep boxes with ``objectness * best class score >= conf_threshold``.
        nms_threshold: NMS suppresses boxes whose IoU with a kept box is ``> nms_threshold``.
        crowd_size: when more than this many boxes survive NMS, it is redone with
            ``nms_threshold - crowd_nms_step`` (the official "dynamic" NMS).
        crowd_nms_step: see ``crowd_size``.
        person_class: the class index kept (COCO ``person`` = 0).
    """

    input_size: int | tuple[int, int] = 640
    conf_threshold: float = 0.1
    nms_threshold: float = 0.6
    crowd_size: int = 100
    crowd_nms_step: float = 0.05
    person_class: int = 0

    def __post_init__(self) -> None:
        size = self.input_size
        pair = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if len(pair) != 2 or any(int(s) != s or s <= 0 or s % 32 for s in pair):
            raise ValueError(f"input_size: expected a positive multiple of 32 or a pair "
                             f"(height, width) of them, got {size!r}")
        object.__setattr__(self, "input_size", (int(pair[0]), int(pair[1])))
        check_yolo_config(self)


def preprocess(image: np.ndarray, input_size: tuple[int, int]
               ) -> tuple[np.ndarray, PastedLetterbox]:
    """The official YOLOX input for one BGR image.

    Args:
        image: ``(H, W, 3)`` uint8 BGR.
        input_size: ``(height, width)`` of the network input.

    Returns:
        ``(tensor, letterbox)``: ``(3, H_in, W_in)`` float32 BGR in 0..255 (padding 114) and
        the placement.

    Example:
        >>> x, box = preprocess(np.zeros((100, 200, 3), np.uint8), (64, 64))
        >>> x.shape, box.scale, float(x[0, 40, 0])
        ((3, 64, 64), 0.32, 114.0)
    """
    check_image(image)
    canvas, placement = paste_letterbox(image, input_size, pad_value=_PAD_VALUE,
                                        interpolation=cv2.INTER_LINEAR)
    tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32)
    return tensor, placement


def decode_outputs(levels: Sequence[np.ndarray], strides: Sequence[int] = STRIDES,
                   ) -> np.ndarray:
    """Raw level maps -> boxes and probabilities per anchor point.

    Args:
        levels: per level ``(B, 5 + C, H_l, W_l)`` raw maps (see :class:`YOLOX`), finest first.
        strides: input pixels per cell of each level.

    Returns:
        ``(B, N, 5 + C)`` float32 rows ``(cx, cy, w, h, objectness, class scores...)`` in input
        pixels, ``N = sum(H_l * W_l)``; anchor points in level order, then row-major
        (``index = y * W_l + x``).

    Example:
        >>> raw = np.zeros((1, 6, 1, 2), np.float32)   # one class, a 1 x 2 grid
        >>> decode_outputs([raw], strides=[8])[0, 1, :5]
        array([8. , 0. , 8. , 8. , 0.5], dtype=float32)
    """
    if len(levels) != len(strides):
        raise ValueError(f"levels: expected {len(strides)} level maps (one per stride), got "
                         f"{len(levels)}")
    rows = []
    for raw, stride in zip(levels, strides):
        raw = np.asarray(raw, dtype=np.float32)
        if raw.ndim != 4 or raw.shape[1] < 6:
            raise ValueError(f"levels: expected (B, 5 + C, H, W) maps, got {raw.shape}")
        b, ch, gh, gw = raw.shape
        flat = raw.reshape(b, ch, gh * gw).transpose(0, 2, 1)  # (B, H*W, 5 + C)
        gy, gx = np.divmod(np.arange(gh * gw, dtype=np.float32), np.float32(gw))
        out = np.empty_like(flat)
        out[..., 0] = (flat[..., 0] + gx) * stride
        out[..., 1] = (flat[..., 1] + gy) * stride
        with np.errstate(over="ignore"):
            out[..., 2:4] = np.exp(flat[..., 2:4]) * stride
        out[..., 4:] = sigmoid(flat[..., 4:])
        rows.append(out)
    return np.concatenate(rows, axis=1)


def postprocess(decoded: np.ndarray, letterbox: PastedLetterbox,
                config: YOLOXConfig = YOLOXConfig()) -> Detections:
    """One image's decoded rows -> person detections in image pixels.

    Keeps rows with ``objectness * max class score >= conf_threshold`` whose best class is
    ``person_class``, runs NMS on ``objectness * class score`` (redone at the crowd threshold
    when more than ``crowd_size`` boxes survive), maps the boxes back through ``letterbox`` and
    clamps them to the image.

    Args:
        decoded: ``(N, 5 + C)`` rows of :func:`decode_outputs` for one image.
        letterbox: the placement of this image on the input.
        config: thresholds.

    Returns:
        Detections ordered by descending ``objectness * class score``; ``scores`` are the
        objectness values (what AlphaPose passes on).
    """
    rows = np.asarray(decoded, dtype=np.float32)
    if rows.ndim != 2 or rows.shape[1] < 6:
        raise ValueError(f"decoded: expected (N, 5 + C) rows, got {rows.shape}")
    # conf_threshold <= obj * cls <= obj: rows below it on objectness alone cannot pass
    rows = rows[rows[:, 4] >= config.conf_threshold]
    classes = rows[:, 5:]
    best = classes.argmax(axis=1)
    class_conf = classes[np.arange(len(rows)), best]
    score = rows[:, 4] * class_conf
    keep = (score >= config.conf_threshold) & (best == config.person_class)
    rows, score = rows[keep], score[keep]
    xyxy = np.concatenate([rows[:, :2] - rows[:, 2:4] / 2, rows[:, :2] + rows[:, 2:4] / 2],
                          axis=1)
    kept = _dynamic_nms(xyxy, score, config.nms_threshold, config.crowd_size,
                        config.crowd_nms_step)
    return Detections(letterbox.to_image(xyxy[kept]), rows[kept, 4])


def _dynamic_nms(xyxy: np.ndarray, scores: np.ndarray, threshold: float, crowd_size: int,
                 step: float) -> np.ndarray:
    kept = nms(xyxy, scores, threshold)
    if len(kept) > crowd_size:
        kept = nms(xyxy, scores, threshold - step)
    return kept


# -- detector --------------------------------------------------------------------------------


class YOLOXDetector(BatchedTorchDetector):
    """Person detector with an official YOLOX checkpoint, AlphaPose's settings by default.

    Args:
        variant: ``"yolox-nano" | "yolox-tiny" | "yolox-s" | "yolox-m" | "yolox-l" |
            "yolox-x"``.
        weights_path: the official ``yolox_<variant>.pth``; ``None`` leaves the network
            untrained (for tests and training only).
        config: input size and thresholds.
        device: torch device to run on.
        model: a ready network to use instead of building ``variant`` (``weights_path`` is
            then loaded into it if given).

    Example:
        >>> detector = YOLOXDetector("yolox-x", "yolox_x.pth")   # doctest: +SKIP
        >>> detections = detector(cv2.imread("people.jpg"))      # doctest: +SKIP
    """

    def __init__(self, variant: str = "yolox-x", weights_path: str | Path | None = None,
                 config: YOLOXConfig | None = None, *, device: str | torch.device = "cpu",
                 model: nn.Module | None = None) -> None:
        self.variant = _variant_name(variant)
        self.config = config if config is not None else YOLOXConfig()
        self.device = torch.device(device)
        net = model if model is not None else build_yolox(self.variant)
        if weights_path is not None:
            if not isinstance(net, YOLOX):
                raise TypeError(f"model: weights can only be loaded into a YOLOX network, got "
                                f"{type(net).__name__}")
            load_yolox_weights(net, weights_path)
        self.model = net.to(self.device).eval()

    def _preprocess(self, image: np.ndarray) -> tuple[np.ndarray, Any]:
        return preprocess(image, self.config.input_size)

    def _postprocess(self, maps: list[np.ndarray], prepared: list) -> list[Detections]:
        return [postprocess(rows, box, self.config)
                for rows, (_, box) in zip(decode_outputs(maps), prepared)]
