"""SimplePose (the Simple Baseline): plain ResNet trunk, three deconvolutions, 1x1 output conv.

Official names: ``preact`` (torchvision-identical ResNet keys), ``deconv_layers`` = one
``nn.Sequential`` of [ConvTranspose2d (4x4, stride 2, pad 1, no bias), BN, ReLU] x 3 (indices 0/1,
3/4, 6/7), ``final_layer`` (1x1 conv with bias). ConvTranspose weights are ``(in, out, 4, 4)``.
"""

from __future__ import annotations

import torch
from torch import nn

from alphapose.config import ModelConfig
from alphapose.models.layers import validate_input_size
from alphapose.models.resnet import ResNet

__all__ = ["SimplePose", "build_simplepose", "deconv_head", "simplepose_res50"]


def deconv_head(in_channels: int, filters: tuple[int, ...]) -> nn.Sequential:
    """[ConvTranspose2d(4, stride 2, pad 1, no bias), BN, ReLU] per entry of ``filters``.

    Shape:
        ``(B, in, H, W) -> (B, filters[-1], H * 2**len(filters), W * 2**len(filters))``.
    """
    layers: list[nn.Module] = []
    for width in filters:
        layers += [nn.ConvTranspose2d(in_channels, width, 4, stride=2, padding=1, bias=False),
                   nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        in_channels = width
    return nn.Sequential(*layers)


class SimplePose(nn.Module):
    """Simple Baseline pose network.

    Args:
        num_keypoints: output maps ``K``.
        depth: ResNet depth.
        deconv_filters: widths of the three deconvolutions (official ``NUM_DECONV_FILTERS``).
        input_size: crop ``(h, w)``, multiples of 32.

    Shape:
        ``(B, 3, h, w) -> (B, K, h / 4, w / 4)``.
    """

    def __init__(self, num_keypoints: int, *, depth: int = 50,
                 deconv_filters: tuple[int, int, int] = (256, 256, 256),
                 input_size: tuple[int, int] = (256, 192)) -> None:
        super().__init__()
        if len(deconv_filters) != 3:
            raise ValueError(f"deconv_filters: expected 3 widths (stride 32 -> 4), got "
                             f"{deconv_filters!r}")
        self.input_size = validate_input_size(input_size)
        self.output_size = (self.input_size[0] // 4, self.input_size[1] // 4)
        self.num_keypoints = int(num_keypoints)
        self.preact = ResNet(depth, style="resnet")
        self.deconv_layers = deconv_head(self.preact.out_channels, tuple(deconv_filters))
        self.final_layer = nn.Conv2d(deconv_filters[-1], self.num_keypoints, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.deconv_layers(self.preact(x)))


def build_simplepose(cfg: ModelConfig) -> SimplePose:
    """SimplePose from a config (reads num_joints, input_size, num_layers, num_deconv_filters)."""
    return SimplePose(cfg.num_joints, depth=cfg.num_layers,
                      deconv_filters=cfg.num_deconv_filters,  # type: ignore[arg-type]
                      input_size=cfg.input_size)


def simplepose_res50(num_keypoints: int = 17) -> SimplePose:
    """SimplePose on ResNet-50 (official COCO ``res50 1x-simple``)."""
    return SimplePose(num_keypoints, depth=50)
