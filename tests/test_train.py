"""Training loop: schedule, config, DDP gradients, checkpoint/resume, loss decrease, losses."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from alphapose.data.augment import AugmentConfig
from alphapose.losses import PoseLoss, gaussian_targets, integral_loss
from alphapose.models.fastpose import FastPose
from alphapose.train import (
    DatasetSpec,
    TrainConfig,
    learning_rate,
    plot_history,
    train,
    train_step,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models: one intra-op thread is as fast and suffers far less from a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------------------------------------
# Config and schedule
# ------------------------------------------------------------------------------------------------


def test_schedule_defaults_follow_the_official_multidomain_config(shared_data):
    cfg = TrainConfig.from_dict({
        "model": "halpe_coco_wholebody_136/resnet/256x192_res50_lr1e-3_2x-regression",
        "train": [{"format": "halpe", "ann": str(shared_data / "mmpose/halpe/test_halpe.json")}]})
    # official YAML TRAIN: LR 1e-3, LR_STEP [170, 200], DPG_MILESTONE 210, DPG_STEP [230, 250]
    assert (cfg.lr, cfg.lr_steps, cfg.pgpg_epoch, cfg.pgpg_lr_steps, cfg.epochs,
            cfg.batch_size) == (1e-3, (170, 200), 210, (230, 250), 270, 48)
    expected = {0: 1e-3, 169: 1e-3, 170: 1e-4, 199: 1e-4, 200: 1e-5, 209: 1e-5,
                210: 1e-3, 229: 1e-3, 230: 1e-4, 250: 1e-5, 269: 1e-5}
    for epoch, lr in expected.items():
        assert learning_rate(cfg, epoch) == pytest.approx(lr), epoch
    # the paper's schedule (lr 0.01, decay at 100 and 170, PGPG after 200) is an override
    paper = dataclasses.replace(cfg, lr=0.01, lr_steps=(100, 170), pgpg_epoch=None)
    assert [learning_rate(paper, e) for e in (99, 100, 170, 260)] == pytest.approx(
        [0.01, 1e-3, 1e-4, 1e-4])


def test_config_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown keys"):
        TrainConfig.from_dict({"model": "coco/resnet/256x192_res50_lr1e-3_1x", "train": [],
                               "learning_rate": 1})
    with pytest.raises(ValueError, match="format"):
        DatasetSpec("imagenet", "x.json")
    with pytest.raises(ValueError, match="'model'"):
        TrainConfig.from_dict({"model": "no/such/config", "train": [{"format": "coco",
                                                                     "ann": "x.json"}]})
    with pytest.raises(FileNotFoundError):
        TrainConfig.from_yaml(tmp_path / "missing.yaml")


# ------------------------------------------------------------------------------------------------
# Losses
# ------------------------------------------------------------------------------------------------


class _OfficialIntegral(torch.autograd.Function):
    """The official training code's integral with its ASG, written from its description:
    forward sum_i i * p_i; backward -2 * grad for bins left of the prediction, +2 from it on."""

    @staticmethod
    def forward(ctx, marginal):
        positions = torch.arange(marginal.shape[-1], dtype=marginal.dtype)
        coordinate = (marginal * positions).sum(-1)
        ctx.save_for_backward(positions, coordinate)
        return coordinate

    @staticmethod
    def backward(ctx, grad):
        positions, coordinate = ctx.saved_tensors
        factor = torch.where(positions < coordinate[..., None], -2.0, 2.0).to(grad.dtype)
        return grad[..., None] * factor


def _official_integral_loss(pred, keypoints, weights):
    b, k, h, w = pred.shape
    maps = pred.sigmoid().flatten(2)
    maps = (maps / maps.sum(-1, keepdim=True)).reshape(b, k, h, w)
    x, y = _OfficialIntegral.apply(maps.sum(2)), _OfficialIntegral.apply(maps.sum(3))
    # both in the normalised crop space (x / W - 0.5, y / H - 0.5), as the official targets
    scale = torch.tensor([w, h], dtype=pred.dtype)
    error = (torch.stack([x, y], -1) / scale - keypoints / scale).abs()
    return (error * weights[..., None]).sum() / b


@pytest.mark.parametrize("size", [(16, 12), (64, 48)])
def test_official_asg_amplitude_gives_the_official_gradient(size):
    from alphapose.losses import OFFICIAL_ASG_AMPLITUDE

    torch.manual_seed(1)
    h, w = size
    pred = torch.randn(2, 3, h, w, dtype=torch.float64)
    kp = torch.rand(2, 3, 2, dtype=torch.float64) * torch.tensor([w - 1.0, h - 1.0])
    weights = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    grads = {}
    for name, loss in (("official", _official_integral_loss),
                       ("ours_official", PoseLoss("integral", amplitude=OFFICIAL_ASG_AMPLITUDE)),
                       ("paper", PoseLoss("integral"))):
        p = pred.clone().requires_grad_(True)
        loss(p, kp, weights).backward()
        grads[name] = p.grad
    torch.testing.assert_close(grads["ours_official"], grads["official"])
    # the paper's (W/8, H/8) differs unless both sides are 16 (then it is (2, 2) too)
    assert not torch.allclose(grads["paper"], grads["official"])


def test_asg_amplitude_setting_reaches_the_loss():
    from alphapose.train import build_loss

    data = {"model": "coco/resnet/256x192_res50_lr1e-3_1x", "loss": "integral",
            "train": [{"format": "coco", "ann": "x.json"}]}
    pose = TrainConfig.from_dict(data).pose_config()
    assert build_loss(TrainConfig.from_dict(data), pose).amplitude is None
    official = TrainConfig.from_dict({**data, "asg_amplitude": [2, 2]})
    assert official.asg_amplitude == (2.0, 2.0)
    assert build_loss(official, pose).amplitude == (2.0, 2.0)
    with pytest.raises(ValueError, match="asg_amplitude"):
        TrainConfig.from_dict({**data, "asg_amplitude": [2, 0]})


def test_gaussian_targets_match_the_official_rule():
    kp = torch.tensor([[[5.4, 7.6], [-20.0, 3.0]]])
    targets, w = gaussian_targets(kp, torch.ones(1, 2), (16, 12), sigma=2.0)
    # centre rounded to (5, 8), unnormalised Gaussian, 13 x 13 window
    t = targets[0, 0].numpy()
    assert t[8, 5] == pytest.approx(1.0)
    assert t[8, 7] == pytest.approx(np.exp(-4 / 8))
    assert t[2, 5] == pytest.approx(np.exp(-36 / 8)) and t[1, 5] == 0
    assert w.tolist() == [[1.0, 0.0]] and targets[0, 1].abs().sum() == 0


def test_asg_changes_the_gradient_not_the_loss():
    torch.manual_seed(0)
    pred = torch.randn(2, 3, 16, 12)
    kp = torch.rand(2, 3, 2) * torch.tensor([11.0, 15.0])
    w = torch.ones(2, 3)
    grads = {}
    for asg in (False, True):
        p = pred.clone().requires_grad_(True)
        loss = integral_loss(p, kp, w, symmetric_gradient=asg)
        loss.backward()
        grads[asg] = (float(loss.detach()), p.grad.clone())
    assert grads[False][0] == pytest.approx(grads[True][0])
    assert not torch.allclose(grads[False][1], grads[True][1])


# ------------------------------------------------------------------------------------------------
# DDP: 2 gloo processes give the single-process gradient
# ------------------------------------------------------------------------------------------------

def _tiny_model() -> FastPose:
    torch.manual_seed(0)
    model = FastPose(5, depth=18, conv_dim=16, input_size=(32, 32)).double()
    # float64: float32 round-off differs between batch sizes of 2 and 4. BatchNorm on running statistics: per-process batch statistics would (correctly) differ
    # from the full batch's, which is not what this test is about
    model.eval()
    return model


def _fixed_batch():
    g = torch.Generator().manual_seed(1)
    images = torch.randn(4, 3, 32, 32, generator=g, dtype=torch.float64)
    keypoints = torch.rand(4, 5, 2, generator=g, dtype=torch.float64) * 30
    weights = (torch.rand(4, 5, generator=g) > 0.3).double()
    return images, keypoints, weights


def _ddp_worker(rank: int, world: int, init_file: str, out_file: str) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world)
    try:
        model = _tiny_model()
        ddp = DistributedDataParallel(model)
        images, keypoints, weights = _fixed_batch()
        part = slice(rank * 2, rank * 2 + 2)
        train_step(ddp, PoseLoss("integral"), images[part], keypoints[part], weights[part])
        if rank == 0:
            torch.save({n: p.grad.clone() for n, p in model.named_parameters()}, out_file)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_two_gloo_processes_match_one_process(tmp_path):
    import torch.multiprocessing as mp

    out = tmp_path / "grads.pt"
    # fork: the children reuse the imported modules (spawn would re-import torch twice)
    mp.start_processes(_ddp_worker, args=(2, str(tmp_path / "store"), str(out)), nprocs=2,
                       join=True, start_method="fork")
    ddp_grads = torch.load(out)
    model = _tiny_model()
    images, keypoints, weights = _fixed_batch()
    train_step(model, PoseLoss("integral"), images, keypoints, weights)
    assert len(ddp_grads) == len(list(model.parameters()))
    nonzero = 0
    for name, p in model.named_parameters():
        assert torch.allclose(ddp_grads[name], p.grad, rtol=1e-7, atol=1e-12), name
        nonzero += int(p.grad.abs().sum() > 0)
    assert nonzero > len(ddp_grads) // 2
    # and half a batch alone gives something else (the all-reduce did the work)
    half = _tiny_model()
    train_step(half, PoseLoss("integral"), images[:2], keypoints[:2], weights[:2])
    assert not torch.allclose(half.conv_out.weight.grad, model.conv_out.weight.grad, rtol=1e-3)


# ------------------------------------------------------------------------------------------------
# The loop: checkpoints, resume, loss decrease
# ------------------------------------------------------------------------------------------------

def _config(shared_data, tmp_path, **changes) -> TrainConfig:
    base = TrainConfig(
        model="halpe_136/resnet/256x192_res50_lr1e-3_2x-regression",
        train=(DatasetSpec("freihand", str(shared_data / "mmpose/freihand/test_freihand.json")),),
        val=None, output_dir=str(tmp_path / "run"), num_layers=18, input_size=(64, 64),
        conv_dim=16, batch_size=8, steps_per_epoch=2, epochs=2, lr=3e-3, lr_steps=(),
        pgpg_epoch=None, augment=AugmentConfig.no_augmentation(), device="cpu")
    return dataclasses.replace(base, **changes)


def test_checkpoint_and_resume(shared_data, tmp_path):
    cfg = _config(shared_data, tmp_path, epochs=3, pgpg_epoch=2, pgpg_lr_steps=(),
                  steps_per_epoch=1, batch_size=4)
    first = train(cfg, progress=False, max_epochs=2)
    assert [h["epoch"] for h in first.history] == [0, 1]
    assert first.checkpoint.is_file() and first.plot.is_file()
    state = torch.load(first.checkpoint, weights_only=True)  # plain values only
    assert state["epoch"] == 1 and state["config"]["batch_size"] == 4
    saved = {k: v.clone() for k, v in state["model"].items()}
    assert (tmp_path / "run" / "model_1.pth").is_file()
    second = train(cfg, resume=True, progress=False)
    assert [h["epoch"] for h in second.history] == [0, 1, 2]
    assert second.history[0]["loss"] == first.history[0]["loss"]   # history carried over
    assert second.history[2]["pgpg"] and not second.history[1]["pgpg"]
    # the resumed run started from the saved weights: epoch 2's model differs from them, but a
    # fresh run without resume would have started over at epoch 0
    final = torch.load(tmp_path / "run" / "model_2.pth")
    assert any(not torch.equal(final[k], saved[k]) for k in saved if saved[k].is_floating_point())
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [0, 1, 2]


def test_loop_loss_decreases_on_a_tiny_overfit_case(shared_data, tmp_path):
    # 8 FreiHAND hands, batch 8 without augmentation: every step sees the same 8 crops
    cfg = _config(shared_data, tmp_path, epochs=5, steps_per_epoch=2)
    result = train(cfg, progress=False)
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.7 * losses[0], losses


def test_validation_ap_each_epoch(shared_data, tmp_path):
    coco = str(shared_data / "mmpose/coco/test_coco.json")
    cfg = _config(shared_data, tmp_path, model="coco/resnet/256x192_res50_lr1e-3_1x",
                  train=(DatasetSpec("coco", coco),), val=DatasetSpec("coco", coco),
                  epochs=1, steps_per_epoch=1, batch_size=4)
    result = train(cfg, progress=False)
    assert 0.0 <= result.history[0]["AP"] <= 1.0 and "AP50" in result.history[0]


def test_plot_history_draws_both_panels(tmp_path):
    import cv2

    history = [{"epoch": e, "loss": 1.0 / (e + 1), "AP": 0.1 * e} for e in range(5)]
    path = plot_history(history, tmp_path / "p.png", size=(600, 240))
    image = cv2.imread(str(path))
    assert image.shape == (240, 600, 3)
    left, right = image[:, :300], image[:, 300:]
    # loss line (BGR 200, 60, 20) on the left, AP line (30, 140, 30) on the right
    assert (np.abs(left.astype(int) - [200, 60, 20]).sum(-1) < 30).sum() > 50
    assert (np.abs(right.astype(int) - [30, 140, 30]).sum(-1) < 30).sum() > 50
