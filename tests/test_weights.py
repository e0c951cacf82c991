"""Model zoo: cache folder, wheel extraction, checksum verification (with a wheel made here)."""

from __future__ import annotations

import hashlib
import os
import zipfile

import pytest

from alphapose import weights
from alphapose.weights import ModelFile, cache_dir, get_model_file

MEMBER = "mediapipe/modules/demo/demo.tflite"
PAYLOAD = b"not really a model, but bytes with a known checksum" * 100


@pytest.fixture()
def local_wheel(tmp_path, monkeypatch):
    wheel = tmp_path / "mediapipe-0.10.14-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(MEMBER, PAYLOAD)
        archive.writestr("mediapipe/other.txt", b"ignored")
    monkeypatch.setenv("ALPHAPOSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ALPHAPOSE_MEDIAPIPE_WHEEL", str(wheel))
    return wheel


def entry(sha256: str) -> dict[str, ModelFile]:
    return {"demo": ModelFile("demo", "demo.tflite", MEMBER, sha256, len(PAYLOAD))}


def test_fetch_extracts_and_verifies(local_wheel, monkeypatch) -> None:
    monkeypatch.setattr(weights, "MODEL_FILES", entry(hashlib.sha256(PAYLOAD).hexdigest()))
    path = get_model_file("demo")
    assert path == cache_dir() / "demo.tflite" and path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in cache_dir().iterdir()) == ["demo.tflite"]  # nothing else
    # cached now: a second call needs no wheel
    monkeypatch.setenv("ALPHAPOSE_MEDIAPIPE_WHEEL", str(local_wheel) + ".gone")
    assert get_model_file("demo") == path


def test_checksum_mismatch_is_refused_and_removed(local_wheel, monkeypatch) -> None:
    monkeypatch.setattr(weights, "MODEL_FILES", entry("0" * 64))
    with pytest.raises(RuntimeError, match="sha256 mismatch"):
        get_model_file("demo")
    assert not (cache_dir() / "demo.tflite").exists()


def test_missing_offline_wheel_says_how_to_fix(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ALPHAPOSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ALPHAPOSE_MEDIAPIPE_WHEEL", str(tmp_path / "nope.whl"))
    monkeypatch.setattr(weights, "MODEL_FILES", entry("0" * 64))
    with pytest.raises(RuntimeError, match="no such file"):
        get_model_file("demo")
    with pytest.raises(RuntimeError, match="download=False"):
        get_model_file("demo", download=False)


def test_unknown_name_suggests_a_close_one() -> None:
    with pytest.raises(ValueError, match="Did you mean 'blaze-pose-full'"):
        get_model_file("blaze-pose-ful")


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ALPHAPOSE_CACHE", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x"
    monkeypatch.delenv("ALPHAPOSE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "alphapose"


# -- npm packages as carriers ------------------------------------------------------------------

NPM_JSON = b'{"format": "graph-model"}'
NPM_BIN = b"\x01\x02weights" * 50


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture()
def npm_tarball(tmp_path, monkeypatch):
    """A package tarball as ``npm pack`` writes it (members under ``package/``)."""
    import io
    import tarfile

    tarball = tmp_path / "demo-models-1.0.0.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, data in [("package/README.md", b"readme"),
                           ("package/models/demo.json", NPM_JSON),
                           ("package/models/demo.bin", NPM_BIN)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    monkeypatch.setenv("ALPHAPOSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ALPHAPOSE_DEMO_TGZ", raising=False)
    return tarball


def npm_entry(tarball_sha256: str, bin_sha256: str | None = None) -> dict[str, ModelFile]:
    package = weights.NpmPackage("demo-models@1.0.0", tarball_sha256, "ALPHAPOSE_DEMO_TGZ")
    companion = weights.Member("package/models/demo.bin", "demo/demo.bin",
                               bin_sha256 or _sha(NPM_BIN), len(NPM_BIN))
    return {"demo-npm": ModelFile("demo-npm", "demo/demo.json", "package/models/demo.json",
                                  _sha(NPM_JSON), len(NPM_JSON), package, "demo",
                                  (companion,))}


def test_npm_tarball_from_the_environment(npm_tarball, monkeypatch) -> None:
    monkeypatch.setattr(weights, "MODEL_FILES", npm_entry(weights.sha256sum(npm_tarball)))
    monkeypatch.setenv("ALPHAPOSE_DEMO_TGZ", str(npm_tarball))
    path = get_model_file("demo-npm")
    assert path == cache_dir() / "demo" / "demo.json" and path.read_bytes() == NPM_JSON
    assert (cache_dir() / "demo" / "demo.bin").read_bytes() == NPM_BIN
    assert sorted(p.name for p in (cache_dir() / "demo").iterdir()) == ["demo.bin", "demo.json"]
    assert weights.MODEL_FILES["demo-npm"].total_size == len(NPM_JSON) + len(NPM_BIN)


def test_npm_pack_is_run_when_npm_is_there(npm_tarball, tmp_path, monkeypatch) -> None:
    # a stand-in `npm` that "packs" by copying the tarball into its working folder
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "npm"
    fake.write_text(f"#!/bin/sh\ncp {npm_tarball} ./demo-models-1.0.0.tgz\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(weights, "MODEL_FILES", npm_entry(weights.sha256sum(npm_tarball)))
    assert get_model_file("demo-npm").read_bytes() == NPM_JSON


def test_npm_tarball_with_a_wrong_sha256_is_refused(npm_tarball, monkeypatch) -> None:
    monkeypatch.setattr(weights, "MODEL_FILES", npm_entry("0" * 64))
    monkeypatch.setenv("ALPHAPOSE_DEMO_TGZ", str(npm_tarball))
    with pytest.raises(RuntimeError, match="does not match the expected 0000.* of "
                                           "demo-models@1.0.0"):
        get_model_file("demo-npm")
    assert not (cache_dir() / "demo" / "demo.json").exists()


def test_npm_member_with_a_wrong_sha256_is_refused(npm_tarball, monkeypatch) -> None:
    monkeypatch.setattr(weights, "MODEL_FILES",
                        npm_entry(weights.sha256sum(npm_tarball), bin_sha256="0" * 64))
    monkeypatch.setenv("ALPHAPOSE_DEMO_TGZ", str(npm_tarball))
    with pytest.raises(RuntimeError, match="package/models/demo.bin in .*: sha256 mismatch"):
        get_model_file("demo-npm")
    assert not (cache_dir() / "demo" / "demo.bin").exists()


def test_without_npm_or_tarball_the_message_says_what_to_do(npm_tarball, monkeypatch) -> None:
    monkeypatch.setattr(weights, "MODEL_FILES", npm_entry(weights.sha256sum(npm_tarball)))
    monkeypatch.setattr(weights.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="npm is not on the PATH and ALPHAPOSE_DEMO_TGZ is not "
                                           "set: install Node.js .*`npm pack demo-models@1.0.0`"):
        get_model_file("demo-npm")


def test_zoo_entries_are_consistent() -> None:
    for name, entry in weights.MODEL_FILES.items():
        assert entry.name == name
        assert isinstance(entry.package, (weights.PipWheel, weights.NpmPackage))
        for member in entry.members:
            assert len(member.sha256) == 64 and member.size > 0
            if isinstance(entry.package, weights.NpmPackage):
                assert member.path.startswith("package/")
