"""The pose-network configuration as frozen dataclasses (:class:`PoseConfig` and its parts),
checked on construction; :meth:`PoseConfig.to_official_dict` writes the official YAML layout.
Reading official files is :mod:`alphapose.config.official`."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "BACKBONES",
    "LOSS_TYPES",
    "NORM_TYPES",
    "RESNET_DEPTHS",
    "DCNConfig",
    "HRNetStage",
    "LossConfig",
    "ModelConfig",
    "PoseConfig",
    "PresetConfig",
    "hrnet_stages",
]

#: ResNet depths the backbones support (``MODEL.NUM_LAYERS``).
RESNET_DEPTHS = (18, 34, 50, 101, 152)
#: ``MODEL.BACKBONE`` values (read by FastPose_DUC and FastPose_DUC_Dense only).
BACKBONES = ("se-resnet", "shuffle", "resnet")
#: ``LOSS.TYPE`` values of the 2D configs; the type also selects the decoder.
LOSS_TYPES = ("MSELoss", "L1JointRegression", "Combined")
#: ``NORM_TYPE`` values of the integral-regression decoder.
NORM_TYPES = ("sigmoid", "softmax", "divide_sum")

_RESNET_TYPES = ("FastPose", "FastPose_DUC", "FastPose_DUC_Dense", "SimplePose")
_HRNET_BLOCKS = ("BASIC", "BOTTLENECK")
@dataclass(frozen=True)
class DCNConfig:
    """Deformable-convolution settings (official ``MODEL.DCN``).

    Attributes:
        modulated: DCN v2 (offsets plus a sigmoid mask, 27 offset-conv channels per group)
            instead of v1 (18 channels). No official config sets it.
        deform_group: number of offset groups the input channels are split into.
        fallback_on_stride: official flag that, when true, replaces every deformable conv by a
            plain one (despite its name it does not look at the stride).
    """

    modulated: bool = False
    deform_group: int = 1
    fallback_on_stride: bool = False

    def __post_init__(self) -> None:
        _require_type(self.modulated, bool, "DCNConfig.modulated")
        _require_type(self.fallback_on_stride, bool, "DCNConfig.fallback_on_stride")
        _require_positive_int(self.deform_group, "DCNConfig.deform_group")


@dataclass(frozen=True)
class HRNetStage:
    """One HRNet stage (official ``MODEL.STAGE2`` .. ``STAGE4``).

    Attributes:
        num_modules: number of high-resolution modules in the stage.
        num_branches: number of parallel resolutions (branch ``i`` has stride ``4 * 2**i``).
        num_blocks: residual blocks per branch, one entry per branch.
        num_channels: block width per branch, one entry per branch.
        block: ``"BASIC"`` or ``"BOTTLENECK"``.
        fuse_method: ``"SUM"`` (the only method the official network implements).
    """

    num_modules: int
    num_branches: int
    num_blocks: tuple[int, ...]
    num_channels: tuple[int, ...]
    block: str = "BASIC"
    fuse_method: str = "SUM"

    def __post_init__(self) -> None:
        _require_positive_int(self.num_modules, "HRNetStage.num_modules")
        _require_positive_int(self.num_branches, "HRNetStage.num_branches")
        for name in ("num_blocks", "num_channels"):
            value = tuple(getattr(self, name))
            object.__setattr__(self, name, value)
            if len(value) != self.num_branches:
                raise ValueError(f"HRNetStage.{name}: expected {self.num_branches} entries (one "
                                 f"per branch), got {len(value)}: {list(value)}")
            for item in value:
                _require_positive_int(item, f"HRNetStage.{name} entry")
        if self.block not in _HRNET_BLOCKS:
            raise ValueError(f"HRNetStage.block: expected one of {_HRNET_BLOCKS}, got "
                             f"{self.block!r}")
        if self.fuse_method != "SUM":
            raise ValueError(f"HRNetStage.fuse_method: only 'SUM' is defined, got "
                             f"{self.fuse_method!r}")


def hrnet_stages(width: int) -> tuple[HRNetStage, HRNetStage, HRNetStage]:
    """Stages 2-4 of the standard pose HRNet of the given width (32 -> HRNet-W32, 48 -> W48).

    Stage ``s`` has ``s`` branches of widths ``width * 2**i`` and BASIC blocks, four per branch;
    stages 2, 3, 4 repeat their module 1, 4 and 3 times.
    """
    _require_positive_int(width, "width")
    return tuple(  # type: ignore[return-value]
        HRNetStage(num_modules=modules, num_branches=branches, num_blocks=(4,) * branches,
                   num_channels=tuple(width * 2 ** i for i in range(branches)))
        for modules, branches in ((1, 2), (4, 3), (3, 4)))


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one pose network (official ``MODEL`` plus the joint count and crop size).

    Only the fields the chosen ``type`` reads matter; the others keep their defaults.

    Attributes:
        type: official ``MODEL.TYPE``: ``"FastPose"``, ``"FastPose_DUC"``, ``"FastPose_DUC_Dense"``,
            ``"SimplePose"``, ``"PoseHighResolutionNet"`` (see ``alphapose.models.list_models``).
        num_joints: output maps (official ``DATA_PRESET.NUM_JOINTS``).
        input_size: crop ``(h, w)`` in pixels (``DATA_PRESET.IMAGE_SIZE``); multiples of 32.
        num_layers: ResNet depth of the backbone, one of :data:`RESNET_DEPTHS` (HRNet ignores it).
        conv_dim: FastPose head width (``CONV_DIM``; 128 when absent).
        num_deconv_filters: SimplePose deconvolution widths (``NUM_DECONV_FILTERS``).
        backbone: FastPose_DUC trunk (``BACKBONE``): ``"se-resnet"``, ``"shuffle"`` or
            ``"resnet"``. FastPose always uses the SE-ResNet; SimplePose the plain ResNet.
        duc_num_conv: convolutions in the three FastPose_DUC head stages
            (``STAGE1..3.NUM_CONV``).
        dcn: deformable-convolution settings, or None for none (``DCN``).
        stage_with_dcn: which of the four ResNet stages use DCN when ``dcn`` is set
            (``STAGE_WITH_DCN``).
        final_conv_kernel: HRNet output-conv kernel, 1 or 3 (``FINAL_CONV_KERNEL``).
        hrnet_stages: HRNet stages 2-4 (``STAGE2..4`` of an HRNet config); HRNet-W32 by default.
        num_joints_dense: total maps of FastPose_DUC_Dense (``DATA_PRESET.NUM_JOINTS_DENSE``),
            the last ``num_joints_dense - num_joints`` from the second head.
    """

    type: str
    num_joints: int
    input_size: tuple[int, int] = (256, 192)
    num_layers: int = 50
    conv_dim: int = 128
    num_deconv_filters: tuple[int, ...] = (256, 256, 256)
    backbone: str = "se-resnet"
    duc_num_conv: tuple[int, int, int] = (4, 2, 1)
    dcn: DCNConfig | None = None
    stage_with_dcn: tuple[bool, bool, bool, bool] = (False, True, True, True)
    final_conv_kernel: int = 1
    hrnet_stages: tuple[HRNetStage, ...] = field(default_factory=lambda: hrnet_stages(32))
    num_joints_dense: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or not self.type:
            raise TypeError(f"ModelConfig.type: expected a non-empty str, got {self.type!r}")
        _require_positive_int(self.num_joints, "ModelConfig.num_joints")
        size = _int_tuple(self.input_size, "ModelConfig.input_size", 2)
        if any(v % 32 for v in size):
            raise ValueError(f"ModelConfig.input_size: (h, w) must be multiples of 32 (the "
                             f"backbones downsample by 32), got {size}")
        object.__setattr__(self, "input_size", size)
        _require_positive_int(self.num_layers, "ModelConfig.num_layers")
        if self.type in _RESNET_TYPES and self.num_layers not in RESNET_DEPTHS:
            raise ValueError(f"ModelConfig.num_layers: {self.type} has a ResNet backbone; expected "
                             f"one of {RESNET_DEPTHS}, got {self.num_layers!r}")
        _require_positive_int(self.conv_dim, "ModelConfig.conv_dim")
        object.__setattr__(self, "num_deconv_filters",
                           _int_tuple(self.num_deconv_filters, "ModelConfig.num_deconv_filters", 3))
        if self.backbone not in BACKBONES:
            raise ValueError(f"ModelConfig.backbone: expected one of {BACKBONES}, got "
                             f"{self.backbone!r}{_suggest(str(self.backbone), BACKBONES)}")
        object.__setattr__(self, "duc_num_conv",
                           _int_tuple(self.duc_num_conv, "ModelConfig.duc_num_conv", 3))
        if self.dcn is not None and not isinstance(self.dcn, DCNConfig):
            raise TypeError(f"ModelConfig.dcn: expected a DCNConfig or None, got "
                            f"{type(self.dcn).__name__}")
        flags = tuple(self.stage_with_dcn)
        if len(flags) != 4 or not all(isinstance(f, bool) for f in flags):
            raise ValueError(f"ModelConfig.stage_with_dcn: expected 4 bools, got {list(flags)}")
        object.__setattr__(self, "stage_with_dcn", flags)
        if self.final_conv_kernel not in (1, 3):
            raise ValueError(f"ModelConfig.final_conv_kernel: expected 1 or 3, got "
                             f"{self.final_conv_kernel!r}")
        stages = tuple(self.hrnet_stages)
        if len(stages) != 3 or not all(isinstance(s, HRNetStage) for s in stages):
            raise ValueError("ModelConfig.hrnet_stages: expected 3 HRNetStage (stages 2, 3, 4)")
        for number, stage in enumerate(stages, start=2):
            if stage.num_branches != number:
                raise ValueError(f"ModelConfig.hrnet_stages: stage {number} must have {number} "
                                 f"branches, got {stage.num_branches}")
        object.__setattr__(self, "hrnet_stages", stages)
        if self.num_joints_dense is not None:
            _require_positive_int(self.num_joints_dense, "ModelConfig.num_joints_dense")
            if self.num_joints_dense <= self.num_joints:
                raise ValueError(f"ModelConfig.num_joints_dense ({self.num_joints_dense}) must "
                                 f"exceed num_joints ({self.num_joints})")

    @property
    def output_size(self) -> tuple[int, int]:
        """Output map ``(h, w)``: every family predicts at stride 4."""
        return self.input_size[0] // 4, self.input_size[1] // 4


