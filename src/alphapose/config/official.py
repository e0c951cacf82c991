"""Reading official AlphaPose YAML configs into :class:`~alphapose.config.schema.PoseConfig`,
and the official configs this package ships (see :mod:`alphapose.config`)."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

from alphapose.config.schema import (
    BACKBONES,
    LOSS_TYPES,
    NORM_TYPES,
    DCNConfig,
    HRNetStage,
    LossConfig,
    ModelConfig,
    PoseConfig,
    PresetConfig,
    _int_tuple,
    _suggest,
)

__all__ = [
    "get_official_config",
    "list_official_configs",
    "official_config_path",
    "read_official_config",
]

_CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
_MISSING = object()
# Official model types that are 3D and out of scope of this package.
_REFUSED_TYPES = {
    "Simple3DPoseBaseSMPLCam":
        "a 3D human-mesh model (HybrIK); alphapose reads 2D pose configs only",
}


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


