"""The registry of pose networks, keyed by the official ``MODEL.TYPE`` spelling.

:mod:`alphapose.models.checkpoint` builds from it; the package re-exports it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from torch import nn

from alphapose.config import ModelConfig
from alphapose.models.fastpose import (
    build_fastpose,
    build_fastpose_duc,
    build_fastpose_duc_dense,
)
from alphapose.models.hrnet import build_hrnet
from alphapose.models.simplepose import build_simplepose

__all__ = ["MODEL_BUILDERS", "build_model", "list_models", "register_model"]

#: Builders keyed by the official ``MODEL.TYPE`` spelling.
MODEL_BUILDERS: dict[str, Callable[[ModelConfig], nn.Module]] = {}

# Official types that exist but are not built here, with the reason.
_NOT_BUILT = {
    "HarDNetPose": "the official HarDNet configs have no published weights; not implemented",
    "Simple3DPoseBaseSMPLCam": "a 3D human-mesh model (HybrIK), out of scope (2D pose only)",
}


def register_model(name: str, builder: Callable[[ModelConfig], nn.Module]) -> None:
    """Add a builder under ``name`` (the official ``MODEL.TYPE``).

    Raises:
        ValueError: ``name`` is already registered.
    """
    if name in MODEL_BUILDERS:
        raise ValueError(f"model type {name!r} is already registered")
    MODEL_BUILDERS[name] = builder


register_model("FastPose", build_fastpose)
register_model("FastPose_DUC", build_fastpose_duc)
register_model("FastPose_DUC_Dense", build_fastpose_duc_dense)
register_model("SimplePose", build_simplepose)
register_model("PoseHighResolutionNet", build_hrnet)


def list_models() -> tuple[str, ...]:
    """Registered model types, e.g. ``("FastPose", "FastPose_DUC", ...)``."""
    return tuple(MODEL_BUILDERS)


def build_model(cfg: ModelConfig) -> nn.Module:
    """Build the network a config describes (randomly initialised; load weights separately).

    Args:
        cfg: the architecture, e.g. ``read_official_config(path).model``.

    Returns:
        An ``nn.Module`` in training mode with ``num_keypoints``, ``input_size``, ``output_size``.

    Raises:
        TypeError: ``cfg`` is not a ModelConfig.
        ValueError: unknown type (the message lists the valid ones and the closest), or an
            official type this package does not build.
    """
    if not isinstance(cfg, ModelConfig):
        raise TypeError(f"cfg: expected a ModelConfig (e.g. read_official_config(path).model), "
                        f"got {type(cfg).__name__}")
    builder = MODEL_BUILDERS.get(cfg.type)
    if builder is None:
        if cfg.type in _NOT_BUILT:
            raise ValueError(f"model type {cfg.type!r}: {_NOT_BUILT[cfg.type]}; available: "
                             f"{', '.join(MODEL_BUILDERS)}")
        close = difflib.get_close_matches(cfg.type, list(MODEL_BUILDERS), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown model type {cfg.type!r}; valid types: "
                         f"{', '.join(MODEL_BUILDERS)}.{hint}")
    return builder(cfg)
