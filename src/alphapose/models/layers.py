"""Building blocks shared by the pose networks: SE, DUC, deformable convolution.

Module and parameter names reproduce the official AlphaPose ones (``se.fc.0``, ``duc1.conv``,
``conv2_offset`` ...) so official state dicts load unchanged.

Deformable convolution (:func:`deform_conv2d`) is written in plain torch: every kernel tap samples
the input bilinearly (``grid_sample``) at its offset position, and one matrix product applies the
weights. Convention (that of the official CUDA kernel, mmcv DCNv1/v2 and
``torchvision.ops.deform_conv2d``): pixel centres sit at integer coordinates; for output pixel
``(ho, wo)`` and kernel tap ``k = i * kw + j`` of offset group ``g``, the sample is taken at row
``ho * stride - pad + i * dilation + offset[:, 2 * (g * K + k)]`` and column
``wo * stride - pad + j * dilation + offset[:, 2 * (g * K + k) + 1]`` (``K = kh * kw``); corners
outside the image count as zero, so a sample at or beyond one pixel outside contributes nothing.
The modulated variant (DCN v2) multiplies each sample by ``mask[:, g * K + k]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from alphapose.config import DCNConfig

__all__ = [
    "DUC",
    "DeformConv2d",
    "DeformConvWithOffset",
    "SELayer",
    "deform_conv2d",
    "offset_channels",
    "split_offset",
    "validate_input_size",
]


class SELayer(nn.Module):
    """Squeeze-and-excitation: scale each channel by a gate computed from the global mean.

    Official form: ``fc = [Linear(C, C // reduction), ReLU, Linear(C // reduction, C), Sigmoid]``
    with ``reduction = 1`` in every AlphaPose backbone.

    Args:
        channels: channel count ``C``.
        reduction: bottleneck ratio of the gate.

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, channels: int, reduction: int = 1) -> None:
        super().__init__()
        hidden = channels // reduction
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True),
                                nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.fc(x.mean(dim=(2, 3)))
        return x * gate[:, :, None, None]


