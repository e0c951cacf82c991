"""ResNet backbones with AlphaPose's module names: plain, SE-ResNet and ShuffleResNet, with DCN.

All three share torchvision's ResNet "v1.5" layout (stride on the 3x3 conv, downsample =
``downsample.0`` 1x1 conv + ``downsample.1`` BN) and differ as the official ones do:

* ``"resnet"`` (official ``ResNet``, used by SimplePose): no SE; with DCN only the *first* block of
  each DCN stage is deformable.
* ``"se-resnet"`` (official ``SEResnet``, FastPose's backbone): a squeeze-and-excitation gate
  (reduction 1, after the last BN, before the residual sum) in the first block of each stage that
  has a downsample branch; with DCN every block of a DCN stage is deformable, its offsets coming
  from a sibling ``conv2_offset`` (3x3, with bias, same stride).
* ``"shuffle"`` (official ``ShuffleResnet``): like ``"se-resnet"``, but a strided block replaces its
  strided 3x3 conv by ``conv2 = [PixelUnshuffle(2), 3x3 conv (4p -> p)]``; DCN there uses the
  ``conv_offset`` / ``conv`` pair inside ``conv2``.

ResNet-18/34 use basic blocks (no DCN); 50/101/152 bottlenecks. Output: ``out_channels`` (2048 for
bottlenecks, 512 for basic blocks) maps at stride 32.
"""

from __future__ import annotations

import torch
from torch import nn

from alphapose.config import RESNET_DEPTHS, DCNConfig
from alphapose.models.layers import (
    DeformConv2d,
    DeformConvWithOffset,
    SELayer,
    offset_channels,
    split_offset,
)

__all__ = ["STYLES", "BasicBlock", "Bottleneck", "ResNet", "build_backbone", "resnet18",
           "resnet50", "resnet101", "resnet152", "se_resnet50", "se_resnet101", "se_resnet152"]