@dataclass(frozen=True)
class PresetConfig:
    """Official ``DATA_PRESET``: crop and training-target settings.

    Attributes:
        type: preset type (``"simple"`` for every 2D config).
        image_size: crop ``(h, w)``.
        heatmap_size: target / output map ``(h, w)`` (``image_size / 4``).
        sigma: Gaussian sigma of heatmap targets, in map pixels.
        num_joints: keypoints predicted.
        num_joints_dense: FastPose_DUC_Dense total maps, else None.
        loss_type: ``DATA_PRESET.LOSS_TYPE`` (drives target generation), None when absent (heatmap).
        norm_type: ``DATA_PRESET.NORM_TYPE``, None when absent.
    """

    type: str = "simple"
    image_size: tuple[int, int] = (256, 192)
    heatmap_size: tuple[int, int] = (64, 48)
    sigma: float = 2.0
    num_joints: int = 17
    num_joints_dense: int | None = None
    loss_type: str | None = None
    norm_type: str | None = None


@dataclass(frozen=True)
class LossConfig:
    """Official ``LOSS``: the training loss, which also selects the decoder at inference.

    ``"MSELoss"`` -> heatmaps (argmax decoding); ``"L1JointRegression"`` -> symmetric integral
    regression with ``norm_type`` normalisation; ``"Combined"`` -> heatmaps for the body channels
    and integral regression for the rest (``loss_1`` and ``loss_2`` hold the parts).

    Attributes:
        type: one of :data:`LOSS_TYPES`.
        norm_type: map normalisation of the integral decoder (:data:`NORM_TYPES`), or None.
        output_3d: official flag; always False for 2D configs.
        loss_1: first part of a Combined loss (the heatmap part), else None.
        loss_2: second part of a Combined loss (the integral part), else None.
    """

    type: str = "MSELoss"
    norm_type: str | None = None
    output_3d: bool = False
    loss_1: LossConfig | None = None
    loss_2: LossConfig | None = None


