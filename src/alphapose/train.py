"""Training: ``alphapose train cfg.yaml`` -- Adam, the official step schedule, PGPG from a chosen
epoch, multi-domain batches, a checkpoint every epoch with resume, validation AP every epoch, a
progress bar and a loss/AP plot; several processes with ``torchrun`` (DDP).

The training config (:class:`TrainConfig`, a YAML file of its own) is separate from the inference
config: it names an official model config (architecture and loss, e.g.
``halpe_coco_wholebody_136/resnet/256x192_res50_lr1e-3_2x-regression``, or a YAML path) and the
datasets::

    model: halpe_coco_wholebody_136/resnet/256x192_res50_lr1e-3_2x-regression
    output_dir: exp/halpe_mix
    train:
      - {name: halpe, format: halpe, ann: halpe_train_v1.json, images: hico/images, ratio: 0.3333}
      - {name: coco_wholebody, format: coco_wholebody, ann: coco_wholebody_train_v1.0.json,
         images: coco/train2017, ratio: 0.3333}
      - {name: 300w, format: 300w, ann: 300w_train.json, images: 300w/images, ratio: 0.1667}
      - {name: freihand, format: freihand, ann: freihand_train.json, images: freihand/rgb,
         ratio: 0.1667}
    val: {format: halpe, ann: halpe_val_v1.json, images: coco/val2017}

Schedule. Unless the YAML sets them, ``lr``, ``lr_steps``, ``lr_factor``, ``epochs``,
``batch_size``, ``pgpg_epoch`` and ``pgpg_lr_steps`` come from the official config's ``TRAIN``
section (``LR``, ``LR_STEP``, ``LR_FACTOR``, ``END_EPOCH``, ``BATCH_SIZE``, ``DPG_MILESTONE``,
``DPG_STEP``), else from the "2x" recipe the multi-domain configs use: Adam, lr 1e-3, x0.1 at
epochs 170 and 200, 270 epochs, PGPG from epoch 210 with the lr reset to 1e-3 and x0.1 at 230 and
250 (official ``DPG_MILESTONE`` behaviour). The paper (Sec. 6.3) states lr 0.01, decay at 100 and
170, PGPG after 200; no official config matches it (every 2-D config has lr 1e-3; the "1x" configs
decay at 90/120 with PGPG at 140), so the official values are the default and the paper's are a
one-line override. The learning rate of epoch ``e`` is ``lr * lr_factor ** #(steps <= e)``
(:func:`learning_rate`).

DDP: run ``torchrun --nproc_per_node N -m alphapose train cfg.yaml`` (backend gloo on CPU, nccl
on CUDA). ``batch_size`` is per process (official); each rank draws its own batches. BatchNorm
statistics stay per process (no SyncBatchNorm on CPU).

Importing this module does not import torch (the CLI registers the command without it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import yaml

from alphapose.data.augment import (
    DEFAULT_PART_OFFSETS,
    AugmentConfig,
    PartProposalGenerator,
)
from alphapose.data.datasets import DATASET_FORMATS, Sample, load_dataset

if TYPE_CHECKING:
    import torch

    from alphapose.config import PoseConfig

__all__ = [
    "DatasetSpec",
    "TrainConfig",
    "add_commands",
    "build_codec",
    "build_loss",
    "learning_rate",
    "plot_history",
    "train",
    "train_step",
    "validate",
]

_FORMAT_LAYOUT = {"coco": "coco17", "halpe": "halpe136", "coco_wholebody": "coco_wholebody133"}


# ------------------------------------------------------------------------------------------------
# Config
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of a training config.

    Attributes:
        format: one of :data:`alphapose.data.datasets.DATASET_FORMATS`.
        ann: annotation file.
        images: image folder (default: the annotation file's folder).
        name: domain name (default: ``format``).
        ratio: share of every batch.
        options: extra reader options (e.g. ``{"side": "right"}`` for hands).
        augment: overrides of the config-wide :class:`AugmentConfig` fields for this domain.
        use_pgpg: apply the part-guided proposal generator once enabled.
    """

    format: str
    ann: str
    images: str | None = None
    name: str = ""
    ratio: float = 1.0
    options: Mapping[str, Any] = field(default_factory=dict)
    augment: Mapping[str, Any] = field(default_factory=dict)
    use_pgpg: bool = True

    def __post_init__(self) -> None:
        if self.format not in DATASET_FORMATS:
            raise ValueError(f"dataset format: expected one of {DATASET_FORMATS}, got "
                             f"{self.format!r}")
        if not self.name:
            object.__setattr__(self, "name", self.format)
        if not self.ratio > 0:
            raise ValueError(f"dataset {self.name!r}: ratio must be > 0, got {self.ratio}")

    def load(self, layout: str) -> list[Sample]:
        """The samples, in ``layout``."""
        options = dict(self.options)
        options.setdefault("domain", self.name)
        return load_dataset(self.format, self.ann, self.images, layout=layout, **options)