#: Backbone styles, spelled as the official ``MODEL.BACKBONE`` values.
STYLES = ("resnet", "se-resnet", "shuffle")
_STAGE_BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3),
                 152: (3, 8, 36, 3)}


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual; optional SE gate after the second BN.

    Shape:
        ``(B, inplanes, H, W) -> (B, planes, H / stride, W / stride)``.
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, *, se: bool = False) -> None:
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes, momentum=0.1)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes, momentum=0.1)
        self.downsample = downsample
        self.se = SELayer(planes) if se else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (strided; deformable or pixel-unshuffled if asked) -> 1x1, with a residual.

    Args:
        inplanes: input channels.
        planes: width of the 3x3 conv; the block outputs ``4 * planes``.
        stride: stride of the block (on the 3x3 conv).
        downsample: residual projection, or None for identity.
        se: add the SE gate after ``bn3``.
        dcn: make the 3x3 conv deformable (ignored when ``dcn.fallback_on_stride``).
        shuffle: ShuffleResNet form (``conv2`` unshuffles instead of striding).

    Shape:
        ``(B, inplanes, H, W) -> (B, 4 planes, H / stride, W / stride)``.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, *, se: bool = False,
                 dcn: DCNConfig | None = None, shuffle: bool = False) -> None:
        super().__init__()
        self.dcn = dcn if dcn is not None and not dcn.fallback_on_stride else None
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=0.1)
        self.conv2_offset: nn.Conv2d | None = None
        self.conv2: nn.Module
        if shuffle and stride > 1:
            unshuffled = planes * stride * stride
            inner: nn.Module = (DeformConvWithOffset(unshuffled, planes, self.dcn)
                                if self.dcn is not None else _conv3x3(unshuffled, planes))
            self.conv2 = nn.Sequential(nn.PixelUnshuffle(stride), inner)
        elif shuffle and self.dcn is not None:
            self.conv2 = DeformConvWithOffset(planes, planes, self.dcn)
        elif self.dcn is not None:
            self.conv2_offset = nn.Conv2d(planes, offset_channels(self.dcn), 3, stride, 1,
                                          bias=True)
            self.conv2 = DeformConv2d(planes, planes, 3, stride, 1)
        else:
            self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes, momentum=0.1)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4, momentum=0.1)
        self.relu = nn.ReLU(inplace=True)
        self.se = SELayer(planes * 4) if se else None
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        if self.conv2_offset is not None:
            offset, mask = split_offset(self.conv2_offset(out), self.dcn)  # type: ignore[arg-type]
            out = self.conv2(out, offset, mask)
        else:
            out = self.conv2(out)
        out = self.relu(self.bn2(out))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet trunk (no pooling head): stem, then ``layer1`` .. ``layer4``.

    Args:
        depth: 18, 34, 50, 101 or 152.
        style: ``"resnet"``, ``"se-resnet"`` or ``"shuffle"`` (see the module docstring).
        dcn: deformable-convolution settings, or None.
        stage_with_dcn: per stage, whether ``dcn`` applies.

    Shape:
        ``(B, 3, H, W) -> (B, out_channels, H / 32, W / 32)``.

    Raises:
        ValueError: unknown depth or style; DCN asked for basic blocks.
    """

    def __init__(self, depth: int = 50, *, style: str = "resnet", dcn: DCNConfig | None = None,
                 stage_with_dcn: tuple[bool, bool, bool, bool] = (False, False, False, False)
                 ) -> None:
        super().__init__()
        if depth not in _STAGE_BLOCKS:
            raise ValueError(f"depth: expected one of {RESNET_DEPTHS}, got {depth!r}")
        if style not in STYLES:
            raise ValueError(f"style: expected one of {STYLES}, got {style!r}")
        if len(stage_with_dcn) != 4:
            raise ValueError(f"stage_with_dcn: expected 4 flags, got {stage_with_dcn!r}")
        bottleneck = depth >= 50
        if not bottleneck and dcn is not None and any(stage_with_dcn):
            raise ValueError(f"dcn: deformable convolution needs bottleneck blocks (depth >= 50), "
                             f"got depth {depth}")
        expansion = 4 if bottleneck else 1
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64, eps=1e-5, momentum=0.1)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        inplanes = 64
        for index, (planes, count) in enumerate(zip((64, 128, 256, 512), _STAGE_BLOCKS[depth])):
            stride = 1 if index == 0 else 2
            stage_dcn = dcn if stage_with_dcn[index] else None
            blocks: list[nn.Module] = []
            for number in range(count):
                downsample = None
                if number == 0 and (stride != 1 or inplanes != planes * expansion):
                    downsample = nn.Sequential(
                        nn.Conv2d(inplanes, planes * expansion, 1, stride, bias=False),
                        nn.BatchNorm2d(planes * expansion, momentum=0.1))
                se = style != "resnet" and downsample is not None
                block_stride = stride if number == 0 else 1
                if bottleneck:
                    block_dcn = stage_dcn if (style != "resnet" or number == 0) else None
                    blocks.append(Bottleneck(inplanes, planes, block_stride, downsample, se=se,
                                             dcn=block_dcn, shuffle=style == "shuffle"))
                else:
                    blocks.append(BasicBlock(inplanes, planes, block_stride, downsample, se=se))
                inplanes = planes * expansion
            self.add_module(f"layer{index + 1}", nn.Sequential(*blocks))
        self.depth = depth
        self.style = style
        self.out_channels = inplanes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)


def build_backbone(depth: int, style: str = "resnet", dcn: DCNConfig | None = None,
                   stage_with_dcn: tuple[bool, bool, bool, bool] = (False, True, True, True)
                   ) -> ResNet:
    """A ResNet trunk; ``stage_with_dcn`` matters only when ``dcn`` is given."""
    flags = stage_with_dcn if dcn is not None else (False, False, False, False)
    return ResNet(depth, style=style, dcn=dcn, stage_with_dcn=flags)


def resnet18() -> ResNet:
    """Plain ResNet-18 trunk."""
    return ResNet(18)


def resnet50() -> ResNet:
    """Plain ResNet-50 trunk (SimplePose's backbone)."""
    return ResNet(50)


def resnet101() -> ResNet:
    """Plain ResNet-101 trunk."""
    return ResNet(101)


def resnet152() -> ResNet:
    """Plain ResNet-152 trunk."""
    return ResNet(152)


def se_resnet50(dcn: DCNConfig | None = None) -> ResNet:
    """SE-ResNet-50 trunk (FastPose's); with ``dcn``, deformable in stages 2-4."""
    return build_backbone(50, "se-resnet", dcn)


def se_resnet101(dcn: DCNConfig | None = None) -> ResNet:
    """SE-ResNet-101 trunk; with ``dcn``, deformable in stages 2-4."""
    return build_backbone(101, "se-resnet", dcn)


def se_resnet152(dcn: DCNConfig | None = None) -> ResNet:
    """SE-ResNet-152 trunk; with ``dcn``, deformable in stages 2-4."""
    return build_backbone(152, "se-resnet", dcn)