@dataclass(frozen=True)
class PoseConfig:
    """One official config, read: architecture, preset, loss, and what we do not model.

    Attributes:
        model: the architecture (with ``num_joints`` and ``input_size`` from ``DATA_PRESET``).
        preset: ``DATA_PRESET``.
        loss: ``LOSS``.
        name: official name (relative path without ``.yaml``) or the file stem.
        train_dataset: ``DATASET.TRAIN.TYPE`` (the official flip test takes its joint pairs from
            this dataset class), ``""`` when absent.
        ignored: the keys read but not modelled, as nested dicts in the file's structure
            (``DATASET``, ``TRAIN``, ``DETECTOR``, ``TEST`` and e.g. ``MODEL.PRETRAINED``).
    """

    model: ModelConfig
    preset: PresetConfig
    loss: LossConfig
    name: str = ""
    train_dataset: str = ""
    ignored: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @property
    def layout(self) -> str | None:
        """Name of the matching ``alphapose.skeletons`` layout, or None if there is none.

        Halpe+COCO-WholeBody multi-domain models predict in the Halpe-136 order.
        """
        by_joints = {17: "coco17", 26: "halpe26", 136: "halpe136", 133: "coco_wholebody133"}
        if self.model.type == "FastPose_DUC_Dense":
            return None
        return by_joints.get(self.model.num_joints)

    def to_official_dict(self) -> dict[str, Any]:
        """The config in the official YAML structure (e.g. to save it next to outputs).

        ``read_official_config(cfg.to_official_dict())`` gives back an equal config.
        """
        out: dict[str, Any] = copy.deepcopy(_thaw(self.ignored))
        model = self.model
        section: dict[str, Any] = {"TYPE": model.type, "NUM_LAYERS": model.num_layers}
        if model.type == "PoseHighResolutionNet":
            section["FINAL_CONV_KERNEL"] = model.final_conv_kernel
            for number, stage in enumerate(model.hrnet_stages, start=2):
                section[f"STAGE{number}"] = {
                    "NUM_MODULES": stage.num_modules, "NUM_BRANCHES": stage.num_branches,
                    "NUM_BLOCKS": list(stage.num_blocks), "NUM_CHANNELS": list(stage.num_channels),
                    "BLOCK": stage.block, "FUSE_METHOD": stage.fuse_method}
        else:
            section["CONV_DIM"] = model.conv_dim
            section["NUM_DECONV_FILTERS"] = list(model.num_deconv_filters)
            section["BACKBONE"] = model.backbone
            section["FINAL_CONV_KERNEL"] = model.final_conv_kernel
            for number, num_conv in enumerate(model.duc_num_conv, start=1):
                section[f"STAGE{number}"] = {"NUM_CONV": num_conv}
            if model.dcn is not None:
                section["DCN"] = {"MODULATED": model.dcn.modulated,
                                  "DEFORM_GROUP": model.dcn.deform_group,
                                  "FALLBACK_ON_STRIDE": model.dcn.fallback_on_stride}
                section["STAGE_WITH_DCN"] = list(model.stage_with_dcn)
        out["MODEL"] = {**out.get("MODEL", {}), **section}

        preset = self.preset
        section = {"TYPE": preset.type, "SIGMA": preset.sigma, "NUM_JOINTS": preset.num_joints,
                   "IMAGE_SIZE": list(preset.image_size),
                   "HEATMAP_SIZE": list(preset.heatmap_size)}
        for key, value in (("NUM_JOINTS_DENSE", preset.num_joints_dense),
                           ("LOSS_TYPE", preset.loss_type), ("NORM_TYPE", preset.norm_type)):
            if value is not None:
                section[key] = value
        out["DATA_PRESET"] = {**out.get("DATA_PRESET", {}), **section}
        out["LOSS"] = {**out.get("LOSS", {}), **_loss_to_dict(self.loss)}
        if self.train_dataset:
            dataset = out.setdefault("DATASET", {})
            train = dataset.setdefault("TRAIN", {})
            if isinstance(train, dict):
                train["TYPE"] = self.train_dataset
        return out


