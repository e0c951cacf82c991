"""The training loop: the loss and codec a config asks for, one optimisation step, and
:func:`train` (epochs, PGPG, multi-domain batches, checkpoints with resume, DDP)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alphapose.data.augment import DEFAULT_PART_OFFSETS, PartProposalGenerator
from alphapose.train.config import TrainConfig, learning_rate
from alphapose.train.validation import VALIDATION_LAYOUTS, plot_history, unwrap_model, validate

if TYPE_CHECKING:
    import torch

    from alphapose.config import PoseConfig

__all__ = ["TrainResult", "build_codec", "build_loss", "read_training_state", "train",
           "train_step"]


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
        if cfg.val.format not in VALIDATION_LAYOUTS:
            raise ValueError(f"val format {cfg.val.format!r}: AP needs a COCO, Halpe or "
                             f"COCO-WholeBody annotation file")
        val_samples = cfg.val.load(layout)
        val_gt = json.loads(Path(cfg.val.ann).read_text(encoding="utf-8"))
        val_layout = VALIDATION_LAYOUTS[cfg.val.format]

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
            state = {"epoch": epoch, "model": unwrap_model(model).state_dict(),
                     "optimizer": optimizer.state_dict(), "history": _plain(history),
                     "config": _plain(cfg.to_dict())}
            torch.save(state, out / "last.tmp")
            os.replace(out / "last.tmp", last)
            torch.save(unwrap_model(model).state_dict(), out / f"model_{epoch}.pth")
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
