"""HRNet pose network (official ``PoseHighResolutionNet``, the layout of Microsoft's pose HRNet).

Stem: ``conv1`` (3x3 s2) ``bn1`` ``conv2`` (3x3 s2) ``bn2`` -> ``layer1`` (4 bottlenecks 64 -> 256).
Then stages 2-4 (``stage2..4``, sequences of :class:`HighResolutionModule`), each preceded by
``transition1..3``: a branch that keeps its width passes through (an entry without parameters),
a branch whose width changes gets [3x3 conv, BN, ReLU], a new branch is made from the lowest
resolution by a chain of [3x3 stride-2 conv, BN, ReLU]. Inside a module, each branch runs its
residual blocks, then every output resolution ``i`` sums all branches ``j``: ``j > i`` through
[1x1 conv, BN, nearest upsample x 2^(j-i)], ``j < i`` through (i - j) [3x3 stride-2 conv, BN]
(ReLU after all but the last), ``j == i`` as is; a ReLU follows the sum. The last module of
stage 4 outputs only the highest resolution, which ``final_layer`` (1x1 conv) maps to K maps.

Key indices of the official state dict are kept: pass-through entries hold no parameters, so e.g.
``transition2.2.0.0.weight`` and ``stage2.0.fuse_layers.1.0.0.0.weight`` keep their numbers.
"""

from __future__ import annotations

import torch
from torch import nn

from alphapose.config import HRNetStage, ModelConfig, hrnet_stages
from alphapose.models.layers import validate_input_size
from alphapose.models.resnet import BasicBlock, Bottleneck

__all__ = ["HRNet", "HighResolutionModule", "build_hrnet", "hrnet_w32", "hrnet_w48"]

_BLOCKS: dict[str, type[BasicBlock | Bottleneck]] = {"BASIC": BasicBlock,
                                                           "BOTTLENECK": Bottleneck}


