"""Loading official AlphaPose checkpoints: safe reading, key remapping, explained mismatches.

The official training script saves ``model.state_dict()`` (a plain ``{name: tensor}`` dict,
BatchNorm ``running_mean`` / ``running_var`` / ``num_batches_tracked`` included), and our networks
use the official module names, so loading is ``load_state_dict(strict=True)`` after
:func:`remap_state_dict` has undone the few ways such files get wrapped. Files are read with
``torch.load(weights_only=True)``: a file that stores Python objects besides tensors (a pickled
``nn.Module``, a config object ...) is refused with the reason, since unpickling it could run code.

When a state dict does not fit, the error lists missing, unexpected and wrong-shape keys and names
the packaged official config(s) whose network it does fit (:func:`match_official_configs`).
"""

from __future__ import annotations

import functools
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import torch
from torch import nn

from alphapose.config import ModelConfig, PoseConfig, get_official_config, list_official_configs

__all__ = [
    "ConfigMatch",
    "KeyReport",
    "compare_state_dict",
    "load_checkpoint",
    "load_model",
    "load_torch_file",
    "match_official_configs",
    "read_state_dict",
    "remap_state_dict",
]

StateDict = dict[str, torch.Tensor]
_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict")
_SHOWN = 6  # keys listed per category in error messages


@dataclass(frozen=True)
class KeyReport:
    """How a state dict's keys compare with a model's.

    Attributes:
        missing: model keys absent from the state dict.
        unexpected: state-dict keys the model does not have.
        wrong_shape: ``(key, checkpoint shape, model shape)`` for keys present in both.
    """

    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    wrong_shape: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = ()

    @property
    def ok(self) -> bool:
        """True when every key is present with the right shape and nothing is extra."""
        return not (self.missing or self.unexpected or self.wrong_shape)


@dataclass(frozen=True)
class ConfigMatch:
    """How well a state dict fits the network of one or more official configs.

    Attributes:
        names: official config names sharing that network (same keys and shapes).
        matched: keys present in both with equal shapes.
        checkpoint_keys: keys in the state dict.
        config_keys: keys of the config's network.
    """

    names: tuple[str, ...]
    matched: int
    checkpoint_keys: int
    config_keys: int

    @property
    def exact(self) -> bool:
        """True when the state dict has exactly the network's keys and shapes."""
        return self.matched == self.checkpoint_keys == self.config_keys

    @property
    def score(self) -> float:
        """Jaccard index of the ``(key, shape)`` sets, in [0, 1]."""
        union = self.checkpoint_keys + self.config_keys - self.matched
        return self.matched / union if union else 1.0


