"""Pose-network configuration: frozen dataclasses, and the reader for official AlphaPose YAML files.

The official AlphaPose configs are YAML files with the sections ``MODEL`` (architecture),
``DATA_PRESET`` (crop size, heatmap size, number of joints, target type), ``LOSS`` (which also
selects the decoder), plus ``DATASET``, ``TRAIN``, ``DETECTOR`` (and ``TEST``) that inference does
not need. :func:`read_official_config` reads such a file (or the dict it holds) into a
:class:`PoseConfig`. Keys of the three modelled sections are checked: an unknown key fails with the
closest known spellings. The other sections, and the few modelled-section keys that only matter to
the official training script (``PRETRAINED``, ``TRY_LOAD`` ...), are kept unchanged in
:attr:`PoseConfig.ignored`, so :meth:`PoseConfig.to_official_dict` writes back an equivalent file.

This package ships the values of every official config as YAML files of its own (written from the
documented values, with a subset of the training keys): :func:`list_official_configs` names them
(official relative path without ``.yaml``, e.g. ``"coco/resnet/256x192_res50_lr1e-3_1x"``) and
:func:`get_official_config` reads one.

Sizes follow the official order ``(height, width)``: ``IMAGE_SIZE: [256, 192]`` is a crop 256 pixels
high and 192 wide.

Example:
    >>> cfg = get_official_config("halpe_26/resnet/256x192_res50_lr1e-3_1x")
    >>> cfg.model.type, cfg.model.num_joints, cfg.model.input_size, cfg.loss.type
    ('FastPose', 26, (256, 192), 'MSELoss')
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
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
    "get_official_config",
    "hrnet_stages",
    "list_official_configs",
    "official_config_path",
    "read_official_config",
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
_CONFIG_DIR = Path(__file__).resolve().parent / "configs"
_HRNET_BLOCKS = ("BASIC", "BOTTLENECK")
# Official model types that are 3D and out of scope of this package.
_REFUSED_TYPES = {
    "Simple3DPoseBaseSMPLCam":
        "a 3D human-mesh model (HybrIK); alphapose reads 2D pose configs only",
}


# ------------------------------------------------------------------------------------------------
# Dataclasses
# ------------------------------------------------------------------------------------------------


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


# ------------------------------------------------------------------------------------------------
# Reading official YAML
# ------------------------------------------------------------------------------------------------

# Known keys per section: modelled keys, and keys read but kept in ``ignored``.
_MODEL_KEYS = ("TYPE", "NUM_LAYERS", "CONV_DIM", "NUM_DECONV_FILTERS", "BACKBONE",
               "FINAL_CONV_KERNEL", "STAGE1", "STAGE2", "STAGE3", "STAGE4", "DCN", "STAGE_WITH_DCN")
_MODEL_IGNORED = ("PRETRAINED", "TRY_LOAD", "INIT_WEIGHTS", "PRETRAINED_LAYERS", "DOWN_RATIO",
                  "TRT")
_PRESET_KEYS = ("TYPE", "SIGMA", "NUM_JOINTS", "NUM_JOINTS_DENSE", "IMAGE_SIZE", "HEATMAP_SIZE",
                "LOSS_TYPE", "NORM_TYPE")
_LOSS_KEYS = ("TYPE", "NORM_TYPE", "OUTPUT_3D", "LOSS_1", "LOSS_2")
_DCN_KEYS = ("MODULATED", "DEFORM_GROUP", "FALLBACK_ON_STRIDE")
_HRNET_STAGE_KEYS = ("NUM_MODULES", "NUM_BRANCHES", "NUM_BLOCKS", "NUM_CHANNELS", "BLOCK",
                     "FUSE_METHOD")
_TOP_MODELLED = ("MODEL", "DATA_PRESET", "LOSS")
_TOP_IGNORED = ("DATASET", "TRAIN", "DETECTOR", "TEST")


def read_official_config(source: str | PathLike[str] | Mapping[str, Any], *,
                         name: str | None = None) -> PoseConfig:
    """Read an official AlphaPose config (a YAML file, or the dict it holds).

    Args:
        source: path of a ``.yaml`` file, or its parsed content.
        name: name to record in :attr:`PoseConfig.name`; default: the official relative path for
            the packaged configs, else the file stem (``""`` for a dict).

    Returns:
        The config. ``model.num_joints`` and ``model.input_size`` come from ``DATA_PRESET``.

    Raises:
        FileNotFoundError: the file does not exist.
        TypeError: ``source`` is neither a path nor a mapping.
        ValueError: malformed YAML; a missing required key (``MODEL.TYPE``,
            ``DATA_PRESET.NUM_JOINTS``); an unknown key (the message names the closest known
            keys); a value of the wrong type or out of range; inconsistent sizes; a 3D config.

    Example:
        >>> cfg = read_official_config({"MODEL": {"TYPE": "FastPose", "NUM_LAYERS": 50},
        ...                             "DATA_PRESET": {"NUM_JOINTS": 17}})
        >>> cfg.model.conv_dim, cfg.preset.heatmap_size, cfg.loss.type
        (128, (64, 48), 'MSELoss')
    """
    where = "config"
    if isinstance(source, (str, PathLike)):
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        from alphapose.jsonfile import load_yaml

        data = load_yaml(path, "config")
        if name is None:
            name = _official_name_of(path) or path.stem
    elif isinstance(source, Mapping):
        data = source
    else:
        raise TypeError(f"source: expected a path or a mapping, got {type(source).__name__}")
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a mapping of sections (MODEL, DATA_PRESET, ...), got "
                         f"{type(data).__name__}")
    return _parse(data, where, name or "")


def _parse(data: Mapping[str, Any], where: str, name: str) -> PoseConfig:
    _check_keys(data, _TOP_MODELLED + _TOP_IGNORED, "", where)
    for section in _TOP_MODELLED:
        if section in data and not isinstance(data[section], Mapping):
            raise ValueError(f"{where}: section {section} must be a mapping, got "
                             f"{type(data[section]).__name__}")
    model_raw: Mapping[str, Any] = data.get("MODEL") or {}
    preset_raw: Mapping[str, Any] = data.get("DATA_PRESET") or {}
    loss_raw: Mapping[str, Any] = data.get("LOSS") or {}
    if "TYPE" not in model_raw:
        raise ValueError(f"{where}: MODEL.TYPE is required (e.g. FastPose)")
    model_type = _get(model_raw, "TYPE", str, "MODEL", where)
    if model_type in _REFUSED_TYPES:
        raise ValueError(f"{where}: MODEL.TYPE {model_type!r} is {_REFUSED_TYPES[model_type]}")
    _check_keys(model_raw, _MODEL_KEYS + _MODEL_IGNORED, "MODEL", where)
    _check_keys(preset_raw, _PRESET_KEYS, "DATA_PRESET", where)
    _check_keys(loss_raw, _LOSS_KEYS, "LOSS", where)

    preset = _parse_preset(preset_raw, where)
    model = _parse_model(model_raw, preset, where)
    loss = _parse_loss(loss_raw, "LOSS", where)

    ignored: dict[str, Any] = {key: copy.deepcopy(data[key]) for key in _TOP_IGNORED if key in data}
    model_ignored = {key: copy.deepcopy(model_raw[key])
                     for key in _MODEL_IGNORED if key in model_raw}
    if model_ignored:
        ignored["MODEL"] = model_ignored
    train_dataset = ""
    dataset = data.get("DATASET")
    if isinstance(dataset, Mapping) and isinstance(dataset.get("TRAIN"), Mapping):
        value = dataset["TRAIN"].get("TYPE", "")
        train_dataset = value if isinstance(value, str) else ""
    return PoseConfig(model=model, preset=preset, loss=loss, name=name,
                      train_dataset=train_dataset, ignored=MappingProxyType(ignored))


def _parse_preset(raw: Mapping[str, Any], where: str) -> PresetConfig:
    if "NUM_JOINTS" not in raw:
        raise ValueError(f"{where}: DATA_PRESET.NUM_JOINTS is required")
    image_size = _get_int_tuple(raw, "IMAGE_SIZE", 2, "DATA_PRESET", where, (256, 192))
    heatmap_size = _get_int_tuple(raw, "HEATMAP_SIZE", 2, "DATA_PRESET", where,
                                  (image_size[0] // 4, image_size[1] // 4))
    if heatmap_size != (image_size[0] // 4, image_size[1] // 4):
        raise ValueError(f"{where}: DATA_PRESET.HEATMAP_SIZE {list(heatmap_size)} must be "
                         f"IMAGE_SIZE / 4 = {[image_size[0] // 4, image_size[1] // 4]} (every "
                         f"network predicts at stride 4)")
    sigma = _get(raw, "SIGMA", (int, float), "DATA_PRESET", where, 2.0)
    loss_type = _get(raw, "LOSS_TYPE", str, "DATA_PRESET", where, None)
    if loss_type is not None and loss_type not in LOSS_TYPES:
        raise ValueError(f"{where}: DATA_PRESET.LOSS_TYPE: expected one of {LOSS_TYPES}, got "
                         f"{loss_type!r}{_suggest(loss_type, LOSS_TYPES)}")
    norm_type = _get(raw, "NORM_TYPE", str, "DATA_PRESET", where, None)
    if norm_type is not None and norm_type not in NORM_TYPES:
        raise ValueError(f"{where}: DATA_PRESET.NORM_TYPE: expected one of {NORM_TYPES}, got "
                         f"{norm_type!r}{_suggest(norm_type, NORM_TYPES)}")
    return PresetConfig(
        type=_get(raw, "TYPE", str, "DATA_PRESET", where, "simple"),
        image_size=image_size, heatmap_size=heatmap_size, sigma=float(sigma),
        num_joints=_get(raw, "NUM_JOINTS", int, "DATA_PRESET", where),
        num_joints_dense=_get(raw, "NUM_JOINTS_DENSE", int, "DATA_PRESET", where, None),
        loss_type=loss_type, norm_type=norm_type)


def _parse_model(raw: Mapping[str, Any], preset: PresetConfig, where: str) -> ModelConfig:
    model_type = raw["TYPE"]
    kwargs: dict[str, Any] = {
        "type": model_type, "num_joints": preset.num_joints, "input_size": preset.image_size,
        "num_joints_dense": preset.num_joints_dense}
    if "NUM_LAYERS" in raw:
        kwargs["num_layers"] = _get(raw, "NUM_LAYERS", int, "MODEL", where)
    if "CONV_DIM" in raw:
        kwargs["conv_dim"] = _get(raw, "CONV_DIM", int, "MODEL", where)
    if "NUM_DECONV_FILTERS" in raw:
        kwargs["num_deconv_filters"] = _get_int_tuple(raw, "NUM_DECONV_FILTERS", 3, "MODEL", where)
    if "BACKBONE" in raw:
        backbone = _get(raw, "BACKBONE", str, "MODEL", where)
        if backbone not in BACKBONES:
            raise ValueError(f"{where}: MODEL.BACKBONE: expected one of {BACKBONES}, got "
                             f"{backbone!r}{_suggest(backbone, BACKBONES)}")
        kwargs["backbone"] = backbone
    if "FINAL_CONV_KERNEL" in raw:
        kwargs["final_conv_kernel"] = _get(raw, "FINAL_CONV_KERNEL", int, "MODEL", where)
    if "DCN" in raw:
        dcn_raw = raw["DCN"]
        if not isinstance(dcn_raw, Mapping):
            raise ValueError(f"{where}: MODEL.DCN must be a mapping, got {type(dcn_raw).__name__}")
        _check_keys(dcn_raw, _DCN_KEYS, "MODEL.DCN", where)
        kwargs["dcn"] = DCNConfig(
            modulated=_get(dcn_raw, "MODULATED", bool, "MODEL.DCN", where, False),
            deform_group=_get(dcn_raw, "DEFORM_GROUP", int, "MODEL.DCN", where, 1),
            fallback_on_stride=_get(dcn_raw, "FALLBACK_ON_STRIDE", bool, "MODEL.DCN", where, False))
    if "STAGE_WITH_DCN" in raw:
        flags = raw["STAGE_WITH_DCN"]
        if (not isinstance(flags, (list, tuple)) or len(flags) != 4
                or not all(isinstance(f, bool) for f in flags)):
            raise ValueError(f"{where}: MODEL.STAGE_WITH_DCN: expected a list of 4 booleans, "
                             f"got {flags!r}")
        kwargs["stage_with_dcn"] = tuple(flags)

    stage_keys = [key for key in ("STAGE1", "STAGE2", "STAGE3", "STAGE4") if key in raw]
    if model_type == "PoseHighResolutionNet":
        if stage_keys:
            missing = [key for key in ("STAGE2", "STAGE3", "STAGE4") if key not in raw]
            if missing or "STAGE1" in raw:
                raise ValueError(f"{where}: an HRNet config needs MODEL.STAGE2, STAGE3 and STAGE4 "
                                 f"(and no STAGE1), got {stage_keys}")
            kwargs["hrnet_stages"] = tuple(
                _parse_hrnet_stage(raw[key], f"MODEL.{key}", where)
                for key in ("STAGE2", "STAGE3", "STAGE4"))
    elif stage_keys:
        if "STAGE4" in raw or len(stage_keys) != 3:
            raise ValueError(f"{where}: DUC head stages are MODEL.STAGE1, STAGE2 and STAGE3 "
                             f"(each with NUM_CONV), got {stage_keys}")
        counts = []
        for key in ("STAGE1", "STAGE2", "STAGE3"):
            stage = raw[key]
            if not isinstance(stage, Mapping):
                raise ValueError(f"{where}: MODEL.{key} must be a mapping, got "
                                 f"{type(stage).__name__}")
            _check_keys(stage, ("NUM_CONV",), f"MODEL.{key}", where)
            counts.append(_get(stage, "NUM_CONV", int, f"MODEL.{key}", where))
        kwargs["duc_num_conv"] = tuple(counts)
    try:
        return ModelConfig(**kwargs)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {error}") from error


def _parse_hrnet_stage(raw: Any, section: str, where: str) -> HRNetStage:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: {section} must be a mapping, got {type(raw).__name__}")
    _check_keys(raw, _HRNET_STAGE_KEYS, section, where)
    for key in _HRNET_STAGE_KEYS[:4]:
        if key not in raw:
            raise ValueError(f"{where}: {section}.{key} is required")
    branches = _get(raw, "NUM_BRANCHES", int, section, where)
    try:
        return HRNetStage(
            num_modules=_get(raw, "NUM_MODULES", int, section, where),
            num_branches=branches,
            num_blocks=_get_int_tuple(raw, "NUM_BLOCKS", None, section, where),
            num_channels=_get_int_tuple(raw, "NUM_CHANNELS", None, section, where),
            block=_get(raw, "BLOCK", str, section, where, "BASIC"),
            fuse_method=_get(raw, "FUSE_METHOD", str, section, where, "SUM"))
    except ValueError as error:
        raise ValueError(f"{where}: {section}: {error}") from error


def _parse_loss(raw: Mapping[str, Any], section: str, where: str) -> LossConfig:
    loss_type = _get(raw, "TYPE", str, section, where, "MSELoss")
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"{where}: {section}.TYPE: expected one of {LOSS_TYPES}, got "
                         f"{loss_type!r}{_suggest(loss_type, LOSS_TYPES)}")
    norm_type = _get(raw, "NORM_TYPE", str, section, where, None)
    if norm_type is not None and norm_type not in NORM_TYPES:
        raise ValueError(f"{where}: {section}.NORM_TYPE: expected one of {NORM_TYPES}, got "
                         f"{norm_type!r}{_suggest(norm_type, NORM_TYPES)}")
    if loss_type != "MSELoss" and norm_type is None:
        raise ValueError(f"{where}: {section}.NORM_TYPE is required for {loss_type} (the official "
                         f"configs use 'sigmoid')")
    parts: dict[str, LossConfig | None] = {"loss_1": None, "loss_2": None}
    for key in ("LOSS_1", "LOSS_2"):
        if key in raw:
            if loss_type != "Combined":
                raise ValueError(f"{where}: {section}.{key} is only valid when TYPE is Combined")
            part = raw[key]
            if not isinstance(part, Mapping):
                raise ValueError(f"{where}: {section}.{key} must be a mapping, got "
                                 f"{type(part).__name__}")
            _check_keys(part, ("TYPE", "NORM_TYPE", "OUTPUT_3D"), f"{section}.{key}", where)
            parts[key.lower()] = _parse_loss(part, f"{section}.{key}", where)
    return LossConfig(type=loss_type, norm_type=norm_type,
                      output_3d=_get(raw, "OUTPUT_3D", bool, section, where, False), **parts)


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
# The packaged official configs
# ------------------------------------------------------------------------------------------------


def list_official_configs() -> tuple[str, ...]:
    """Names of the packaged official configs, sorted (relative path without ``.yaml``)."""
    return tuple(sorted(p.relative_to(_CONFIG_DIR).with_suffix("").as_posix()
                        for p in _CONFIG_DIR.rglob("*.yaml")))


def official_config_path(name: str) -> Path:
    """Path of a packaged official config.

    ``name`` is the official relative path, with or without ``.yaml`` and a leading ``configs/``.

    Raises:
        ValueError: unknown name; the message lists the closest names.
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected a str, got {type(name).__name__}")
    key = name.strip().replace("\\", "/")
    key = key.removeprefix("./").removeprefix("configs/").removesuffix(".yaml")
    names = list_official_configs()
    if key in names:
        return _CONFIG_DIR / f"{key}.yaml"
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown official config {name!r}.{hint} Known configs: {', '.join(names)}")


