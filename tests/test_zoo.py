"""Official checkpoints: every zoo entry resolves, and the CLI runs a network through torch and
ONNX (a random-weight checkpoint written here, in the official file layout)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from alphapose.zoo import POSE_MODELS, resolve_pose_config

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", sorted(POSE_MODELS), ids=sorted(POSE_MODELS))
def test_every_entry_resolves_to_a_layout(name: str) -> None:
    cfg = resolve_pose_config(name)
    assert cfg.layout in ("coco17", "halpe26", "halpe136", "coco_wholebody133")
    assert tuple(cfg.model.input_size) == (256, 192)


def test_unknown_pose_suggests_a_name() -> None:
    with pytest.raises(ValueError, match="Did you mean 'coco-fastpose-res50'"):
        resolve_pose_config("coco-fastpose-res5")


@pytest.fixture(scope="module")
def halpe26_checkpoint(tmp_path_factory):
    from alphapose.models import build_model

    cfg = resolve_pose_config("halpe26-fastpose-res50")
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "halpe26_fast_res50_256x192.pth"
    torch.save(build_model(cfg.model).state_dict(), path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_cli_runs_an_official_network(halpe26_checkpoint, tmp_path, backend: str) -> None:
    pytest.importorskip("onnxruntime")
    from alphapose.cli import main

    image = tmp_path / "000000000001.jpg"
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 255, (240, 320, 3), np.uint8))
    boxes = [{"image_id": 1, "bbox": [40, 30, 120, 180], "score": 0.9, "category_id": 1}]
    detfile = tmp_path / "det.json"
    detfile.write_text(json.dumps(boxes))
    out = tmp_path / "out"
    status = main(["run", str(image), "--pose", "halpe26-fastpose-res50", "--checkpoint",
                   str(halpe26_checkpoint), "--backend", backend, "--detfile", str(detfile),
                   "--layout", "halpe26", "--pose-nms", "none", "-o", str(out), "--quiet"])
    assert status == 0
    results = json.loads((out / "alphapose-results.json").read_text())
    assert len(results) == 1 and len(results[0]["keypoints"]) == 26 * 3
    assert results[0]["box"] == pytest.approx([40, 30, 120, 180])


def test_cli_needs_a_checkpoint_for_pose(capsys) -> None:
    from alphapose.cli import main

    assert main(["run", "x.jpg", "--pose", "coco-fastpose-res50"]) == 2  # usage error
    assert "--checkpoint" in capsys.readouterr().err


def test_cli_refuses_a_checkpoint_that_does_not_fit(halpe26_checkpoint, tmp_path,
                                                    capsys) -> None:
    from alphapose.cli import main

    image = tmp_path / "a.jpg"
    cv2.imwrite(str(image), np.zeros((64, 64, 3), np.uint8))
    assert main(["run", str(image), "--pose", "coco-fastpose-res50", "--checkpoint",
                 str(halpe26_checkpoint), "-o", str(tmp_path / "o"), "--quiet"]) == 2
    assert "halpe_26" in capsys.readouterr().err


def test_yolox_needs_weights(capsys) -> None:
    from alphapose.cli import main

    assert main(["run", "x.jpg", "--detector", "yolox-s"]) == 2
    assert "--detector-weights" in capsys.readouterr().err