def load_torch_file(path: str | PathLike[str]) -> Any:
    """Read a file written by ``torch.save``, safely: the one place the project unpickles.

    ``torch.load(weights_only=True)`` rebuilds tensors, numbers, strings and plain containers
    only; a file that needs any other Python object (which unpickling could use to run code) is
    refused. Every checkpoint the project reads goes through here: pose networks, YOLOX weights
    and the trainer's own ``last.pth``.

    Args:
        path: the file.

    Returns:
        The stored object, tensors on the CPU.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file needs more than tensors to unpickle (refused; the message names the
            Python object it stores), or is not a readable PyTorch file (random bytes, cut
            short, ...).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        text = str(error)
        # torch words bytes that are no pickle at all ("Unsupported operand", "invalid load
        # key") as a weights-only refusal too: those files are not checkpoints, not unsafe ones
        if "Unsupported operand" in text or "invalid load key" in text:
            raise ValueError(f"{path}: not a PyTorch checkpoint (its bytes are no file torch.save "
                             f"writes: another format, or damaged)") from None
        if "Weights only load failed" not in text:
            raise ValueError(f"{path}: not a readable PyTorch checkpoint "
                             f"({text.splitlines()[0] if text else 'unpickling failed'})") from None
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
        what = f"a {found.group(1)} object" if found else "Python objects other than tensors"
        raise ValueError(
            f"{path}: refused: the file stores {what}, and unpickling it could run arbitrary "
            f"code, so it is read with torch.load(weights_only=True) only. If you trust the file, "
            f"convert it once to a plain state dict, e.g. obj = torch.load(path, "
            f"weights_only=False); torch.save(obj.state_dict() if hasattr(obj, 'state_dict') else "
            f"obj['state_dict'], 'plain.pth'), and load that.") from None
    except Exception as error:  # noqa: BLE001 - any damage to the bytes, whatever torch raises
        first = (str(error).splitlines() or [""])[0][:200]
        raise ValueError(f"{path}: not a readable PyTorch checkpoint "
                         f"({type(error).__name__}: {first})") from None


def read_state_dict(path: str | PathLike[str]) -> StateDict:
    """Read a checkpoint file safely (:func:`load_torch_file`) and return its remapped state
    dict.

    Args:
        path: a ``.pth`` file written by ``torch.save``.

    Returns:
        ``{name: tensor}`` on the CPU, after :func:`remap_state_dict`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file needs more than tensors to unpickle (refused; the message names the
            Python object it stores), is not a PyTorch checkpoint, or holds no state dict.
    """
    obj = load_torch_file(path)
    try:
        return remap_state_dict(obj)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from None


def remap_state_dict(state: Mapping[str, Any]) -> StateDict:
    """Undo the official-checkpoint quirks; the result has our (= the official) module names.

    1. A training-checkpoint wrapper ``{"state_dict": {...}, "epoch": ...}`` (also under
       ``"model"`` or ``"model_state_dict"``) is unwrapped when its top level is not all tensors.
    2. The ``module.`` prefix that ``nn.DataParallel`` / ``DistributedDataParallel`` add to every
       key (official multi-GPU runs) is removed when all keys carry it.

    Args:
        state: a mapping loaded from a checkpoint.

    Returns:
        A new ``{name: tensor}`` dict (tensors are not copied).

    Raises:
        TypeError: ``state`` is not a mapping.
        ValueError: no state dict inside, or non-tensor values.

    Example:
        >>> remap_state_dict({"module.conv_out.bias": torch.zeros(2)}).keys()
        dict_keys(['conv_out.bias'])
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"state dict: expected a mapping of tensors, got {type(state).__name__}")
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        for key in _WRAPPER_KEYS:
            inner = state.get(key)
            if isinstance(inner, Mapping) and inner and all(
                    isinstance(v, torch.Tensor) for v in inner.values()):
                state = inner
                break
    bad = [key for key, value in state.items()
           if not isinstance(key, str) or not isinstance(value, torch.Tensor)]
    if bad:
        raise ValueError(f"state dict: expected {{name: tensor}}, but {len(bad)} entr"
                         f"{'y is' if len(bad) == 1 else 'ies are'} not: "
                         f"{_truncate([repr(k) for k in bad])} (top-level keys: "
                         f"{_truncate([repr(k) for k in state])})")
    out = dict(state)
    if out and all(key.startswith("module.") for key in out):
        out = {key[len("module."):]: value for key, value in out.items()}
    return out


def compare_state_dict(model: nn.Module, state: Mapping[str, torch.Tensor]) -> KeyReport:
    """Missing, unexpected and wrong-shape keys of ``state`` against ``model.state_dict()``.

    ``num_batches_tracked`` counters may be missing (PyTorch < 0.4.1 files lack them; loading fills
    them with 0), so they are not reported as missing.
    """
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    missing = tuple(key for key in expected
                    if key not in state and not key.endswith(".num_batches_tracked"))
    unexpected = tuple(key for key in state if key not in expected)
    wrong = tuple((key, tuple(state[key].shape), shape) for key, shape in expected.items()
                  if key in state and tuple(state[key].shape) != shape)
    return KeyReport(missing, unexpected, wrong)


