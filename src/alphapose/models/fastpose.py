"""FastPose family: a ResNet trunk and a pixel-shuffle (DUC) head, at stride 4.

* :class:`FastPose` (official ``FastPose``): SE-ResNet trunk -> ``suffle1`` (PixelShuffle 2, the
  official spelling) -> ``duc1`` (DUC 512 -> 1024) -> ``duc2`` (DUC 256 -> 4 * conv_dim) ->
  ``conv_out`` (3x3, conv_dim -> K). For 256x192 crops: 2048x8x6 -> 512x16x12 -> 256x32x24 ->
  conv_dim x 64x48 -> K x 64 x 48.
* :class:`FastPoseDUC` (official ``FastPose_DUC``): a trunk chosen by ``backbone`` and three head
  stages ``duc1..3``, each ``[PixelShuffle(2), (num_conv - 1) x (3x3 conv, BN, ReLU), 3x3 conv to
  the stage width, BN, ReLU]`` as one ``nn.Sequential`` (hence numeric keys ``duc1.1.weight``,
  ``duc1.2.running_mean``, ...), widths 1024, 512, 256, then ``conv_out`` (3x3, 256 -> K).
* :class:`FastPoseDUCDense` (official ``FastPose_DUC_Dense``): two FastPose_DUC heads (``duc`` and
  ``duc_dense``) on one trunk, outputs concatenated (``num_joints`` + the dense rest).

Every model takes crops ``(B, 3, h, w)`` and returns raw maps ``(B, K, h / 4, w / 4)``.
"""

from __future__ import annotations

import torch
from torch import nn

from alphapose.config import DCNConfig, ModelConfig
from alphapose.models.layers import DUC, validate_input_size
from alphapose.models.resnet import build_backbone

__all__ = [
    "FastPose",
    "FastPoseDUC",
    "FastPoseDUCDense",
    "build_fastpose",
    "build_fastpose_duc",
    "build_fastpose_duc_dense",
    "duc_stage",
    "fastpose_dcn_res50",
    "fastpose_duc_res152",
    "fastpose_duc_shuffle_res50",
    "fastpose_res50",
    "fastpose_res152",
]

_DEFAULT_DCN_STAGES = (False, True, True, True)


