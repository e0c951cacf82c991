"""Pose-network configuration: frozen dataclasses (:mod:`~alphapose.config.schema`), and the reader
for official AlphaPose YAML files (:mod:`~alphapose.config.official`).

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

from alphapose.config.official import (
    get_official_config,
    list_official_configs,
    official_config_path,
    read_official_config,
)
from alphapose.config.schema import (
    BACKBONES,
    LOSS_TYPES,
    NORM_TYPES,
    RESNET_DEPTHS,
    DCNConfig,
    HRNetStage,
    LossConfig,
    ModelConfig,
    PoseConfig,
    PresetConfig,
    hrnet_stages,
)

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
