"""Backends: torch and onnxruntime agree on raw maps; the decode exported into the graph."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alphapose.codecs import CombinedCodec, HeatmapCodec, IntegralRegressionCodec
from alphapose.runtime.backends import create_backend
from alphapose.runtime.base import Backend, check_batch

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from torch import nn

from alphapose.runtime.onnx_backend import OnnxBackend, export_onnx
from alphapose.runtime.torch_backend import TorchBackend


class TinyPoseNet(nn.Module):
    """Stride-4 net with the FastPose ingredients: conv, BN, ReLU, SE-style gate, PixelShuffle."""

    def __init__(self, num_keypoints: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(), nn.Conv2d(16, 32, 3, 4, 1, bias=False),
                                  nn.BatchNorm2d(32), nn.ReLU())
        self.gate = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.Sigmoid())
        self.up = nn.Sequential(nn.PixelShuffle(2), nn.Conv2d(8, 16, 3, padding=1))
        self.out = nn.Conv2d(16, num_keypoints, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stem(x)
        y = y * self.gate(y.mean((2, 3)))[:, :, None, None]
        return self.out(torch.relu(self.up(y)))


def randomize_bn(module: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BN statistics, so an exporter that mishandles BN cannot pass."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) * 0.2 - 0.1)
    return module.eval()


@pytest.fixture(scope="module")
def tiny() -> nn.Module:
    torch.manual_seed(0)
    return randomize_bn(TinyPoseNet())


@pytest.fixture(scope="module")
def tiny_onnx(tiny: nn.Module, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(tiny, tmp_path_factory.mktemp("onnx") / "tiny.onnx", (64, 48))


def crops(n: int, size: tuple[int, int] = (64, 48), seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (n, 3, *size)).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# Parity
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 3], ids=["batch1", "batch3"])
def test_onnx_equals_torch_on_raw_maps(tiny: nn.Module, tiny_onnx: Path, n: int) -> None:
    batch = crops(n)
    expected = TorchBackend(tiny)(batch)
    got = OnnxBackend(tiny_onnx)(batch)
    assert got.shape == expected.shape == (n, 5, 16, 12) and got.dtype == np.float32
    assert np.abs(got - expected).max() <= 1e-4
    assert np.abs(expected).max() > 1e-2  # the comparison is not between two near-zero maps


@pytest.mark.parametrize("optimization", ["disable", "basic", "extended", "all"])
def test_every_optimization_level_agrees(tiny: nn.Module, tiny_onnx: Path,
                                         optimization: str) -> None:
    batch = crops(2)
    got = OnnxBackend(tiny_onnx, optimization=optimization, num_threads=1)(batch)
    assert np.abs(got - TorchBackend(tiny)(batch)).max() <= 1e-4


@pytest.mark.parametrize("codec", [HeatmapCodec(), IntegralRegressionCodec("sigmoid"),
                                   CombinedCodec(2)], ids=["heatmap", "integral", "combined"])
def test_exported_decode_equals_numpy_codec(tiny: nn.Module, tmp_path: Path, codec) -> None:
    path = export_onnx(tiny, tmp_path / "decode.onnx", (64, 48), codec=codec)
    backend = OnnxBackend(path)
    assert backend.output_names == ("heatmaps", "keypoints", "keypoint_scores")
    outputs = backend.run(crops(4))
    coords, scores = codec.decode(outputs["heatmaps"])
    np.testing.assert_allclose(outputs["keypoints"], coords, atol=1e-4)
    np.testing.assert_allclose(outputs["keypoint_scores"], scores, atol=1e-6)
    np.testing.assert_array_equal(backend(crops(4)), outputs["heatmaps"])


def test_torch_channels_last_agrees(tiny: nn.Module) -> None:
    torch.manual_seed(0)
    other = randomize_bn(TinyPoseNet())
    other.load_state_dict(tiny.state_dict())
    batch = crops(2)
    assert np.abs(TorchBackend(other, channels_last=True)(batch)
                  - TorchBackend(tiny)(batch)).max() <= 1e-5


@pytest.mark.slow
def test_fastpose50_onnx_equals_torch(tmp_path: Path) -> None:
    fastpose = pytest.importorskip("alphapose.models.fastpose",
                                   reason="alphapose.models.fastpose is not available")
    torch.manual_seed(0)
    model = randomize_bn(fastpose.FastPose(17, depth=50))
    path = export_onnx(model, tmp_path / "fastpose50.onnx", (256, 192))
    batch = crops(1, (256, 192))
    expected = TorchBackend(model)(batch)
    got = OnnxBackend(path)(batch)
    assert got.shape == (1, 17, 64, 48)
    assert np.abs(got - expected).max() <= 1e-4, np.abs(got - expected).max()


# ------------------------------------------------------------------------------------------------
# Protocol, checks, errors
# ------------------------------------------------------------------------------------------------

def test_backends_obey_the_protocol(tiny: nn.Module, tiny_onnx: Path) -> None:
    assert isinstance(TorchBackend(tiny), Backend)
    assert isinstance(OnnxBackend(tiny_onnx), Backend)


def test_fixed_batch_export_rejects_other_batches(tiny: nn.Module, tmp_path: Path) -> None:
    path = export_onnx(tiny, tmp_path / "fixed.onnx", (64, 48), dynamic_batch=False)
    backend = OnnxBackend(path)
    assert backend.input_shape == (1, 3, 64, 48)
    with pytest.raises(ValueError, match="dynamic_batch"):
        backend(crops(2))


def test_onnx_rejects_wrong_crop_size(tiny_onnx: Path) -> None:
    with pytest.raises(ValueError, match="axis 2"):
        OnnxBackend(tiny_onnx)(crops(1, (32, 48)))


@pytest.mark.parametrize(("batch", "error", "match"), [
    (np.zeros((3, 64, 48), np.float32), ValueError, "shape"),
    (np.zeros((0, 3, 64, 48), np.float32), ValueError, "at least one"),
    (np.zeros((1, 3, 4, 4), bool), TypeError, "dtype"),
], ids=["3d", "empty", "bool"])
def test_check_batch_errors(batch: np.ndarray, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        check_batch(batch)


def test_check_batch_converts_to_contiguous_float32() -> None:
    batch = np.arange(2 * 3 * 2 * 2, dtype=np.float64).reshape(2, 3, 2, 2)[..., ::-1]
    out = check_batch(batch)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, batch)


def test_constructor_errors(tmp_path: Path, tiny_onnx: Path) -> None:
    with pytest.raises(TypeError, match="module"):
        TorchBackend("not a module")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        OnnxBackend(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="optimization"):
        OnnxBackend(tiny_onnx, optimization="max")
    with pytest.raises(ValueError, match="num_threads"):
        OnnxBackend(tiny_onnx, num_threads=0)
    with pytest.raises(TypeError, match="module"):
        export_onnx("not a module", tmp_path / "x.onnx")  # type: ignore[arg-type]


def test_export_restores_training_mode(tmp_path: Path) -> None:
    model = TinyPoseNet().train()
    export_onnx(model, tmp_path / "t.onnx", (64, 48))
    assert model.training


def test_torch_backend_takes_first_of_tuple_outputs(tiny: nn.Module) -> None:
    class Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = tiny

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.net(x), x

    batch = crops(1)
    np.testing.assert_array_equal(TorchBackend(Pair())(batch), TorchBackend(tiny)(batch))


def test_onnx_backend_and_codecs_import_without_torch() -> None:
    code = ("import sys, alphapose.runtime.onnx_backend, alphapose.runtime.base, "
            "alphapose.codecs, alphapose.estimators.network; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_create_backend_by_name(tiny: nn.Module, tmp_path: Path) -> None:
    batch = crops(2)
    expected = TorchBackend(tiny)(batch)
    torch_threads = torch.get_num_threads()
    try:
        assert isinstance(create_backend("torch", tiny, num_threads=1), TorchBackend)
    finally:
        torch.set_num_threads(torch_threads)
    temporary = create_backend("onnx", tiny, input_size=(64, 48))
    assert np.abs(temporary(batch) - expected).max() <= 1e-4
    kept = create_backend("onnx", tiny, input_size=(64, 48), onnx_path=tmp_path / "m.onnx")
    assert (tmp_path / "m.onnx").is_file() and isinstance(kept, OnnxBackend)
    reused = create_backend("onnx", None, onnx_path=tmp_path / "m.onnx")
    np.testing.assert_array_equal(reused(batch), kept(batch))


@pytest.mark.parametrize(("kind", "module", "match"), [("tflite", None, "kind"),
                                                      ("torch", None, "module"),
                                                      ("onnx", None, "module")],
                         ids=["unknown", "torch-without-module", "onnx-without-anything"])
def test_create_backend_errors(kind: str, module: None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        create_backend(kind, module)
