"""Model zoo: cache folder, wheel extraction, checksum verification (with a wheel made here)."""

from __future__ import annotations

import hashlib
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