def get_official_config(name: str) -> PoseConfig:
    """Read a packaged official config by name, e.g. ``"coco/resnet/256x192_res50_lr1e-3_1x"``."""
    path = official_config_path(name)
    return read_official_config(path, name=path.relative_to(_CONFIG_DIR).with_suffix("").as_posix())


def _official_name_of(path: Path) -> str | None:
    try:
        return path.resolve().relative_to(_CONFIG_DIR).with_suffix("").as_posix()
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------
# Validation helpers
# ------------------------------------------------------------------------------------------------

_MISSING = object()


def _suggest(value: str, choices: tuple[str, ...] | list[str]) -> str:
    by_upper = {c.upper(): c for c in choices}
    close = difflib.get_close_matches(value.upper(), list(by_upper), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(by_upper[c]) for c in close)}?)" if close else ""


def _check_keys(section: Mapping[str, Any], known: tuple[str, ...], path: str, where: str) -> None:
    for key in section:
        if key not in known:
            full = f"{path}.{key}" if path else str(key)
            if not full.isprintable():
                full = repr(full)
            hint = _suggest(str(key), known)
            raise ValueError(f"{where}: unknown key {full}{hint}; known keys"
                             f"{' of ' + path if path else ''}: {', '.join(known)}")


def _get(section: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: str,
         where: str, default: Any = _MISSING) -> Any:
    if key not in section:
        if default is _MISSING:
            raise ValueError(f"{where}: {path}.{key} is required")
        return default
    value = section[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        expected = " or ".join(k.__name__ for k in kinds)
        raise ValueError(f"{where}: {path}.{key}: expected {expected}, got {value!r}")
    return value


def _get_int_tuple(section: Mapping[str, Any], key: str, length: int | None, path: str,
                   where: str, default: Any = _MISSING) -> Any:
    if key not in section and default is not _MISSING:
        return default
    value = _get(section, key, (list, tuple), path, where)
    try:
        return _int_tuple(value, f"{path}.{key}", length)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {error}") from error


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
