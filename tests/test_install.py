"""What the package declares about its installation holds: the Python versions it claims, and
the one line that names the extra to install when an optional dependency is missing."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from alphapose.cli import OPTIONAL_EXTRAS, describe_error

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "src" / "alphapose").rglob("*.py"))

# names the standard library gained after 3.10, by where they live
NEWER_NAMES = {
    ("typing", "Self"): (3, 11), ("typing", "Never"): (3, 11),
    ("typing", "LiteralString"): (3, 11), ("typing", "assert_never"): (3, 11),
    ("typing", "reveal_type"): (3, 11), ("typing", "TypeVarTuple"): (3, 11),
    ("typing", "Unpack"): (3, 11), ("typing", "NotRequired"): (3, 11),
    ("typing", "Required"): (3, 11), ("typing", "override"): (3, 12),
    ("datetime", "UTC"): (3, 11), ("enum", "StrEnum"): (3, 11),
    ("asyncio", "TaskGroup"): (3, 11),
}
NEWER_MODULES = {"tomllib": (3, 11)}


def declared_minimum() -> tuple[int, int]:
    text = (ROOT / "pyproject.toml").read_text()
    found = re.search(r'requires-python\s*=\s*">=\s*(\d+)\.(\d+)', text)
    assert found, "pyproject.toml declares no requires-python lower bound"
    return int(found[1]), int(found[2])


def newer_features(path: Path, minimum: tuple[int, int]) -> list[str]:
    """What ``path`` uses that Python ``minimum`` does not have."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (node.module, alias.name) in NEWER_NAMES:
                    found.append((f"from {node.module} import {alias.name}",
                                  NEWER_NAMES[node.module, alias.name]))
        if isinstance(node, ast.Import):
            found += [(f"import {a.name}", NEWER_MODULES[a.name]) for a in node.names
                      if a.name in NEWER_MODULES]
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in NEWER_NAMES):
            found.append((f"{node.value.id}.{node.attr}",
                              NEWER_NAMES[node.value.id, node.attr]))
        if type(node).__name__ == "TryStar":
            found.append(("except*", (3, 11)))
    return [f"{what} (Python {v[0]}.{v[1]})" for what, v in found if v > minimum]


def test_declared_python_version_covers_the_source():
    minimum = declared_minimum()
    problems = {}
    for path in SOURCES:
        ast.parse(path.read_text(), str(path), feature_version=minimum)  # syntax of that version
        if found := newer_features(path, minimum):
            problems[str(path.relative_to(ROOT))] = found
    assert not problems, f"requires-python >= {minimum} but the source needs newer: {problems}"
    assert sys.version_info[:2] >= minimum


def test_the_version_check_finds_newer_names(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("from typing import Any, Self\nimport tomllib\nfrom typing import override\n")
    assert newer_features(source, (3, 10)) == [
        "from typing import Self (Python 3.11)", "import tomllib (Python 3.11)",
        "from typing import override (Python 3.12)"]
    assert newer_features(source, (3, 11)) == ["from typing import override (Python 3.12)"]
    assert newer_features(source, (3, 12)) == []


@pytest.mark.parametrize("module, extra", sorted(OPTIONAL_EXTRAS.items()))
def test_missing_optional_dependency_names_its_extra(module, extra):
    try:
        raise RuntimeError("loading the model failed") from ModuleNotFoundError(
            f"No module named '{module}.sub'", name=f"{module}.sub")
    except RuntimeError as error:
        status, line = describe_error(error)
    assert status == 3
    assert line == (f"alphapose: this needs {module}, which is not installed: "
                    f"pip install 'alphapose[{extra}]'")


def test_other_import_errors_keep_their_own_message():
    status, line = describe_error(ModuleNotFoundError("No module named 'nowhere'", name="nowhere"))
    assert (status, line) == (3, "alphapose: No module named 'nowhere'")


def _run_without(module: str, *argv: str) -> subprocess.CompletedProcess:
    code = (f"import sys; sys.modules[{module!r}] = None\n"
            "from alphapose.cli import main\nraise SystemExit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize("options", [
    ["--detector", "yolox"],                           # a torch detector
    ["--pose", "halpe26-fastpose-res50"],              # a torch pose network
])
def test_torch_options_without_torch_say_which_extra(tmp_path, options):
    import cv2
    import numpy as np

    image = tmp_path / "people.jpg"
    cv2.imwrite(str(image), np.full((64, 64, 3), 128, np.uint8))
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"not read: torch is missing first")
    flag = "--detector-weights" if options[0] == "--detector" else "--checkpoint"
    done = _run_without("torch", "run", str(image), "-o", str(tmp_path / "out"), *options,
                        flag, str(weights))
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "alphapose: this needs torch, which is not installed: pip install 'alphapose[torch]'")


def test_help_loads_no_heavy_library():
    """``alphapose --help`` builds every parser without scipy, torch or the model runtimes (the
    time it takes: ``bench/startup.py``)."""
    code = ("import sys\nfrom alphapose.cli import build_parser\nbuild_parser()\n"
            "heavy = ('scipy', 'torch', 'onnxruntime', 'onnx', 'ai_edge_litert', 'ray', "
            "'matplotlib', 'skimage')\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"
    import alphapose  # the package's names still resolve (lazily)

    assert alphapose.Pipeline.__name__ == "Pipeline" and alphapose.get_layout("coco17").name
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        alphapose.Nothing  # noqa: B018
