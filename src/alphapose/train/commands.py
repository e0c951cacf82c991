"""``alphapose train``: the command (registered by the CLI without importing torch)."""

from __future__ import annotations

import argparse
import dataclasses
import os
from typing import Any

from alphapose.train.config import TrainConfig

__all__ = ["add_commands"]


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
    from alphapose.train.loop import train

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
