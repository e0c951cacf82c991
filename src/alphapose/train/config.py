"""The training config (:class:`TrainConfig`, a YAML file of its own) and the learning-rate
schedule; see :mod:`alphapose.train` for the file's fields and the official defaults."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from alphapose.data.augment import (
    AugmentConfig,
)
from alphapose.data.datasets import DATASET_FORMATS, Sample, load_dataset

if TYPE_CHECKING:

    from alphapose.config import PoseConfig


__all__ = ["DatasetSpec", "TrainConfig", "learning_rate"]




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