def load_checkpoint(model: nn.Module, path_or_state: str | PathLike[str] | Mapping[str, Any],
                    strict: bool = True, *, assign: bool = False) -> KeyReport:
    """Load an (official) checkpoint into ``model``.

    Args:
        model: a network from :func:`alphapose.models.build_model`.
        path_or_state: a ``.pth`` path (read with ``weights_only=True``) or a loaded state dict.
        strict: fail unless keys and shapes match exactly. With ``strict=False`` the matching
            keys are loaded and the rest is reported.
        assign: make the checkpoint's tensors the model's (no copy; floating tensors are first
            cast to the model's dtype). Needed for a model built on the ``meta`` device.

    Returns:
        The key comparison (all empty when strict loading succeeded).

    Raises:
        ValueError: (strict) keys or shapes differ; the message lists them (truncated, with
            counts) and names the official config(s) whose network the checkpoint fits. Also the
            errors of :func:`read_state_dict` and :func:`remap_state_dict`.
    """
    if isinstance(path_or_state, (str, PathLike)):
        source = str(path_or_state)
        state = read_state_dict(path_or_state)
    else:
        source = "state dict"
        state = remap_state_dict(path_or_state)
    for key, value in model.state_dict().items():
        if key.endswith(".num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(value, device="cpu")
    report = compare_state_dict(model, state)
    if strict and not report.ok:
        raise ValueError(_mismatch_message(model, report, state, source))
    if not strict:
        for key, _, _ in report.wrong_shape:
            del state[key]
    if assign:
        current = model.state_dict()
        for key, value in state.items():
            target = current.get(key)
            if target is not None and value.is_floating_point() and value.dtype != target.dtype:
                state[key] = value.to(target.dtype)
    model.load_state_dict(state, strict=strict, assign=assign)
    return report


def load_model(cfg: ModelConfig | PoseConfig,
               path_or_state: str | PathLike[str] | Mapping[str, Any]) -> nn.Module:
    """Build the network of ``cfg`` and load a checkpoint into it (strict), in eval mode.

    Faster than ``build_model`` + :func:`load_checkpoint` and without a second copy of the
    weights: the network is built on the ``meta`` device (no memory, no random initialisation)
    and takes over the checkpoint's tensors.

    Raises:
        ValueError: as :func:`load_checkpoint` and :func:`alphapose.models.build_model`.
    """
    from alphapose.models.registry import build_model

    model_cfg = cfg.model if isinstance(cfg, PoseConfig) else cfg
    with torch.device("meta"):
        model = build_model(model_cfg)
    load_checkpoint(model, path_or_state, strict=True, assign=True)
    leftover = [name for name, t in [*model.named_parameters(), *model.named_buffers()]
                if t.is_meta]
    assert not leftover, f"not loaded: {leftover[:5]}"  # strict loading covers every tensor
    return model.eval()


def match_official_configs(state: Mapping[str, Any], top: int = 3) -> list[ConfigMatch]:
    """Rank the packaged official configs by how well ``state`` fits their network.

    Configs with identical networks (e.g. the COCO FastPose 1x and 2x) are grouped in one entry.

    Args:
        state: a state dict (it is remapped first).
        top: entries to return.

    Returns:
        Best first, by the Jaccard index of ``(key, shape)`` pairs.
    """
    state = remap_state_dict(state)
    shapes = {key: tuple(value.shape) for key, value in state.items()}
    matches = []
    for names, signature in _official_signatures():
        matched = sum(1 for key, shape in shapes.items() if signature.get(key) == shape)
        matches.append(ConfigMatch(names, matched, len(shapes), len(signature)))
    matches.sort(key=lambda m: (-m.score, m.names))
    return matches[:top]


@functools.lru_cache(maxsize=1)
def _official_signatures() -> tuple[tuple[tuple[str, ...], dict[str, tuple[int, ...]]], ...]:
    """``(config names, {key: shape})`` for every packaged config we can build (meta device)."""
    from alphapose.models.registry import build_model

    groups: dict[tuple[tuple[str, tuple[int, ...]], ...], list[str]] = {}
    for name in list_official_configs():
        try:
            cfg = get_official_config(name)
            with torch.device("meta"):
                model = build_model(cfg.model)
        except ValueError:
            continue  # 3D or unimplemented types
        signature = tuple((key, tuple(value.shape)) for key, value in model.state_dict().items())
        groups.setdefault(signature, []).append(name)
    return tuple((tuple(names), dict(signature)) for signature, names in groups.items())


def _truncate(items: list[str] | tuple[str, ...], shown: int = _SHOWN) -> str:
    head = ", ".join(items[:shown])
    return head + (f", ... (+{len(items) - shown} more)" if len(items) > shown else "")


def _mismatch_message(model: nn.Module, report: KeyReport, state: Mapping[str, torch.Tensor],
                      source: str) -> str:
    name = type(model).__name__
    described = f"{name} (num_keypoints={getattr(model, 'num_keypoints', '?')})"
    lines = [(f"{source} does not fit {described}: {len(report.missing)} missing, "
              f"{len(report.unexpected)} unexpected, {len(report.wrong_shape)} wrong-shape key(s).")]
    if report.missing:
        lines.append(f"  missing ({len(report.missing)}): {_truncate(report.missing)}")
    if report.unexpected:
        lines.append(f"  unexpected ({len(report.unexpected)}): {_truncate(report.unexpected)}")
    if report.wrong_shape:
        shown = [f"{key}: checkpoint {tuple(got)} vs model {tuple(want)}"
                 for key, got, want in report.wrong_shape]
        lines.append(f"  wrong shape ({len(report.wrong_shape)}): {_truncate(shown, 4)}")
    matches = match_official_configs(state, top=1)
    if matches:
        best = matches[0]
        names = ", ".join(repr(n) for n in best.names)
        if best.exact:
            lines.append(f"The checkpoint fits the network of official config {names} exactly "
                         f"({best.matched} keys); build the model from it, e.g. "
                         f"load_model(get_official_config({best.names[0]!r}), path).")
        else:
            lines.append(f"Closest official config: {names} ({best.matched} of "
                         f"{best.checkpoint_keys} checkpoint keys agree in name and shape; the "
                         f"config's network has {best.config_keys}).")
    return "\n".join(lines)
