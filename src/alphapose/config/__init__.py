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

# the package's names are its modules' (each module's __all__)
from alphapose.config import official, schema
from alphapose.config.official import *
from alphapose.config.schema import *

__all__: list[str] = []
__all__ += schema.__all__
__all__ += official.__all__
