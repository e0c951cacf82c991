"""Nothing the project reads can run code (issue #14, item 1).

Every checkpoint goes through one loader, ``alphapose.models.checkpoint.load_torch_file``
(``torch.load(weights_only=True)``); a planted pickle that would create a marker file is refused
by every entry point, and the package source holds no other unpickling, ``eval``/``exec`` or
unsafe YAML call.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import alphapose

PACKAGE = Path(alphapose.__file__).parent
THE_LOADER = ("models/checkpoint.py", "load_torch_file")


class _Planted:
    """Unpickling this calls ``open(marker, "w")``: code run by loading a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant(path: Path, marker: Path) -> Path:
    torch.save({"epoch": 0, "model": _Planted(marker), "optimizer": {}, "history": []}, path)
    assert not marker.exists()
    return path


def _loaders():
    from alphapose.detection.yolox import read_checkpoint
    from alphapose.models.checkpoint import load_torch_file, read_state_dict
    from alphapose.train import read_training_state

    return {"load_torch_file": load_torch_file, "read_state_dict": read_state_dict,
            "yolox.read_checkpoint": read_checkpoint,
            "train.read_training_state": read_training_state}


@pytest.mark.parametrize("loader", ["load_torch_file", "read_state_dict",
                                    "yolox.read_checkpoint", "train.read_training_state"])
def test_planted_pickle_is_refused_and_runs_nothing(tmp_path: Path, loader: str) -> None:
    marker = tmp_path / "pwned"
    path = _plant(tmp_path / "last.pth", marker)
    with pytest.raises(ValueError, match="refused: the file stores a io.open object"):
        _loaders()[loader](path)
    assert not marker.exists()


def test_train_resume_refuses_a_planted_last_pth_and_runs_nothing(shared_data,
                                                                  tmp_path: Path) -> None:
    from alphapose.data.augment import AugmentConfig
    from alphapose.train import DatasetSpec, TrainConfig, train

    out = tmp_path / "run"
    out.mkdir()
    marker = tmp_path / "pwned"
    _plant(out / "last.pth", marker)
    cfg = TrainConfig(
        model="halpe_136/resnet/256x192_res50_lr1e-3_2x-regression",
        train=(DatasetSpec("freihand", str(shared_data / "mmpose/freihand/test_freihand.json")),),
        val=None, output_dir=str(out), num_layers=18, input_size=(64, 64), conv_dim=16,
        batch_size=4, steps_per_epoch=1, epochs=1, lr=1e-3, lr_steps=(), pgpg_epoch=None,
        augment=AugmentConfig.no_augmentation(), device="cpu")
    with pytest.raises(ValueError, match="last.pth: refused"):
        train(cfg, resume=True, progress=False)
    assert not marker.exists()


def test_training_state_must_have_its_fields(tmp_path: Path) -> None:
    from alphapose.train import read_training_state

    torch.save({"epoch": "1", "model": {}, "optimizer": {}, "history": []}, tmp_path / "s.pth")
    with pytest.raises(ValueError, match="s.pth: not a training state: 'epoch' must be a int"):
        read_training_state(tmp_path / "s.pth")


# -- the package source ----------------------------------------------------------------------

_UNPICKLING_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve",
                       "joblib"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _unsafe_calls(path: Path) -> list[str]:
    """``file:line: what`` for every call that could run code from data, except the one
    loader's ``torch.load(..., weights_only=True)``."""
    relative = path.relative_to(PACKAGE).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    functions = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for child in ast.walk(node):
                functions.setdefault(id(child), node.name)
    for node in ast.walk(tree):
        where = f"{relative}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in _UNPICKLING_MODULES and not (
                        alias.name == "pickle" and relative == THE_LOADER[0]):
                    found.append(f"{where}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in _UNPICKLING_MODULES:
                found.append(f"{where}: from {node.module} import ...")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            last = name.split(".")[-1]
            if name in ("eval", "exec", "compile", "__import__", "builtins.eval", "builtins.exec"):
                found.append(f"{where}: {name}()")
            elif name.split(".")[0] in _UNPICKLING_MODULES:
                if not (relative == THE_LOADER[0] and name == "pickle.UnpicklingError"):
                    found.append(f"{where}: {name}()")
            elif name.endswith("torch.load"):
                weights_only = _keyword(node, "weights_only")
                safe = isinstance(weights_only, ast.Constant) and weights_only.value is True
                inside = functions.get(id(node))
                if not (safe and relative == THE_LOADER[0] and inside == THE_LOADER[1]):
                    found.append(f"{where}: torch.load() outside {THE_LOADER[1]} or without "
                                 f"weights_only=True")
            elif name.endswith(("jit.load", "hub.load")):
                found.append(f"{where}: {name}()")
            elif last in ("load", "load_all", "unsafe_load", "full_load") and \
                    name.split(".")[0] == "yaml":
                found.append(f"{where}: {name}() (use yaml.safe_load)")
            elif last == "load" and name.split(".")[0] in ("np", "numpy"):
                allow = _keyword(node, "allow_pickle")
                if not (allow is None
                        or (isinstance(allow, ast.Constant) and allow.value is False)):
                    found.append(f"{where}: {name}(allow_pickle=...)")
            elif name in ("pd.read_pickle", "pandas.read_pickle", "os.system"):
                found.append(f"{where}: {name}()")
    return found


def test_package_source_has_no_unsafe_deserialisation() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 30
    found = [line for path in files for line in _unsafe_calls(path)]
    assert found == []


def test_the_source_check_sees_unsafe_calls(tmp_path: Path, monkeypatch) -> None:
    bad = PACKAGE / "models" / "checkpoint.py"
    text = bad.read_text(encoding="utf-8")
    assert "torch.load(path, map_location=\"cpu\", weights_only=True)" in text
    assert _unsafe_calls(bad) == []
    planted = tmp_path / "pkg"
    planted.mkdir()
    sample = planted / "sample.py"
    sample.write_text("import pickle\nimport yaml, torch, numpy as np\n"
                      "def f(p):\n    torch.load(p, weights_only=False)\n    yaml.load(p)\n"
                      "    np.load(p, allow_pickle=True)\n    eval('1')\n    m.eval()\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", planted)
    assert [line.split(": ", 1)[1] for line in _unsafe_calls(sample)] == [
        "import pickle",
        "torch.load() outside load_torch_file or without weights_only=True",
        "yaml.load() (use yaml.safe_load)", "np.load(allow_pickle=...)", "eval()"]


def test_a_file_that_is_no_checkpoint_is_not_called_unsafe(tmp_path) -> None:
    # torch reports a JSON file as a weights-only refusal ("Unsupported operand"); telling the
    # user it stores unsafe Python objects (and how to unpickle it anyway) would mislead
    from alphapose.models.checkpoint import load_torch_file

    path = tmp_path / "weights.pth"
    path.write_text('[{"not": "a checkpoint"}]')
    with pytest.raises(ValueError, match="not a PyTorch checkpoint") as error:
        load_torch_file(path)
    assert "weights_only=False" not in str(error.value)