class DUC(nn.Module):
    """Dense upsampling convolution: 3x3 conv (no bias), BN, ReLU, PixelShuffle.

    Args:
        in_channels: input channels.
        out_channels: conv output channels; the block outputs ``out_channels / factor**2``.
        factor: upscale factor of the pixel shuffle.

    Shape:
        ``(B, in, H, W) -> (B, out / factor**2, H * factor, W * factor)``.
    """

    def __init__(self, in_channels: int, out_channels: int, factor: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, momentum=0.1)
        self.relu = nn.ReLU(inplace=True)
        self.pixel_shuffle = nn.PixelShuffle(factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pixel_shuffle(self.relu(self.bn(self.conv(x))))


def deform_conv2d(x: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, *, stride: tuple[int, int] = (1, 1),
                  padding: tuple[int, int] = (0, 0), dilation: tuple[int, int] = (1, 1),
                  mask: torch.Tensor | None = None) -> torch.Tensor:
    """Deformable 2-D convolution (DCN v1; v2 when ``mask`` is given), bilinear sampling.

    The number of offset groups ``G`` is ``offset.shape[1] / (2 * kh * kw)``; group ``g`` moves the
    samples of input channels ``[g * C / G, (g + 1) * C / G)``.

    Args:
        x: input ``(B, C, H, W)``.
        offset: ``(B, 2 * G * kh * kw, Ho, Wo)``, per tap ``(dy, dx)`` in input pixels.
        weight: ``(O, C, kh, kw)`` (no convolution groups).
        bias: ``(O,)`` or None.
        stride: ``(sh, sw)``.
        padding: ``(ph, pw)``.
        dilation: ``(dh, dw)``.
        mask: ``(B, G * kh * kw, Ho, Wo)`` modulation (already through a sigmoid), or None.

    Returns:
        ``(B, O, Ho, Wo)`` with ``Ho = (H + 2 ph - dh (kh - 1) - 1) // sh + 1`` (same for ``Wo``).

    Raises:
        ValueError: inconsistent shapes.
    """
    b, c, h, w = x.shape
    out_channels, _, kh, kw = weight.shape
    taps = kh * kw
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    groups = offset.shape[1] // (2 * taps)
    if not torch.jit.is_tracing():  # shapes are checked once, not baked into exported graphs
        _check_deform_shapes(x, offset, weight, mask, groups, ho, wo)

    like = {"dtype": x.dtype, "device": x.device}
    # Undeformed sample positions per tap: (taps, Ho, 1) rows and (taps, 1, Wo) columns.
    tap_rows = (torch.arange(kh, **like) * dilation[0]).repeat_interleave(kw)
    tap_cols = (torch.arange(kw, **like) * dilation[1]).repeat(kh)
    out_rows = torch.arange(ho, **like) * stride[0] - padding[0]
    out_cols = torch.arange(wo, **like) * stride[1] - padding[1]
    rows = tap_rows[:, None, None] + out_rows[None, :, None]
    cols = tap_cols[:, None, None] + out_cols[None, None, :]
    delta = offset.reshape(b, groups, taps, 2, ho, wo)
    y = rows + delta[:, :, :, 0]                       # (B, G, taps, Ho, Wo)
    x_pos = cols + delta[:, :, :, 1]
    # grid_sample (align_corners=False) puts pixel p at the normalised coordinate (2p + 1) / n - 1.
    grid = torch.stack(((2 * x_pos + 1) / w - 1, (2 * y + 1) / h - 1), dim=-1)
    grid = grid.reshape(b * groups, taps * ho, wo, 2)
    sampled = F.grid_sample(x.reshape(b * groups, c // groups, h, w), grid, mode="bilinear",
                            padding_mode="zeros", align_corners=False)
    sampled = sampled.reshape(b, groups, c // groups, taps, ho * wo)
    if mask is not None:
        sampled = sampled * mask.reshape(b, groups, 1, taps, ho * wo)
    # (O, C * taps) @ (B, C * taps, Ho * Wo): input channel c, tap k sit at row c * taps + k.
    out = torch.matmul(weight.reshape(out_channels, c * taps),
                       sampled.reshape(b, c * taps, ho * wo))
    if bias is not None:
        out = out + bias[:, None]
    return out.reshape(b, out_channels, ho, wo)


def _check_deform_shapes(x: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
                         mask: torch.Tensor | None, groups: int, ho: int, wo: int) -> None:
    b, c = x.shape[:2]
    taps = weight.shape[2] * weight.shape[3]
    if weight.shape[1] != c:
        raise ValueError(f"deform_conv2d: weight expects {weight.shape[1]} input channels, x "
                         f"has {c}")
    if (groups < 1 or offset.shape[1] != 2 * groups * taps or c % groups
            or tuple(offset.shape[2:]) != (ho, wo) or offset.shape[0] != b):
        raise ValueError(f"deform_conv2d: offset must be (B={b}, 2*G*{taps}, {ho}, {wo}) with G "
                         f"dividing {c}, got {tuple(offset.shape)}")
    if mask is not None and tuple(mask.shape) != (b, groups * taps, ho, wo):
        raise ValueError(f"deform_conv2d: mask must be {(b, groups * taps, ho, wo)}, got "
                         f"{tuple(mask.shape)}")


class DeformConv2d(nn.Module):
    """Deformable convolution holding only its weights (offsets come from outside).

    Parameter names match the official ``DeformConv`` / ``ModulatedDeformConv``: ``weight``
    ``(out, in, k, k)`` and, if ``bias``, ``bias``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel size.
        stride: stride.
        padding: zero padding.
        dilation: dilation.
        bias: whether to add a bias.

    Shape:
        ``forward(x (B, in, H, W), offset (B, 2 G k k, Ho, Wo), mask (B, G k k, Ho, Wo) | None)
        -> (B, out, Ho, Wo)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int = 1, dilation: int = 1, bias: bool = False) -> None:
        super().__init__()
        self.stride = (stride, stride)
        self.padding = (padding, padding)
        self.dilation = (dilation, dilation)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight[0].numel()
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor, offset: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        return deform_conv2d(x, offset, self.weight, self.bias, stride=self.stride,
                             padding=self.padding, dilation=self.dilation, mask=mask)


def offset_channels(dcn: DCNConfig, kernel_size: int = 3) -> int:
    """Channels of the offset conv: ``2 k k`` (+ ``k k`` mask channels if modulated) per group."""
    taps = kernel_size * kernel_size
    return dcn.deform_group * (3 if dcn.modulated else 2) * taps


def split_offset(offset_mask: torch.Tensor, dcn: DCNConfig,
                 kernel_size: int = 3) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Split an offset-conv output into ``(offset, mask)``; mask is None for DCN v1.

    Official layout for DCN v2: the first ``2 G k k`` channels are offsets, the last ``G k k``
    are mask logits (a sigmoid is applied here).
    """
    if not dcn.modulated:
        return offset_mask, None
    taps = kernel_size * kernel_size * dcn.deform_group
    return offset_mask[:, :2 * taps], offset_mask[:, -taps:].sigmoid()


class DeformConvWithOffset(nn.Module):
    """A deformable conv with its own offset conv: ``conv_offset`` and ``conv`` (official ``DCN``).

    Used only by ShuffleResNet blocks with DCN (official key names ``conv2.conv_offset.*``,
    ``conv2.conv.weight``).

    Shape:
        ``(B, in, H, W) -> (B, out, Ho, Wo)``.
    """

    def __init__(self, in_channels: int, out_channels: int, dcn: DCNConfig, kernel_size: int = 3,
                 stride: int = 1, padding: int = 1, bias: bool = False) -> None:
        super().__init__()
        self.dcn = dcn
        self.kernel_size = kernel_size
        self.conv_offset = nn.Conv2d(in_channels, offset_channels(dcn, kernel_size), kernel_size,
                                     stride, padding, bias=True)
        self.conv = DeformConv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        offset, mask = split_offset(self.conv_offset(x), self.dcn, self.kernel_size)
        return self.conv(x, offset, mask)


def validate_input_size(input_size: tuple[int, int], multiple: int = 32) -> tuple[int, int]:
    """``input_size`` as an ``(h, w)`` tuple of positive ints, each a multiple of ``multiple``.

    Raises:
        ValueError: wrong length, non-positive, or not a multiple.
    """
    size = tuple(int(v) for v in input_size)
    if len(size) != 2 or min(size) <= 0 or any(v % multiple for v in size):
        raise ValueError(f"input_size: expected (h, w), positive multiples of {multiple}, got "
                         f"{tuple(input_size)}")
    return size  # type: ignore[return-value]
