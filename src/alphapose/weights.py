"""The model zoo: named model files with checksums, a cache folder and fetching.

The embedded default's models are the ``.tflite`` files that the ``mediapipe==0.10.14`` wheel on
PyPI carries (Apache-2.0). We never import mediapipe: on first use the wheel is fetched with
``pip download`` (any platform tag: the model files inside are platform-independent), the members
we use are extracted into the cache and their sha256 is verified.

Cache folder: ``$ALPHAPOSE_CACHE`` if set, else ``$XDG_CACHE_HOME/alphapose``, else
``~/.cache/alphapose``. Offline machines can point ``$ALPHAPOSE_MEDIAPIPE_WHEEL`` at a copy of the
wheel (or place the ``.tflite`` files in the cache folder by hand).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

__all__ = ["ModelFile", "MODEL_FILES", "cache_dir", "get_model_file", "list_models", "sha256sum"]

LOG = logging.getLogger("alphapose")

MEDIAPIPE_WHEEL = "mediapipe==0.10.14"


@dataclass(frozen=True)
class ModelFile:
    """One model file of the zoo.

    Attributes:
        name: zoo name, used on the command line.
        filename: file name in the cache folder.
        member: path of the file inside its wheel.
        sha256: expected checksum of the file.
        size: expected size in bytes.
        package: the PyPI requirement whose wheel carries the file.
        description: what the model does.
    """

    name: str
    filename: str
    member: str
    sha256: str
    size: int
    package: str = MEDIAPIPE_WHEEL
    description: str = ""


def _mp(name: str, member: str, sha256: str, size: int, description: str) -> ModelFile:
    return ModelFile(name, Path(member).name, member, sha256, size, MEDIAPIPE_WHEEL, description)


MODEL_FILES: dict[str, ModelFile] = {m.name: m for m in [
    _mp("blaze-person-detector", "mediapipe/modules/pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c", 2959046,
        "person detector (224x224, 2254 SSD anchors, 4 body keypoints)"),
    _mp("blaze-pose-full", "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", 6440512,
        "body landmarks (256x256 crop, 33 + 6 auxiliary points, 64x64 heatmaps)"),
    _mp("blaze-hand-full", "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
        "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3", 5478917,
        "hand landmarks (224x224 crop, 21 points)"),
    _mp("blaze-hand-lite", "mediapipe/modules/hand_landmark/hand_landmark_lite.tflite",
        "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6", 2071597,
        "hand landmarks, lite (224x224 crop, 21 points)"),
    _mp("blaze-hand-recrop", "mediapipe/modules/holistic_landmark/hand_recrop.tflite",
        "67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d", 123792,
        "hand re-crop (256x256 crop from the body's hand points, 2 points placing the hand ROI)"),
    _mp("blaze-face-mesh", "mediapipe/modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814", 1242398,
        "face mesh (192x192 crop, 468 points)"),
]}


def cache_dir() -> Path:
    """The folder model files are kept in (created on demand)."""
    if os.environ.get("ALPHAPOSE_CACHE"):
        return Path(os.environ["ALPHAPOSE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "alphapose"


def list_models() -> list[str]:
    """Names of every model of the zoo."""
    return sorted(MODEL_FILES)


def sha256sum(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _lookup(name: str) -> ModelFile:
    if name not in MODEL_FILES:
        import difflib

        close = difflib.get_close_matches(name, MODEL_FILES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown model {name!r}.{hint} Valid names: {', '.join(list_models())}")
    return MODEL_FILES[name]


def get_model_file(name: str, *, download: bool = True) -> Path:
    """Path of a zoo model in the cache, fetching and verifying it on first use.

    Args:
        name: a zoo name (see :func:`list_models`).
        download: fetch the carrying wheel when the file is not cached yet.

    Returns:
        Path of the verified model file.

    Raises:
        ValueError: unknown name.
        RuntimeError: the file is missing and cannot be fetched, or its checksum is wrong.
    """
    entry = _lookup(name)
    target = cache_dir() / entry.filename
    if target.is_file() and target.stat().st_size == entry.size and sha256sum(target) == entry.sha256:
        return target
    if target.is_file():
        LOG.warning("%s: checksum mismatch, fetching it again", target)
    if not download:
        raise RuntimeError(f"model {name!r} is not in the cache {cache_dir()} and download=False")
    _fetch_wheel_members(entry.package)
    if not target.is_file():
        raise RuntimeError(f"model {name!r}: {entry.member} was not found in {entry.package}")
    actual = sha256sum(target)
    if actual != entry.sha256:
        target.unlink()
        raise RuntimeError(f"model {name!r}: sha256 {actual} does not match the expected "
                           f"{entry.sha256}; the file was removed, try again")
    return target


def _download_wheel(package: str, dest: Path) -> Path:
    """``pip download`` one wheel (no dependencies) into ``dest``; returns its path."""
    local = os.environ.get("ALPHAPOSE_MEDIAPIPE_WHEEL")
    if local:
        if not Path(local).is_file():
            raise RuntimeError(f"ALPHAPOSE_MEDIAPIPE_WHEEL={local}: no such file")
        return Path(local)
    # A fixed manylinux tag lets any machine fetch it: the members we use are plain data files.
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--platform", "manylinux_2_17_x86_64", "--python-version", "3.11",
           "--progress-bar", "on", "-d", str(dest), package]
    LOG.info("fetching the models: %s", " ".join(cmd))
    print(f"alphapose: fetching {package} from PyPI once for its model files "
          f"(cache: {cache_dir()})", file=sys.stderr)
    result = subprocess.run(cmd, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
    wheels = sorted(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise RuntimeError(
            f"could not fetch {package} with pip (exit {result.returncode}): "
            f"{result.stderr.strip()[-500:]}\nOffline? Copy the wheel here and set "
            f"ALPHAPOSE_MEDIAPIPE_WHEEL=/path/to/mediapipe-0.10.14-....whl")
    return wheels[0]


def _fetch_wheel_members(package: str) -> None:
    """Extract every zoo file the wheel of ``package`` carries into the cache."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {m.member: m for m in MODEL_FILES.values() if m.package == package}
    with tempfile.TemporaryDirectory(prefix="alphapose-") as tmp:
        wheel = _download_wheel(package, Path(tmp))
        with zipfile.ZipFile(wheel) as archive:
            members = [i for i in archive.infolist() if i.filename in wanted]
            for info in tqdm(members, desc="extracting models", unit="file", file=sys.stderr):
                entry = wanted[info.filename]
                partial = folder / (entry.filename + ".part")
                with archive.open(info) as src, open(partial, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                if sha256sum(partial) != entry.sha256:
                    partial.unlink()
                    raise RuntimeError(f"{info.filename} in {wheel.name}: sha256 mismatch")
                partial.replace(folder / entry.filename)