_SCHEDULE_KEYS = {"lr": "LR", "lr_steps": "LR_STEP", "lr_factor": "LR_FACTOR",
                  "epochs": "END_EPOCH", "batch_size": "BATCH_SIZE",
                  "pgpg_epoch": "DPG_MILESTONE", "pgpg_lr_steps": "DPG_STEP"}


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs (frozen; read it with :meth:`from_yaml`).

    Attributes:
        model: official config name or YAML path (architecture and loss).
        train: training datasets with their ratios.
        val: validation dataset (AP each epoch), or None.
        output_dir: checkpoints, history and plot go here.
        layout: target keypoint layout (default: the model config's).
        loss: ``"heatmap"``, ``"integral"`` or ``"combined"`` (default: the model config's
            ``LOSS.TYPE``).
        norm_type: integral normalisation (default: the model config's, else sigmoid).
        symmetric_gradient: ASG for the integral loss.
        asg_amplitude: the ASG's ``(A_x, A_y)`` in heatmap pixels; ``None`` (default): the
            paper's ``(W / 8, H / 8)``; ``[2, 2]``: the official code's, to fine-tune an
            official checkpoint as it was trained.
        num_layers: ResNet depth override (e.g. 18 for a small model), or None.
        input_size: crop ``(h, w)`` override, or None.
        conv_dim: FastPose head width override, or None.
        batch_size: per process.
        epochs: epochs to run (``0 .. epochs - 1``).
        steps_per_epoch: batches per epoch (default: ceil(total samples / (batch x world))).
        lr: initial learning rate (Adam, no weight decay).
        lr_steps: epochs at which lr is multiplied by ``lr_factor``.
        lr_factor: decay factor.
        pgpg_epoch: first epoch with the part-guided proposal generator (lr reset to ``lr``),
            or None for never.
        pgpg_lr_steps: decay epochs after ``pgpg_epoch``.
        augment: base augmentation of every domain.
        seed: random seed (model init and data).
        num_workers: DataLoader worker processes (0: load in the training process).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        pretrained: checkpoint to start from (loaded non-strictly by name and shape), or None.
        val_flip: flip test during validation.
    """

    model: str
    train: tuple[DatasetSpec, ...]
    val: DatasetSpec | None = None
    output_dir: str = "exp"
    layout: str | None = None
    loss: str | None = None
    norm_type: str | None = None
    symmetric_gradient: bool = True
    asg_amplitude: tuple[float, float] | None = None
    num_layers: int | None = None
    input_size: tuple[int, int] | None = None
    conv_dim: int | None = None
    batch_size: int = 32
    epochs: int = 270
    steps_per_epoch: int | None = None
    lr: float = 1e-3
    lr_steps: tuple[int, ...] = (170, 200)
    lr_factor: float = 0.1
    pgpg_epoch: int | None = 210
    pgpg_lr_steps: tuple[int, ...] = (230, 250)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    pretrained: str | None = None
    val_flip: bool = False

    def __post_init__(self) -> None:
        train = tuple(self.train)
        if not train or not all(isinstance(d, DatasetSpec) for d in train):
            raise ValueError("TrainConfig.train: expected at least one DatasetSpec")
        object.__setattr__(self, "train", train)
        for name in ("batch_size", "epochs"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainConfig.{name}: expected >= 1, got {getattr(self, name)}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError(f"TrainConfig.steps_per_epoch: expected >= 1, got "
                             f"{self.steps_per_epoch}")
        if not self.lr > 0 or not 0 < self.lr_factor <= 1:
            raise ValueError(f"TrainConfig: lr must be > 0 and lr_factor in (0, 1], got "
                             f"{self.lr}, {self.lr_factor}")
        object.__setattr__(self, "lr_steps", tuple(int(v) for v in self.lr_steps))
        object.__setattr__(self, "pgpg_lr_steps", tuple(int(v) for v in self.pgpg_lr_steps))
        if self.input_size is not None:
            object.__setattr__(self, "input_size", tuple(int(v) for v in self.input_size))
        if self.asg_amplitude is not None:
            amplitude = tuple(float(v) for v in self.asg_amplitude)
            if len(amplitude) != 2 or not min(amplitude) > 0:
                raise ValueError(f"TrainConfig.asg_amplitude: expected two numbers > 0 "
                                 f"(A_x, A_y), got {self.asg_amplitude!r}")
            object.__setattr__(self, "asg_amplitude", amplitude)
        if self.loss is not None and self.loss not in ("heatmap", "integral", "combined"):
            raise ValueError(f"TrainConfig.loss: expected 'heatmap', 'integral' or 'combined', "
                             f"got {self.loss!r}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"TrainConfig.device: expected 'cpu', 'cuda' or 'auto', got "
                             f"{self.device!r}")

    # -- reading / writing -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base_dir: str | Path | None = None
                  ) -> TrainConfig:
        """Build from a parsed YAML mapping; schedule keys absent there come from the official
        model config's ``TRAIN`` section. Relative dataset paths resolve against ``base_dir``."""
        if not isinstance(data, Mapping):
            raise TypeError(f"training config: expected a mapping, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"training config: unknown keys {unknown}; known: {sorted(known)}")
        if "model" not in data or "train" not in data:
            raise ValueError("training config: 'model' and 'train' are required")
        values = dict(data)
        base = Path(base_dir) if base_dir is not None else None

        def spec(item: Any) -> DatasetSpec:
            if not isinstance(item, Mapping):
                raise TypeError(f"dataset entry: expected a mapping, got {item!r}")
            item = dict(item)
            for key in ("ann", "images"):
                if base is not None and item.get(key) and not Path(item[key]).is_absolute():
                    item[key] = str(base / item[key])
            return DatasetSpec(**item)

        values["train"] = tuple(spec(d) for d in data["train"])
        if data.get("val") is not None:
            values["val"] = spec(data["val"])
        if isinstance(values.get("augment"), Mapping):
            values["augment"] = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v
                                                 for k, v in values["augment"].items()})
        model = str(values["model"])
        if base is not None and model.endswith((".yaml", ".yml")) and not Path(model).is_absolute():
            values["model"] = model = str(base / model)
        official = _official_train_section(model)
        for key, official_key in _SCHEDULE_KEYS.items():
            if key not in values and official_key in official:
                value = official[official_key]
                values[key] = tuple(value) if isinstance(value, list) else value
        if values.get("output_dir") and base is not None and not Path(
                values["output_dir"]).is_absolute():
            values["output_dir"] = str(base / values["output_dir"])
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        """Read a training YAML (paths inside are relative to the file's folder)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"training config not found: {path}")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls.from_dict(data or {}, base_dir=path.resolve().parent)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (saved into checkpoints)."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=list))

    def pose_config(self) -> PoseConfig:
        """The model config with this config's overrides applied."""
        from alphapose.config import get_official_config, read_official_config

        path = Path(self.model)
        cfg = read_official_config(path) if path.suffix in (".yaml", ".yml") else \
            get_official_config(self.model)
        changes = {}
        if self.num_layers is not None:
            changes["num_layers"] = self.num_layers
        if self.input_size is not None:
            changes["input_size"] = self.input_size
        if self.conv_dim is not None:
            changes["conv_dim"] = self.conv_dim
        if changes:
            cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, **changes))
        return cfg