def duc_stage(in_channels: int, out_channels: int, num_conv: int) -> nn.Sequential:
    """One FastPose_DUC head stage: PixelShuffle(2) then ``num_conv`` (3x3 conv, BN, ReLU).

    The convs keep ``in_channels / 4`` channels except the last, which outputs ``out_channels``.

    Shape:
        ``(B, in, H, W) -> (B, out, 2 H, 2 W)``.
    """
    if num_conv < 1:
        raise ValueError(f"num_conv: expected >= 1, got {num_conv}")
    width = in_channels // 4
    layers: list[nn.Module] = [nn.PixelShuffle(2)]
    for index in range(num_conv):
        out = out_channels if index == num_conv - 1 else width
        layers += [nn.Conv2d(width, out, 3, padding=1, bias=False),
                   nn.BatchNorm2d(out, momentum=0.1), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class FastPose(nn.Module):
    """FastPose: SE-ResNet trunk, two DUC blocks, 3x3 output conv.

    Args:
        num_keypoints: output maps ``K``.
        depth: ResNet depth (18, 34, 50, 101, 152).
        conv_dim: head width before ``conv_out`` (official ``CONV_DIM``: 128 or 256).
        dcn: deformable-convolution settings, or None.
        stage_with_dcn: trunk stages that use ``dcn``.
        input_size: crop ``(h, w)``, multiples of 32.

    Shape:
        ``(B, 3, h, w) -> (B, K, h / 4, w / 4)``.
    """

    def __init__(self, num_keypoints: int, *, depth: int = 50, conv_dim: int = 128,
                 dcn: DCNConfig | None = None,
                 stage_with_dcn: tuple[bool, bool, bool, bool] = _DEFAULT_DCN_STAGES,
                 input_size: tuple[int, int] = (256, 192)) -> None:
        super().__init__()
        self.input_size = validate_input_size(input_size)
        self.output_size = (self.input_size[0] // 4, self.input_size[1] // 4)
        self.num_keypoints = int(num_keypoints)
        self.preact = build_backbone(depth, "se-resnet", dcn, stage_with_dcn)
        self.suffle1 = nn.PixelShuffle(2)
        self.duc1 = DUC(self.preact.out_channels // 4, 1024)
        self.duc2 = DUC(256, 4 * conv_dim)
        self.conv_out = nn.Conv2d(conv_dim, self.num_keypoints, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.suffle1(self.preact(x))
        out = self.duc2(self.duc1(out))
        return self.conv_out(out)


class FastPoseDUC(nn.Module):
    """FastPose_DUC: trunk chosen by ``backbone``, three DUC stages, 3x3 output conv.

    Args:
        num_keypoints: output maps ``K``.
        depth: ResNet depth.
        backbone: ``"se-resnet"``, ``"shuffle"`` or ``"resnet"``.
        num_conv: convs in head stages 1-3 (official ``STAGE1..3.NUM_CONV``).
        dcn: deformable-convolution settings, or None.
        stage_with_dcn: trunk stages that use ``dcn``.
        input_size: crop ``(h, w)``, multiples of 32.

    Shape:
        ``(B, 3, h, w) -> (B, K, h / 4, w / 4)``.
    """

    conv_dim = 256

    def __init__(self, num_keypoints: int, *, depth: int = 50, backbone: str = "se-resnet",
                 num_conv: tuple[int, int, int] = (4, 2, 1), dcn: DCNConfig | None = None,
                 stage_with_dcn: tuple[bool, bool, bool, bool] = _DEFAULT_DCN_STAGES,
                 input_size: tuple[int, int] = (256, 192)) -> None:
        super().__init__()
        self.input_size = validate_input_size(input_size)
        self.output_size = (self.input_size[0] // 4, self.input_size[1] // 4)
        self.num_keypoints = int(num_keypoints)
        self.preact = build_backbone(depth, backbone, dcn, stage_with_dcn)
        self.duc1 = duc_stage(self.preact.out_channels, 1024, num_conv[0])
        self.duc2 = duc_stage(1024, 512, num_conv[1])
        self.duc3 = duc_stage(512, self.conv_dim, num_conv[2])
        self.conv_out = nn.Conv2d(self.conv_dim, self.num_keypoints, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.duc3(self.duc2(self.duc1(self.preact(x))))
        return self.conv_out(out)


class FastPoseDUCDense(nn.Module):
    """FastPose_DUC_Dense: two FastPose_DUC heads on one trunk, maps concatenated.

    Args:
        num_joints: maps of the first head (``conv_out``).
        num_joints_dense: total maps; the second head (``conv_out_dense``) gives the rest.
        depth, backbone, num_conv, dcn, stage_with_dcn, input_size: as :class:`FastPoseDUC`.

    Shape:
        ``(B, 3, h, w) -> (B, num_joints_dense, h / 4, w / 4)``.
    """

    conv_dim = 256

    def __init__(self, num_joints: int, num_joints_dense: int, *, depth: int = 50,
                 backbone: str = "se-resnet", num_conv: tuple[int, int, int] = (4, 2, 1),
                 dcn: DCNConfig | None = None,
                 stage_with_dcn: tuple[bool, bool, bool, bool] = _DEFAULT_DCN_STAGES,
                 input_size: tuple[int, int] = (256, 192)) -> None:
        super().__init__()
        if num_joints_dense <= num_joints:
            raise ValueError(f"num_joints_dense ({num_joints_dense}) must exceed num_joints "
                             f"({num_joints})")
        self.input_size = validate_input_size(input_size)
        self.output_size = (self.input_size[0] // 4, self.input_size[1] // 4)
        self.num_keypoints = int(num_joints_dense)
        self.preact = build_backbone(depth, backbone, dcn, stage_with_dcn)
        widths = ((self.preact.out_channels, 1024), (1024, 512), (512, self.conv_dim))
        self.duc = nn.Sequential(*(duc_stage(i, o, n) for (i, o), n in zip(widths, num_conv)))
        self.duc_dense = nn.Sequential(*(duc_stage(i, o, n) for (i, o), n in zip(widths, num_conv)))
        self.conv_out = nn.Conv2d(self.conv_dim, num_joints, 3, padding=1)
        self.conv_out_dense = nn.Conv2d(self.conv_dim, num_joints_dense - num_joints, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.preact(x)
        return torch.cat((self.conv_out(self.duc(features)),
                          self.conv_out_dense(self.duc_dense(features))), dim=1)


def build_fastpose(cfg: ModelConfig) -> FastPose:
    """FastPose from a config (reads num_joints, input_size, num_layers, conv_dim, dcn)."""
    return FastPose(cfg.num_joints, depth=cfg.num_layers, conv_dim=cfg.conv_dim, dcn=cfg.dcn,
                    stage_with_dcn=cfg.stage_with_dcn, input_size=cfg.input_size)


def build_fastpose_duc(cfg: ModelConfig) -> FastPoseDUC:
    """FastPose_DUC from a config (reads backbone and duc_num_conv too)."""
    return FastPoseDUC(cfg.num_joints, depth=cfg.num_layers, backbone=cfg.backbone,
                       num_conv=cfg.duc_num_conv, dcn=cfg.dcn, stage_with_dcn=cfg.stage_with_dcn,
                       input_size=cfg.input_size)


def build_fastpose_duc_dense(cfg: ModelConfig) -> FastPoseDUCDense:
    """FastPose_DUC_Dense from a config (needs num_joints_dense)."""
    if cfg.num_joints_dense is None:
        raise ValueError("FastPose_DUC_Dense needs num_joints_dense (official "
                         "DATA_PRESET.NUM_JOINTS_DENSE)")
    return FastPoseDUCDense(cfg.num_joints, cfg.num_joints_dense, depth=cfg.num_layers,
                            backbone=cfg.backbone, num_conv=cfg.duc_num_conv, dcn=cfg.dcn,
                            stage_with_dcn=cfg.stage_with_dcn, input_size=cfg.input_size)


def fastpose_res50(num_keypoints: int = 17, conv_dim: int = 128) -> FastPose:
    """FastPose on SE-ResNet-50 (official COCO / Halpe-26 / whole-body regression models)."""
    return FastPose(num_keypoints, depth=50, conv_dim=conv_dim)


def fastpose_dcn_res50(num_keypoints: int = 17, conv_dim: int = 128) -> FastPose:
    """FastPose on SE-ResNet-50 with DCN v1 in stages 2-4 (official ``*-dcn*`` models)."""
    return FastPose(num_keypoints, depth=50, conv_dim=conv_dim, dcn=DCNConfig())


def fastpose_res152(num_keypoints: int = 136, conv_dim: int = 256) -> FastPose:
    """FastPose on SE-ResNet-152 (the official whole-body ``res152 ... -duc`` models)."""
    return FastPose(num_keypoints, depth=152, conv_dim=conv_dim)


def fastpose_duc_shuffle_res50(num_keypoints: int = 17) -> FastPoseDUC:
    """FastPose_DUC on ShuffleResNet-50, head convs 4/2/1 (official COCO ``res50 1x-duc``)."""
    return FastPoseDUC(num_keypoints, depth=50, backbone="shuffle")


def fastpose_duc_res152(num_keypoints: int = 17) -> FastPoseDUC:
    """FastPose_DUC on SE-ResNet-152, head convs 4/2/1 (official COCO ``res152 1x-duc``)."""
    return FastPoseDUC(num_keypoints, depth=152, backbone="se-resnet")
