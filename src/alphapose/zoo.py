"""The official AlphaPose checkpoints: one entry per published model, and the builder that turns
``--pose NAME|cfg.yaml --checkpoint FILE --backend torch|onnx`` into a pose estimator.

The official files are published on Google Drive / Baidu only (links in the official
``docs/MODEL_ZOO.md``), so nothing here downloads them: users pass the file they have with
``--checkpoint``. Each entry carries what is needed to use it (config -> architecture, layout,
input size, codec), so a checkpoint cannot be run with the wrong preprocessing. Torch is imported
only when a network is built.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "POSE_MODELS",
    "PoseModelEntry",
    "build_network_estimator",
    "list_pose_models",
    "resolve_pose_config",
]

SOURCE = "MVIG-SJTU/AlphaPose docs/MODEL_ZOO.md (Google Drive / Baidu links)"


@dataclass(frozen=True)
class PoseModelEntry:
    """One official checkpoint.

    Attributes:
        name: zoo name used on the command line.
        config: official config name (see :func:`alphapose.config.list_official_configs`).
        filename: the official file name (as the official docs and issues name it).
        description: backbone, loss and the published AP.
        source: where the official file is published.
    """

    name: str
    config: str
    filename: str
    description: str
    source: str = SOURCE


def _entry(name: str, config: str, filename: str, description: str) -> PoseModelEntry:
    return PoseModelEntry(name, config, filename, description)


POSE_MODELS: dict[str, PoseModelEntry] = {e.name: e for e in [
    _entry("coco-simple-res50", "coco/resnet/256x192_res50_lr1e-3_1x-simple",
           "simple_res50_256x192.pth", "Simple Baseline ResNet-50, COCO-17, AP 70.6"),
    _entry("coco-fastpose-res50", "coco/resnet/256x192_res50_lr1e-3_1x",
           "fast_res50_256x192.pth", "FastPose ResNet-50, COCO-17, AP 72.0"),
    _entry("coco-fastpose-duc-res50", "coco/resnet/256x192_res50_lr1e-3_1x-duc",
           "fast_421_res50-shuffle_256x192.pth", "FastPose DUC ResNet-50, COCO-17, AP 72.4"),
    _entry("coco-hrnet-w32", "coco/hrnet/256x192_w32_lr1e-3",
           "hrnet_w32_256x192.pth", "HRNet-W32, COCO-17, AP 72.5"),
    _entry("coco-fastpose-dcn-res50", "coco/resnet/256x192_res50_lr1e-3_2x-dcn",
           "fast_dcn_res50_256x192.pth", "FastPose DCN ResNet-50, COCO-17, AP 72.8"),
    _entry("coco-fastpose-duc-res152", "coco/resnet/256x192_res152_lr1e-3_1x-duc",
           "fast_421_res152_256x192.pth", "FastPose DUC ResNet-152, COCO-17, AP 73.3"),
    _entry("halpe26-fastpose-res50", "halpe_26/resnet/256x192_res50_lr1e-3_1x",
           "halpe26_fast_res50_256x192.pth", "FastPose ResNet-50, Halpe-26"),
    _entry("multidomain-fastpose-res50-regression",
           "halpe_coco_wholebody_136/resnet/256x192_res50_lr1e-3_2x-regression",
           "multi_domain_fast50_regression_256x192.pth",
           "FastPose ResNet-50, multi-domain Halpe-136, SIKR, AP 50.1 (recommended)"),
    _entry("multidomain-fastpose-dcn-res50-combined",
           "halpe_coco_wholebody_136/resnet/256x192_res50_lr1e-3_2x-dcn-combined",
           "multi_domain_fast50_dcn_combined_256x192.pth",
           "FastPose DCN ResNet-50, multi-domain Halpe-136, combined loss, AP 49.8"),
    _entry("halpe136-fastpose-res50", "halpe_136/resnet/256x192_res50_lr1e-3_2x",
           "halpe136_fast50_256x192.pth", "FastPose ResNet-50, Halpe-136, heatmap, AP 41.7"),
    _entry("halpe136-fastpose-res50-regression", "halpe_136/resnet/256x192_res50_lr1e-3_2x-regression",
           "halpe136_fast50_regression_256x192.pth",
           "FastPose ResNet-50, Halpe-136, SIKR, AP 44.1"),
    _entry("halpe136-fastpose-dcn-res50-regression",
           "halpe_136/resnet/256x192_res50_lr1e-3_2x-dcn-regression",
           "halpe136_fast50_dcn_regression_256x192.pth",
           "FastPose DCN ResNet-50, Halpe-136, SIKR, AP 46.2"),
    _entry("halpe136-fastpose-dcn-res50-combined",
           "halpe_136/resnet/256x192_res50_lr1e-3_2x-dcn-combined",
           "halpe136_fast50_dcn_combined_256x192.pth",
           "FastPose DCN ResNet-50, Halpe-136, combined loss, AP 45.4"),
    _entry("halpe136-fastpose-dcn-res50-combined-10hand",
           "halpe_136/resnet/256x192_res50_lr1e-3_2x-dcn-combined",
           "halpe136_fast50_dcn_combined_256x192_10handweight.pth",
           "FastPose DCN ResNet-50, Halpe-136, combined loss, 10x hand weight, AP 47.2"),
    _entry("halpe136-fastpose-duc-res152-regression",
           "halpe_136/resnet/256x192_res152_lr1e-3_1x-duc",
           "halpe136_fast152_duc_regression_256x192.pth",
           "FastPose DUC ResNet-152, Halpe-136, SIKR, AP 45.1"),
    _entry("wholebody-fastpose-res50-regression",
           "coco_wholebody/resnet/256x192_res50_lr1e-3_2x-regression",
           "coco_wholebody133_fast50_regression_256x192.pth",
           "FastPose ResNet-50, COCO-WholeBody-133, SIKR, AP 55.4"),
    _entry("wholebody-fastpose-dcn-res50-regression",
           "coco_wholebody/resnet/256x192_res50_lr1e-3_2x-dcn-regression",
           "coco_wholebody133_fast50_dcn_regression_256x192.pth",
           "FastPose DCN ResNet-50, COCO-WholeBody-133, SIKR, AP 57.7"),
    _entry("wholebody-fastpose-res50-combined",
           "coco_wholebody/resnet/256x192_res50_lr1e-3_2x-combined",
           "coco_wholebody133_fast50_combined_256x192.pth",
           "FastPose ResNet-50, COCO-WholeBody-133, combined loss, AP 57.8"),
    _entry("wholebody-fastpose-dcn-res50-combined",
           "coco_wholebody/resnet/256x192_res50_lr1e-3_2x-dcn-combined",
           "coco_wholebody133_fast50_dcn_combined_256x192.pth",
           "FastPose DCN ResNet-50, COCO-WholeBody-133, combined loss, AP 58.2"),
    _entry("wholebody-fastpose-duc-res152-regression",
           "coco_wholebody/resnet/256x192_res152_lr1e-3_1x-duc",
           "coco_wholebody133_fast152_duc_regression_256x192.pth",
           "FastPose DUC ResNet-152, COCO-WholeBody-133, SIKR, AP 56.9"),
]}


def list_pose_models() -> list[str]:
    return sorted(POSE_MODELS)


def resolve_pose_config(pose: str) -> Any:
    """The :class:`alphapose.config.PoseConfig` of a zoo name, an official config name or a
    YAML file (in the official format).

    Raises:
        ValueError: none of those (the message lists the zoo names and suggests a close one).
    """
    from alphapose.config import get_official_config, list_official_configs, read_official_config

    if pose in POSE_MODELS:
        return get_official_config(POSE_MODELS[pose].config)
    if pose in list_official_configs():
        return get_official_config(pose)
    path = Path(pose)
    if path.suffix.lower() in (".yaml", ".yml"):
        if not path.is_file():
            raise ValueError(f"--pose {pose}: no such config file")
        return read_official_config(path)
    close = difflib.get_close_matches(pose, [*POSE_MODELS, *list_official_configs()], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"--pose {pose!r} is neither a zoo name, an official config name nor a "
                     f".yaml file.{hint} Zoo names: {', '.join(list_pose_models())}")


def build_network_estimator(pose: str, checkpoint: str | Path, *, backend: str = "torch",
                            flip: bool = False, batch_size: int = 8, num_threads: int = 2,
                            onnx_path: str | Path | None = None) -> Any:
    """A :class:`~alphapose.estimators.network.NetworkPoseEstimator` for an official model.

    Args:
        pose: zoo name, official config name or official-format YAML file.
        checkpoint: the ``.pth`` state dict (official file or one trained here).
        backend: ``"torch"`` or ``"onnx"`` (exported from the loaded network, or read from
            ``onnx_path`` when that file exists).
        flip: official flip test.
        batch_size: crops per network call.
        num_threads: CPU threads of the runtime.
        onnx_path: where to keep the exported ONNX model.

    Raises:
        ValueError: unknown ``pose``, a config without a keypoint layout, or a checkpoint that
            does not fit (the message lists the keys and the config that would fit).
    """
    cfg = resolve_pose_config(pose)
    if cfg.layout is None:
        raise ValueError(f"--pose {pose}: its {cfg.model.num_joints} keypoints have no layout "
                         f"here yet (supported: 17, 26, 133, 136)")
    from alphapose.codecs import codec_from_loss
    from alphapose.estimators.network import NetworkPoseEstimator
    from alphapose.models.checkpoint import load_model
    from alphapose.runtime.backends import create_backend

    network = load_model(cfg, checkpoint)
    codec = codec_from_loss(cfg.loss.type, cfg.model.num_joints,
                            getattr(cfg.loss, "norm_type", None) or "sigmoid")
    runtime = create_backend(backend, network, input_size=tuple(cfg.model.input_size),
                             onnx_path=onnx_path, num_threads=num_threads)
    return NetworkPoseEstimator(runtime, codec, cfg.layout,
                                input_size=tuple(cfg.model.input_size), flip=flip,
                                batch_size=max(batch_size, 2 if flip else 1))
