"""Pose networks (torch): FastPose family, SimplePose, HRNet; builders keyed by official MODEL.TYPE.

Every network takes normalised crops ``(B, 3, h, w)`` and returns raw maps ``(B, K, h / 4, w / 4)``
(heatmaps or integral-regression logits, as the config's ``LOSS.TYPE`` says), and has the
attributes ``num_keypoints`` (``K``), ``input_size`` (``(h, w)``) and ``output_size``
(``(h / 4, w / 4)``).

Example:
    >>> from alphapose.config import get_official_config
    >>> from alphapose.models import build_model, load_checkpoint
    >>> cfg = get_official_config("coco/resnet/256x192_res50_lr1e-3_1x")
    >>> model = build_model(cfg.model)          # FastPose on SE-ResNet-50, 17 maps
    >>> load_checkpoint(model, "fast_res50_256x192.pth")  # doctest: +SKIP

Importing this package imports torch; ``import alphapose`` does not import it.
"""

from __future__ import annotations

from alphapose.models.checkpoint import (
    ConfigMatch,
    KeyReport,
    load_checkpoint,
    load_model,
    match_official_configs,
    read_state_dict,
    remap_state_dict,
)
from alphapose.models.fastpose import FastPose, FastPoseDUC, FastPoseDUCDense
from alphapose.models.hrnet import HRNet
from alphapose.models.registry import MODEL_BUILDERS, build_model, list_models, register_model
from alphapose.models.simplepose import SimplePose

__all__ = [
    "MODEL_BUILDERS",
    "ConfigMatch",
    "FastPose",
    "FastPoseDUC",
    "FastPoseDUCDense",
    "HRNet",
    "KeyReport",
    "SimplePose",
    "build_model",
    "list_models",
    "load_checkpoint",
    "load_model",
    "match_official_configs",
    "read_state_dict",
    "register_model",
    "remap_state_dict",
]
