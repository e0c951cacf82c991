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

The package: :mod:`~alphapose.train.config` (the YAML config and schedule),
:mod:`~alphapose.train.loop` (loss, step, the loop), :mod:`~alphapose.train.validation` (AP per
epoch, the plot), :mod:`~alphapose.train.commands` (the command). Importing it does not import
torch (the CLI registers the command without it).
"""

from __future__ import annotations

# the package's names are its modules' (each module's __all__)
from alphapose.train import commands, config, loop, validation
from alphapose.train.commands import *
from alphapose.train.config import *
from alphapose.train.loop import *
from alphapose.train.validation import *

__all__: list[str] = []
__all__ += commands.__all__
__all__ += config.__all__
__all__ += loop.__all__
__all__ += validation.__all__