def _residual_stack(block: type[BasicBlock | Bottleneck], inplanes: int, planes: int,
                    count: int) -> nn.Sequential:
    downsample = None
    if inplanes != planes * block.expansion:
        downsample = nn.Sequential(nn.Conv2d(inplanes, planes * block.expansion, 1, bias=False),
                                   nn.BatchNorm2d(planes * block.expansion, momentum=0.1))
    layers: list[nn.Module] = [block(inplanes, planes, 1, downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(1, count)]
    return nn.Sequential(*layers)


def _conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int,
             relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class HighResolutionModule(nn.Module):
    """Parallel branches followed by an all-to-all fusion.

    Args:
        in_channels: channels of each input branch.
        block: ``"BASIC"`` or ``"BOTTLENECK"``.
        num_blocks: residual blocks per branch.
        num_channels: block width per branch (outputs ``width * expansion``).
        multi_scale_output: output every resolution (else only the highest).

    Shape:
        list of ``(B, C_i, H / 2**i, W / 2**i)`` -> list of the same (or only the first).
    """

    def __init__(self, in_channels: tuple[int, ...], block: str, num_blocks: tuple[int, ...],
                 num_channels: tuple[int, ...], multi_scale_output: bool = True) -> None:
        super().__init__()
        kind = _BLOCKS[block]
        if not len(in_channels) == len(num_blocks) == len(num_channels):
            raise ValueError(f"HighResolutionModule: {len(in_channels)} inputs, {len(num_blocks)} "
                             f"block counts and {len(num_channels)} widths must agree")
        self.branches = nn.ModuleList(
            _residual_stack(kind, cin, width, count)
            for cin, width, count in zip(in_channels, num_channels, num_blocks))
        widths = tuple(width * kind.expansion for width in num_channels)
        self.out_channels = widths
        branches = len(widths)
        fuse_layers = []
        for i in range(branches if multi_scale_output else 1):
            row: list[nn.Module] = []
            for j in range(branches):
                if j > i:
                    row.append(nn.Sequential(
                        nn.Conv2d(widths[j], widths[i], 1, bias=False), nn.BatchNorm2d(widths[i]),
                        nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")))
                elif j == i:
                    row.append(nn.Identity())
                else:
                    last = i - j - 1
                    steps = [_conv_bn(widths[j], widths[i] if step == last else widths[j], 3, 2,
                                      relu=step != last) for step in range(i - j)]
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(fuse_layers) if branches > 1 else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        outputs = []
        for row in self.fuse_layers:
            total = row[0](xs[0])
            for j in range(1, len(xs)):
                total = total + row[j](xs[j])
            outputs.append(self.relu(total))
        return outputs


class HRNet(nn.Module):
    """Pose HRNet (official ``PoseHighResolutionNet``).

    Args:
        num_keypoints: output maps ``K``.
        stages: stages 2, 3, 4 (e.g. :func:`alphapose.config.hrnet_stages` ``(32)`` for W32).
        final_conv_kernel: 1 or 3.
        input_size: crop ``(h, w)``, multiples of 32.

    Shape:
        ``(B, 3, h, w) -> (B, K, h / 4, w / 4)``.
    """

    def __init__(self, num_keypoints: int, *, stages: tuple[HRNetStage, ...] = hrnet_stages(32),
                 final_conv_kernel: int = 1, input_size: tuple[int, int] = (256, 192)) -> None:
        super().__init__()
        if len(stages) != 3:
            raise ValueError(f"stages: expected stages 2, 3, 4, got {len(stages)}")
        if final_conv_kernel not in (1, 3):
            raise ValueError(f"final_conv_kernel: expected 1 or 3, got {final_conv_kernel}")
        self.input_size = validate_input_size(input_size)
        self.output_size = (self.input_size[0] // 4, self.input_size[1] // 4)
        self.num_keypoints = int(num_keypoints)
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, momentum=0.1)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64, momentum=0.1)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = _residual_stack(Bottleneck, 64, 64, 4)
        previous: tuple[int, ...] = (64 * Bottleneck.expansion,)
        for number, stage in enumerate(stages, start=1):
            expansion = _BLOCKS[stage.block].expansion
            wanted = tuple(width * expansion for width in stage.num_channels)
            self.add_module(f"transition{number}", self._transition(previous, wanted))
            modules = []
            inputs = wanted
            for index in range(stage.num_modules):
                last = number == 3 and index == stage.num_modules - 1
                module = HighResolutionModule(inputs, stage.block, stage.num_blocks,
                                              stage.num_channels, multi_scale_output=not last)
                modules.append(module)
                inputs = module.out_channels
            self.add_module(f"stage{number + 1}", nn.Sequential(*modules))
            previous = inputs
        self.final_layer = nn.Conv2d(previous[0], self.num_keypoints, final_conv_kernel, 1,
                                     final_conv_kernel // 2)

    @staticmethod
    def _transition(previous: tuple[int, ...], wanted: tuple[int, ...]) -> nn.ModuleList:
        layers: list[nn.Module] = []
        for i, width in enumerate(wanted):
            if i < len(previous):
                layers.append(nn.Identity() if previous[i] == width
                              else _conv_bn(previous[i], width, 3, 1, relu=True))
            else:
                extra = i + 1 - len(previous)
                layers.append(nn.Sequential(*(
                    _conv_bn(previous[-1], width if step == extra - 1 else previous[-1], 3, 2,
                             relu=True)
                    for step in range(extra))))
        return nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for transition, stage in ((self.transition1, self.stage2), (self.transition2, self.stage3),
                                  (self.transition3, self.stage4)):
            # Existing resolutions pass through (or change width); new ones grow from the lowest.
            xs = [layer(xs[i] if i < len(xs) else xs[-1]) for i, layer in enumerate(transition)]
            xs = stage(xs)
        return self.final_layer(xs[0])


def build_hrnet(cfg: ModelConfig) -> HRNet:
    """HRNet from a config (reads num_joints, input_size, hrnet_stages, final_conv_kernel)."""
    return HRNet(cfg.num_joints, stages=cfg.hrnet_stages, final_conv_kernel=cfg.final_conv_kernel,
                 input_size=cfg.input_size)


def hrnet_w32(num_keypoints: int = 17) -> HRNet:
    """HRNet-W32 (official COCO ``256x192_w32_lr1e-3``)."""
    return HRNet(num_keypoints, stages=hrnet_stages(32))


def hrnet_w48(num_keypoints: int = 17) -> HRNet:
    """HRNet-W48 (same layout, widths 48/96/192/384; no official AlphaPose config)."""
    return HRNet(num_keypoints, stages=hrnet_stages(48))