def _official_train_section(model: str) -> Mapping[str, Any]:
    from alphapose.config import get_official_config, read_official_config

    try:
        path = Path(model)
        cfg = read_official_config(path) if path.suffix in (".yaml", ".yml") else \
            get_official_config(model)
    except (ValueError, FileNotFoundError) as error:
        raise ValueError(f"training config 'model': {error}") from None
    train = cfg.ignored.get("TRAIN", {}) if cfg.ignored else {}
    return train if isinstance(train, Mapping) else {}


def learning_rate(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate of ``epoch`` (0-based): step decay, restarted at ``pgpg_epoch``."""
    if cfg.pgpg_epoch is not None and epoch >= cfg.pgpg_epoch:
        steps = cfg.pgpg_lr_steps
    else:
        steps = cfg.lr_steps
    return cfg.lr * cfg.lr_factor ** sum(1 for s in steps if s <= epoch)


# ------------------------------------------------------------------------------------------------
# Pieces of the loop (torch imported inside)
# ------------------------------------------------------------------------------------------------

def _loss_kind(cfg: TrainConfig, pose: PoseConfig) -> str:
    if cfg.loss is not None:
        return cfg.loss
    return {"MSELoss": "heatmap", "L1JointRegression": "integral",
            "Combined": "combined"}[pose.loss.type]


def _norm_type(cfg: TrainConfig, pose: PoseConfig) -> str:
    if cfg.norm_type is not None:
        return cfg.norm_type
    for loss in (pose.loss, pose.loss.loss_2):
        if loss is not None and loss.norm_type:
            return loss.norm_type
    return "sigmoid"


def build_loss(cfg: TrainConfig, pose: PoseConfig):
    """The :class:`alphapose.losses.PoseLoss` of a run."""
    from alphapose.codecs import CombinedCodec
    from alphapose.losses import PoseLoss

    kind = _loss_kind(cfg, pose)
    num_heatmap = (CombinedCodec.official(pose.model.num_joints).num_heatmap
                   if kind == "combined" else 0)
    return PoseLoss(kind, sigma=pose.preset.sigma, norm_type=_norm_type(cfg, pose),
                    symmetric_gradient=cfg.symmetric_gradient, num_heatmap=num_heatmap,
                    amplitude=cfg.asg_amplitude)


def build_codec(cfg: TrainConfig, pose: PoseConfig):
    """The decoder matching the run's loss."""
    from alphapose.codecs import CombinedCodec, HeatmapCodec, IntegralRegressionCodec

    kind = _loss_kind(cfg, pose)
    if kind == "heatmap":
        return HeatmapCodec(pose.preset.sigma)
    if kind == "integral":
        return IntegralRegressionCodec(_norm_type(cfg, pose))
    return CombinedCodec.official(pose.model.num_joints, _norm_type(cfg, pose))


def train_step(model: torch.nn.Module, loss_fn, images: torch.Tensor, keypoints: torch.Tensor,
               weights: torch.Tensor, optimizer: torch.optim.Optimizer | None = None
               ) -> torch.Tensor:
    """Forward, loss, backward (and an optimiser step when given).

    Args:
        model: the network (or its DDP wrapper), output ``(B, K, h, w)``.
        loss_fn: ``(pred, keypoints_hm, weights) -> scalar``.
        images: ``(B, 3, H, W)``.
        keypoints: ``(B, K, 2)`` targets in *input* pixels (divided by the stride here).
        weights: ``(B, K)``.
        optimizer: stepped after the backward pass when given (gradients zeroed first).

    Returns:
        The detached loss.
    """
    if optimizer is not None:
        optimizer.zero_grad(set_to_none=True)
    pred = model(images)
    stride = images.shape[-1] / pred.shape[-1]
    loss = loss_fn(pred, keypoints / stride, weights)
    loss.backward()
    if optimizer is not None:
        optimizer.step()
    return loss.detach()


def _unwrap(model):
    return getattr(model, "module", model)


def validate(model: torch.nn.Module, codec, samples: Sequence[Sample], gt: dict,
             eval_layout: str, input_size: tuple[int, int], batch_size: int = 32,
             flip: bool = False) -> dict[str, float]:
    """COCO keypoint AP of ``model`` on ground-truth boxes.

    Args:
        model: network in the samples' layout.
        codec: its decoder.
        samples: validation samples (ground-truth boxes).
        gt: the validation annotation dict (COCO / Halpe / COCO-WholeBody JSON).
        eval_layout: the layout of ``gt``'s keypoints (results are converted to it).
        input_size: crop ``(h, w)``.
        batch_size: crops per forward pass.
        flip: official flip test.

    Returns:
        ``{"AP": ..., ...}`` (COCO-WholeBody: per part, ``"AP"`` = whole body).
    """
    import torch

    from alphapose.codecs import flip_average, flip_crops
    from alphapose.data.augment import augment_sample
    from alphapose.data.sampler import ImageCache
    from alphapose.evaluate import keypoint_ap, wholebody_ap
    from alphapose.skeletons import convert, get_layout
    from alphapose.transforms import apply_affine, invert_affine

    layout = get_layout(samples[0].layout) if samples else get_layout(eval_layout)
    target = get_layout(eval_layout)
    aug = AugmentConfig.no_augmentation(input_size)
    rng = np.random.default_rng(0)
    load = ImageCache(8)
    net = _unwrap(model)
    was_training = net.training
    net.eval()
    results = []
    try:
        for start in range(0, len(samples), batch_size):
            chunk = samples[start:start + batch_size]
            crops = [augment_sample(load(s.image_path), s, aug, rng) for s in chunk]
            images = np.stack([c.image for c in crops])
            with torch.no_grad():
                raw = net(torch.from_numpy(images)).float().numpy()
                if flip:
                    raw_f = net(torch.from_numpy(flip_crops(images))).float().numpy()
                    raw = flip_average(raw, raw_f, layout)
            coords, scores = codec.decode(raw)
            stride = input_size[1] / raw.shape[-1]
            for sample, crop, xy, sc in zip(chunk, crops, coords, scores):
                points = apply_affine(xy * stride, invert_affine(crop.crop_from_img))
                points, sc = convert(points, sc, layout, target)
                kp = np.concatenate([points, sc[:, None]], axis=1)
                results.append({"image_id": sample.image_id, "category_id": 1,
                                "keypoints": kp.ravel().tolist(),
                                "score": float(np.mean(sc))})
    finally:
        net.train(was_training)
    if target.name == "coco_wholebody133":
        parts = wholebody_ap(gt, results, target.sigmas)
        return {"AP": parts["wholebody"], **{f"AP_{k}": v for k, v in parts.items()}}
    return keypoint_ap(gt, results, target.sigmas)


def plot_history(history: Sequence[Mapping[str, float]], path: str | Path,
                 size: tuple[int, int] = (900, 360)) -> Path:
    """Draw training loss and validation AP per epoch into a PNG (OpenCV, no matplotlib).

    Args:
        history: one mapping per epoch with ``"epoch"``, ``"loss"`` and optionally ``"AP"``.
        path: output PNG.
        size: ``(width, height)`` in pixels.

    Returns:
        The path written.
    """
    width, height = size
    canvas = np.full((height, width, 3), 255, np.uint8)
    panels = [("train loss", "loss", (200, 60, 20)), ("val AP", "AP", (30, 140, 30))]
    panel_w = width // 2
    for p, (title, key, colour) in enumerate(panels):
        x0, x1 = p * panel_w + 60, (p + 1) * panel_w - 20
        y0, y1 = 40, height - 40
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (0, 0, 0), 1)
        cv2.putText(canvas, title, (x0, y0 - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1,
                    cv2.LINE_AA)
        points = [(float(h["epoch"]), float(h[key])) for h in history
                  if key in h and h[key] is not None and math.isfinite(float(h[key]))]
        if not points:
            cv2.putText(canvas, "no data", (x0 + 10, (y0 + y1) // 2), cv2.FONT_HERSHEY_SIMPLEX,
                        0.5, (120, 120, 120), 1, cv2.LINE_AA)
            continue
        xs = np.array([q[0] for q in points])
        ys = np.array([q[1] for q in points])
        lo, hi = (0.0, 1.0) if key == "AP" else (float(ys.min()), float(ys.max()))
        if hi - lo < 1e-12:
            lo, hi = lo - 0.5, hi + 0.5
        xlo, xhi = float(xs.min()), float(max(xs.max(), xs.min() + 1))
        px = x0 + (xs - xlo) / (xhi - xlo) * (x1 - x0)
        py = y1 - (ys - lo) / (hi - lo) * (y1 - y0)
        pts = np.stack([px, py], 1).round().astype(np.int32)
        cv2.polylines(canvas, [pts.reshape(-1, 1, 2)], False, colour, 2, cv2.LINE_AA)
        for q in pts:
            cv2.circle(canvas, (int(q[0]), int(q[1])), 3, colour, -1, cv2.LINE_AA)
        for value, yy in ((hi, y0), (lo, y1)):
            cv2.putText(canvas, f"{value:.3g}", (p * panel_w + 4, yy + 4),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        for value, xx in ((xlo, x0), (xhi, x1)):
            cv2.putText(canvas, f"{value:.0f}", (xx - 8, y1 + 18), cv2.FONT_HERSHEY_SIMPLEX,
                        0.4, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(canvas, "epoch", ((x0 + x1) // 2 - 20, y1 + 32), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, (0, 0, 0), 1, cv2.LINE_AA)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), canvas):
        raise OSError(f"could not write the plot to {path}")
    return path


# ------------------------------------------------------------------------------------------------
# The loop
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        history: one dict per epoch run so far (``epoch``, ``loss``, ``lr``, ``pgpg``, ``AP``...).
        checkpoint: path of the last checkpoint (``last.pth``).
        plot: path of the loss/AP plot.
    """

    history: tuple[dict[str, Any], ...]
    checkpoint: Path
    plot: Path


def _distributed() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        import torch

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _device(cfg: TrainConfig, rank: int):
    import torch

    if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()):
        index = int(os.environ.get("LOCAL_RANK", rank)) % max(torch.cuda.device_count(), 1)
        return torch.device("cuda", index)
    return torch.device("cpu")


def _batches(sampler, num_workers: int, epoch: int):
    """Infinite batch iterator, optionally through DataLoader workers."""
    sampler.reseed(epoch)
    if num_workers <= 0:
        return iter(sampler)
    import torch
    from torch.utils.data import DataLoader, IterableDataset

    class _Stream(IterableDataset):
        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            if info is not None:
                sampler.reseed(epoch, info.id + 1)
            return iter(sampler)

    return iter(DataLoader(_Stream(), batch_size=None, num_workers=num_workers,
                           persistent_workers=False))


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars made Python numbers and tuples made lists; anything that is
    not a number, string, None or plain container is refused (it would not load back)."""
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TypeError(f"training state: {type(value).__name__} is not a plain value")


def read_training_state(path: str | Path) -> dict[str, Any]:
    """Read a trainer's ``last.pth`` safely (``weights_only=True``, via
    :func:`alphapose.models.checkpoint.load_torch_file`) and check its fields.

    Returns:
        ``{"epoch": int, "model": state dict, "optimizer": dict, "history": list, ...}``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: refused or unreadable file, or not a training state (the message names the
            file and the field).
    """
    from alphapose.models.checkpoint import load_torch_file

    state = load_torch_file(path)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a training state (expected a dict with epoch, model, "
                         f"optimizer and history, got {type(state).__name__})")
    for key, kind in (("epoch", int), ("model", dict), ("optimizer", dict), ("history", list)):
        value = state.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError(f"{path}: not a training state: {key!r} must be a "
                             f"{kind.__name__}, got {type(value).__name__}")
    if state["epoch"] < 0:
        raise ValueError(f"{path}: not a training state: epoch {state['epoch']} is negative")
    return state


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool = True,
          max_epochs: int | None = None) -> TrainResult:
    """Run (or continue) a training.

    Args:
        cfg: the run.
        resume: continue from ``output_dir/last.pth`` when it exists.
        progress: show a tqdm bar (rank 0).
        max_epochs: stop after this many epochs *in this call* (e.g. to test resuming).

    Returns:
        The history, the last checkpoint and the plot paths.
    """
    import torch
    import torch.distributed as dist
    from tqdm import tqdm

    from alphapose.data.sampler import Domain, MultiDomainSampler
    from alphapose.models import build_model, load_checkpoint

    rank, world = _distributed()
    device = _device(cfg, rank)
    pose = cfg.pose_config()
    layout = cfg.layout or pose.layout
    if layout is None:
        raise ValueError(f"TrainConfig.layout: the model config {cfg.model!r} has no standard "
                         f"layout; set 'layout'")
    input_size = pose.model.input_size
    base_aug = dataclasses.replace(cfg.augment, input_size=input_size)
    domains = []
    for spec in cfg.train:
        samples = spec.load(layout)
        if not samples:
            raise ValueError(f"dataset {spec.name!r}: no usable samples in {spec.ann}")
        aug = dataclasses.replace(base_aug, **dict(spec.augment)) if spec.augment else base_aug
        domains.append(Domain(spec.name, samples, spec.ratio, aug, spec.use_pgpg))
    proposals = PartProposalGenerator(DEFAULT_PART_OFFSETS)
    sampler = MultiDomainSampler(domains, cfg.batch_size, seed=cfg.seed, rank=rank,
                                 proposals=proposals)
    total = sum(len(d.samples) for d in domains)
    steps = cfg.steps_per_epoch or max(1, math.ceil(total / (cfg.batch_size * world)))
    val_samples, val_gt, val_layout = [], None, None
    if cfg.val is not None and rank == 0:
        if cfg.val.format not in _FORMAT_LAYOUT:
            raise ValueError(f"val format {cfg.val.format!r}: AP needs a COCO, Halpe or "
                             f"COCO-WholeBody annotation file")
        val_samples = cfg.val.load(layout)
        val_gt = json.loads(Path(cfg.val.ann).read_text(encoding="utf-8"))
        val_layout = _FORMAT_LAYOUT[cfg.val.format]

    torch.manual_seed(cfg.seed)
    model = build_model(pose.model).to(device)
    if cfg.pretrained:
        load_checkpoint(model, cfg.pretrained, strict=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = build_loss(cfg, pose)
    codec = build_codec(cfg, pose)
    out = Path(cfg.output_dir)
    last = out / "last.pth"
    history: list[dict[str, Any]] = []
    first_epoch = 0
    if resume and last.is_file():
        state = read_training_state(last)
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{last}: does not fit this run's model or optimizer "
                             f"({str(error).splitlines()[0][:300]}); start without --resume or "
                             f"use another output_dir") from None
        history = list(state["history"])
        first_epoch = state["epoch"] + 1
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model, device_ids=[device.index]
                                        if device.type == "cuda" else None)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    plot_path = out / "history.png"
    end = cfg.epochs if max_epochs is None else min(cfg.epochs, first_epoch + max_epochs)
    for epoch in range(first_epoch, end):
        lr = learning_rate(cfg, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        pgpg = cfg.pgpg_epoch is not None and epoch >= cfg.pgpg_epoch
        sampler.pgpg_enabled = pgpg
        batches = _batches(sampler, cfg.num_workers, epoch)
        model.train()
        losses = []
        bar = tqdm(range(steps), desc=f"epoch {epoch}", disable=not (progress and rank == 0),
                   leave=False)
        start = time.perf_counter()
        for _ in bar:
            batch = next(batches)
            loss = train_step(model, loss_fn,
                              torch.as_tensor(batch.images, device=device),
                              torch.as_tensor(batch.keypoints, device=device),
                              torch.as_tensor(batch.weights, device=device), optimizer)
            losses.append(float(loss))
            bar.set_postfix(loss=f"{losses[-1]:.4g}", lr=f"{lr:.2g}")
        bar.close()
        mean_loss = float(np.mean(losses))
        if world > 1:
            t = torch.tensor([mean_loss], device=device)
            dist.all_reduce(t)
            mean_loss = float(t) / world
        record: dict[str, Any] = {"epoch": epoch, "loss": mean_loss, "lr": lr, "pgpg": pgpg,
                                  "seconds": time.perf_counter() - start}
        if rank == 0:
            if val_samples:
                metrics = validate(model, codec, val_samples, val_gt, val_layout, input_size,
                                   cfg.batch_size, cfg.val_flip)
                record.update({k: v for k, v in metrics.items() if k.startswith("AP")})
            history.append(record)
            # only what load_torch_file (weights_only=True) reads back: tensors, numbers,
            # strings and plain containers
            state = {"epoch": epoch, "model": _unwrap(model).state_dict(),
                     "optimizer": optimizer.state_dict(), "history": _plain(history),
                     "config": _plain(cfg.to_dict())}
            torch.save(state, out / "last.tmp")
            os.replace(out / "last.tmp", last)
            torch.save(_unwrap(model).state_dict(), out / f"model_{epoch}.pth")
            (out / "history.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
            plot_history(history, plot_path)
            if progress:
                ap = f" | val AP {record['AP']:.4f}" if "AP" in record else ""
                print(f"##### epoch {epoch} | loss {mean_loss:.5g} | lr {lr:.3g}"
                      f"{' | PGPG' if pgpg else ''}{ap}", flush=True)
        else:
            history.append(record)
        if world > 1:
            dist.barrier()
    return TrainResult(tuple(history), last, plot_path)


# ------------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------------

def _run_train(args: argparse.Namespace) -> int:
    cfg = TrainConfig.from_yaml(args.config)
    changes: dict[str, Any] = {}
    if args.output_dir:
        changes["output_dir"] = args.output_dir
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.device:
        changes["device"] = args.device
    if changes:
        cfg = dataclasses.replace(cfg, **changes)
    result = train(cfg, resume=args.resume, progress=not args.quiet)
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0 and not args.quiet:
        print(f"checkpoint: {result.checkpoint}\nplot: {result.plot}")
    return 0


def add_commands(subparsers: Any) -> None:
    """Register ``alphapose train``."""
    parser = subparsers.add_parser(
        "train", help="train a pose network (multi-domain, SIKR, PGPG; DDP with torchrun)",
        description="Train a pose network from a training YAML (see alphapose.train). Multi-"
                    "process: torchrun --nproc_per_node N -m alphapose train cfg.yaml")
    parser.add_argument("config", help="training YAML")
    parser.add_argument("--resume", action="store_true",
                        help="continue from output_dir/last.pth if present")
    parser.add_argument("--output-dir", dest="output_dir", default=None,
                        help="override output_dir")
    parser.add_argument("--epochs", type=int, default=None, help="override epochs")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default=None)
    parser.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    parser.set_defaults(func=_run_train)