def _loss_to_dict(loss: LossConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"TYPE": loss.type}
    if loss.norm_type is not None:
        out["NORM_TYPE"] = loss.norm_type
    if loss.output_3d or loss.type != "MSELoss":
        out["OUTPUT_3D"] = loss.output_3d
    if loss.loss_1 is not None:
        out["LOSS_1"] = _loss_to_dict(loss.loss_1)
    if loss.loss_2 is not None:
        out["LOSS_2"] = _loss_to_dict(loss.loss_2)
    return out




# ------------------------------------------------------------------------------------------------
# Validation helpers
# ------------------------------------------------------------------------------------------------

def _suggest(value: str, choices: tuple[str, ...] | list[str]) -> str:
    by_upper = {c.upper(): c for c in choices}
    close = difflib.get_close_matches(value.upper(), list(by_upper), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(by_upper[c]) for c in close)}?)" if close else ""


def _int_tuple(value: Any, name: str, length: int | None) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name}: expected a list of ints, got {type(value).__name__}")
    items = tuple(value)
    if length is not None and len(items) != length:
        raise ValueError(f"{name}: expected {length} ints, got {list(items)}")
    for item in items:
        _require_positive_int(item, f"{name} entry")
    return items


def _require_type(value: Any, kind: type, name: str) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{name}: expected {kind.__name__}, got {value!r}")


def _require_positive_int(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name}: expected a positive int, got {value}")


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    return value
