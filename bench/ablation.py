"""The paper's Table 5 in miniature, on held-out people: heatmap vs soft-argmax integral vs SIKR
without ASG vs SIKR.

Data (:mod:`alphapose.data.people`). The 26 people with body keypoints in ../shared/data (12 COCO
val2017 people on 4 images, 14 PoseTrack18 people on 3 frames; COCO-WholeBody and Halpe label the
same COCO people, the CrowdPose file comes without images, no MPII file is there) are split by
source image (stratified by dataset, about 30 % of the people to test: 19 train people on 4
images, 7 test people on 3 images with the default seed), so no test person, nor anyone in the
same picture, is seen in training. 19 people are too few to generalise from (trained on them
alone, every method ends up worse than predicting the mean training pose), so the training set
adds the people the embedded default (the teacher) finds on the 43 unlabelled shared photos and
video frames (about 320 people; points it scores >= 0.5 are labels): the paper's multi-domain
knowledge distillation in miniature. No test image is among them; the test set is ground truth
only. Each person is rendered many times into ``--size`` crops with a detector-like box (the
PGPG body offsets), scale, rotation, flip, occluders (ellipses, and patches cut from the
unlabelled shared photos), colour, blur and noise: ``--train-per-person`` crops per ground-truth
training person and ``--pseudo-per-person`` per teacher-labelled one (a fixed pool, drawn once),
``--test-per-person`` per test person (another seed). Each test crop is one image of a COCO
annotation dict in crop pixels; AP is the project's evaluator
(:func:`alphapose.evaluate.keypoint_ap`, COCO-17 sigmas; OKS area 0.41 x the box area, see
:mod:`alphapose.data.people`). A sheet of training and test crops goes beside the plot.

Network. A small FastPose: the FastPose layout (SE-ResNet basic-block trunk, PixelShuffle, a DUC
block, 3x3 output conv) at widths 16-32-64-128 with one block per stage and a stride-16 trunk, so
that 24 trainings fit in the time on 2 CPU cores. Two output resolutions from the same trunk:
``1/4`` of the input (the paper's; 16 x 12 maps for 64 x 48 crops: the DUC block upsamples x2)
and ``1/8`` (coarse, 8 x 6 maps: the DUC block keeps the size), where one map cell is 8 input
pixels and quantisation dominates.

Methods (paper Sec. 3.1 and Table 5), all from the same initialisation (per resolution and seed),
the same crops in the same order, Adam (lr ``--lr``, cosine decay), ``--steps`` steps of
``--batch`` crops:

  heatmap           Gaussian targets (sigma 1 map cell, i.e. the official sigma 2 at 64 x 48
                    maps scaled to these 4x smaller maps and rounded up), weighted MSE; argmax +
                    quarter-cell decode; score = map maximum.
  softmax_integral  one-step softmax normalisation, plain integral gradient; score 1 (official).
  sikr_no_asg       two-step normalisation (sigmoid, then divide by the sum), plain gradient.
  sikr              two-step normalisation with the amplitude-symmetric gradient.

Decoding uses each method's codec (:mod:`alphapose.codecs`). Reported per resolution: held-out
AP and mean keypoint error (input-crop pixels over the labelled points inside the crop), mean and
standard deviation over ``--seeds`` seeds; training curves (held-out AP, pixel error and training
loss against the step) go to ``--plot``. The work runs in ``--workers`` processes of one thread
each (the (resolution, seed) tasks are independent).

Usage:
    .venv/bin/python bench/ablation.py [--steps 600] [--seeds 3] [--workers 2]

The last two lines are ``ap_heatmap=... ap_heatmap_sd=... ap_softmax_integral=... ...`` for the
coarse (1/8) maps (keys ending ``_coarse``) and then for the paper's 1/4 maps.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
METHODS = ("heatmap", "softmax_integral", "sikr_no_asg", "sikr")
STRIDES = (4, 8)
#: Unlabelled photos the occluder patches are cut from (never a labelled person's image).
OCCLUDER_GLOBS = ("openpose/*.jpg", "openpifpaf/coco/*.jpg", "alphapose/*.jpg")
#: Unlabelled photos and video frames the teacher labels (none shows a labelled person).
PSEUDO_GLOBS = ("openpose/*.jpg", "openpifpaf/coco/*.jpg", "openpifpaf/wholebody/*.jpeg",
                "alphapose/*.jpg", "dlib/faces/*.jpg", "boxmot/MOT17-mini/train/*/img1/000001.jpg",
                "mmpose/posetrack18/videos/*/000000.jpg", "mmpose/posetrack18/videos/*/000004.jpg")
PSEUDO_VIDEOS = (("openpose/video.avi", (0, 50, 100, 150, 200)), ("mmpose/demo/demo.mp4", (0, 4)))


# ------------------------------------------------------------------------------------------------
# Data (parent process)
# ------------------------------------------------------------------------------------------------

def pseudo_label(folder: Path) -> list:
    """People the embedded default (the teacher) finds on the unlabelled shared photos and video
    frames, as COCO-17 samples (points it scores >= 0.5 are labels)."""
    from tqdm import tqdm

    from alphapose.data.people import samples_from_poses
    from alphapose.pipeline import Pipeline, RunOptions

    paths = [p for pattern in PSEUDO_GLOBS for p in sorted(DATA.glob(pattern))]
    for name, frames in PSEUDO_VIDEOS:
        capture = cv2.VideoCapture(str(DATA / name))
        for index in frames:
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = capture.read()
            if ok:
                path = folder / f"{Path(name).stem}_{index:04d}.png"
                cv2.imwrite(str(path), frame)
                paths.append(path)
        capture.release()
    pipeline = Pipeline(run=RunOptions(sp=True))
    samples = []
    for path in tqdm(paths, desc="teacher labels", unit="image", leave=False):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is not None:
            samples += samples_from_poses(path, pipeline.predict(image))
    return samples


def build_data(args: argparse.Namespace, folder: Path) -> dict:
    """Render the train pool and the test set into ``folder`` (npz + COCO JSON)."""
    from tqdm import tqdm

    from alphapose.data.people import (
        RenderConfig,
        coco_ground_truth,
        load_labelled_people,
        render_people,
        split_by_source,
    )

    people = load_labelled_people(DATA)
    train, test = split_by_source(people, args.test_fraction, seed=args.split_seed)
    pseudo = pseudo_label(folder) if args.pseudo_per_person > 0 else []
    occluders = []
    for pattern in OCCLUDER_GLOBS:
        for path in sorted(DATA.glob(pattern)):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                occluders.append(image)
    cfg = RenderConfig(input_size=args.input_size)
    total = (len(train) * args.train_per_person + len(pseudo) * args.pseudo_per_person
             + len(test) * args.test_per_person)
    with tqdm(total=total, desc="rendering people", unit="crop", leave=False) as bar:
        done = [0]

        def tick(count: int) -> None:
            bar.update(count - done[0])
            done[0] = count

        train_crops = render_people(train, cfg, args.train_per_person, seed=1000 + args.split_seed,
                                    occluders=occluders, progress=tick)
        done[0] = 0
        if pseudo:
            train_crops += render_people(pseudo, cfg, args.pseudo_per_person,
                                         seed=3000 + args.split_seed, occluders=occluders,
                                         progress=tick)
            done[0] = 0
        test_crops = render_people(test, cfg, args.test_per_person, seed=2000 + args.split_seed,
                                   occluders=occluders, progress=tick)

    def arrays(crops):
        images = np.stack([cv2.cvtColor(c.image, cv2.COLOR_BGR2RGB) for c in crops])
        return images, np.stack([c.keypoints for c in crops]), np.stack([c.weights for c in crops])

    for name, crops in (("train", train_crops), ("test", test_crops)):
        images, keypoints, weights = arrays(crops)
        np.savez(folder / f"{name}.npz", images=images, keypoints=keypoints, weights=weights)
    gt = coco_ground_truth(test_crops)
    (folder / "test_gt.json").write_text(json.dumps(gt))
    baseline = mean_pose_baseline(train_crops, test_crops, gt)
    floors = {stride: heatmap_floor(test_crops, gt, stride) for stride in STRIDES}
    cv2.imwrite(str(folder / "samples.png"), _sample_sheet(train_crops, test_crops))
    return {"train_people": len(train), "test_people": len(test), "pseudo_people": len(pseudo),
            "baseline": baseline, "floors": floors,
            "pseudo_images": len({s.image_path for s in pseudo}),
            "train_images": len({s.image_path for s in train}),
            "test_images": len({s.image_path for s in test}),
            "train_crops": len(train_crops), "test_crops": len(test_crops),
            "test_names": sorted(f"{s.image_path.parent.name}/{s.image_path.name}"
                                 for s in {s.image_path: s for s in test}.values())}


def mean_pose_baseline(train_crops, test_crops, gt: dict) -> dict[str, float]:
    """The held-out AP and error of predicting every test crop's keypoints at the mean training
    position of each keypoint (what a network that learnt only the prior would score)."""
    from alphapose.evaluate import keypoint_ap
    from alphapose.skeletons import get_layout

    weights = np.stack([c.weights for c in train_crops])[..., None]
    mean = (np.stack([c.keypoints for c in train_crops]) * weights).sum(0) / np.maximum(
        weights.sum(0), 1)
    kp = np.concatenate([mean, np.ones((len(mean), 1))], axis=1).ravel().tolist()
    results = [{"image_id": i, "category_id": 1, "keypoints": kp, "score": 1.0}
               for i in range(len(test_crops))]
    test_w = np.stack([c.weights for c in test_crops])
    error = np.linalg.norm(np.stack([c.keypoints for c in test_crops]) - mean, axis=-1)
    return {"ap": keypoint_ap(gt, results, get_layout("coco17").sigmas)["AP"],
            "err": float((error * test_w).sum() / test_w.sum())}


def heatmap_floor(test_crops, gt: dict, stride: int, sigma: float = 1.0) -> dict[str, float]:
    """Held-out AP and error of a perfect heatmap network: the ground truth encoded as its
    training target and decoded (argmax + quarter cell). The integral codecs' floor is exact."""
    from alphapose.codecs import HeatmapCodec
    from alphapose.evaluate import keypoint_ap
    from alphapose.skeletons import get_layout

    codec = HeatmapCodec(sigma=sigma)
    h, w = test_crops[0].image.shape[:2]
    maps = np.stack([codec.encode(c.keypoints, c.weights, (h // stride, w // stride),
                                  (float(stride), float(stride)))[0] for c in test_crops])
    coords, _ = codec.decode(maps)
    points = coords * stride
    results = [{"image_id": i, "category_id": 1, "score": 1.0,
                "keypoints": np.concatenate([xy, np.ones((len(xy), 1))], 1).ravel().tolist()}
               for i, xy in enumerate(points)]
    weights = np.stack([c.weights for c in test_crops])
    error = np.linalg.norm(points - np.stack([c.keypoints for c in test_crops]), axis=-1)
    return {"ap": keypoint_ap(gt, results, get_layout("coco17").sigmas)["AP"],
            "err": float((error * weights).sum() / weights.sum())}


def _sample_sheet(train_crops, test_crops, per_row: int = 16) -> np.ndarray:
    """Two rows of training crops over two rows of test crops, labelled points in green."""
    rows = []
    for crops in (train_crops, test_crops):
        picks = np.linspace(0, len(crops) - 1, 2 * per_row).round().astype(int)
        tiles = []
        for i in picks:
            tile = crops[i].image.copy()
            for (x, y), w in zip(crops[i].keypoints, crops[i].weights):
                if w > 0:
                    cv2.circle(tile, (round(x), round(y)), 1, (0, 255, 0), -1)
            tiles.append(tile)
        rows += [np.concatenate(tiles[:per_row], 1), np.concatenate(tiles[per_row:], 1)]
    sheet = np.concatenate(rows, 0)
    return cv2.resize(sheet, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)


# ------------------------------------------------------------------------------------------------
# Network and training (worker processes)
# ------------------------------------------------------------------------------------------------

def small_fastpose(num_keypoints: int, stride: int):
    """FastPose layout at widths 16-32-64-128: SE-ResNet basic blocks (trunk stride 16),
    PixelShuffle(2), one DUC block (x2 for stride 4, x1 for stride 8), 3x3 output conv."""
    import torch
    from torch import nn

    from alphapose.models.layers import DUC
    from alphapose.models.resnet import BasicBlock

    class SmallFastPose(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            widths = (16, 32, 64, 128)
            self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 2, 1, bias=False),
                                      nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(3, 2, 1))
            blocks, inplanes = [], widths[0]
            for index, planes in enumerate(widths):
                block_stride = 2 if index in (1, 2) else 1
                downsample = None
                if block_stride != 1 or inplanes != planes:
                    downsample = nn.Sequential(
                        nn.Conv2d(inplanes, planes, 1, block_stride, bias=False),
                        nn.BatchNorm2d(planes))
                blocks.append(BasicBlock(inplanes, planes, block_stride, downsample,
                                         se=downsample is not None))
                inplanes = planes
            self.trunk = nn.Sequential(*blocks)
            self.shuffle = nn.PixelShuffle(2)
            factor = 2 if stride == 4 else 1
            self.duc = DUC(inplanes // 4, 32 * factor * factor, factor)
            self.conv_out = nn.Conv2d(32, num_keypoints, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv_out(self.duc(self.shuffle(self.trunk(self.stem(x)))))

    if stride not in STRIDES:
        raise ValueError(f"stride: expected one of {STRIDES}, got {stride}")
    return SmallFastPose()


def _method(name: str):
    from alphapose.codecs import HeatmapCodec, IntegralRegressionCodec
    from alphapose.losses import PoseLoss

    return {
        "heatmap": (PoseLoss("heatmap", sigma=1.0), HeatmapCodec(sigma=1.0)),
        "softmax_integral": (PoseLoss("integral", norm_type="softmax", symmetric_gradient=False),
                             IntegralRegressionCodec("softmax")),
        "sikr_no_asg": (PoseLoss("integral", norm_type="sigmoid", symmetric_gradient=False),
                        IntegralRegressionCodec("sigmoid")),
        "sikr": (PoseLoss("integral", norm_type="sigmoid", symmetric_gradient=True),
                 IntegralRegressionCodec("sigmoid")),
    }[name]


def _normalise(images_rgb: np.ndarray):
    import torch

    from alphapose.data.augment import OFFICIAL_MEAN

    x = images_rgb.astype(np.float32) / 255.0 - np.asarray(OFFICIAL_MEAN, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def _evaluate(model, codec, test: dict, gt: dict, stride: int) -> dict[str, float]:
    """Held-out AP (each method's own person score), AP with one score for every person
    (localisation only) and mean keypoint error (input pixels)."""
    import torch

    from alphapose.evaluate import keypoint_ap
    from alphapose.skeletons import get_layout

    model.eval()
    raws = []
    with torch.no_grad():
        for start in range(0, len(test["images"]), 128):
            raws.append(model(_normalise(test["images"][start:start + 128])).numpy())
    model.train()
    coords, scores = codec.decode(np.concatenate(raws).astype(np.float32))
    points = coords * stride
    sigmas = get_layout("coco17").sigmas
    aps = []
    for same_score in (False, True):
        results = []
        for index, (xy, sc) in enumerate(zip(points, scores)):
            kp = np.concatenate([xy, sc[:, None]], axis=1)
            results.append({"image_id": index, "category_id": 1, "keypoints": kp.ravel().tolist(),
                            "score": 1.0 if same_score else float(np.mean(sc))})
        aps.append(keypoint_ap(gt, results, sigmas)["AP"])
    weights = test["weights"]
    error = np.linalg.norm(points - test["keypoints"], axis=-1)
    return {"ap": float(aps[0]), "ap_same_score": float(aps[1]),
            "err": float((error * weights).sum() / weights.sum())}


def run_task(task: tuple[int, int, dict, str]) -> list[dict]:
    """Train the four methods for one (stride, seed); returns one record per method."""
    import torch

    stride, seed, options, folder = task
    torch.set_num_threads(1)
    folder_path = Path(folder)
    with np.load(folder_path / "train.npz", allow_pickle=False) as f:
        train = {k: f[k] for k in f.files}
    with np.load(folder_path / "test.npz", allow_pickle=False) as f:
        test = {k: f[k] for k in f.files}
    gt = json.loads((folder_path / "test_gt.json").read_text())
    steps, batch, lr = options["steps"], options["batch"], options["lr"]
    eval_at = sorted({round(steps * q) for q in np.linspace(0, 1, options["evals"] + 1)})
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(train["images"]))
                            for _ in range(steps * batch // len(train["images"]) + 1)])
    torch.manual_seed(seed)
    initial = {k: v.clone() for k, v in small_fastpose(17, stride).state_dict().items()}
    records = []
    for name in METHODS:
        loss_fn, codec = _method(name)
        model = small_fastpose(17, stride)
        model.load_state_dict(initial)
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
        curve, losses, running = [], [], []
        start = time.perf_counter()
        for step in range(steps + 1):
            if step in eval_at:
                curve.append({"step": step, **_evaluate(model, codec, test, gt, stride)})
            if step == steps:
                break
            idx = order[step * batch:(step + 1) * batch]
            images = _normalise(train["images"][idx])
            keypoints = torch.from_numpy(train["keypoints"][idx]) / stride
            weights = torch.from_numpy(train["weights"][idx])
            loss = loss_fn(model(images), keypoints, weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            running.append(loss.item())
            if len(running) == 10:
                losses.append({"step": step + 1, "loss": float(np.mean(running))})
                running = []
        records.append({"stride": stride, "seed": seed, "method": name, **curve[-1],
                        "curve": curve, "losses": losses,
                        "seconds": time.perf_counter() - start})
    return records


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------

def plot_curves(records: list[dict], path: Path) -> Path:
    """Held-out AP, pixel error and relative training loss against the step, per resolution:
    the mean over seeds as a line, the range over seeds shaded."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # keep the numbers; the plot is optional
        print("matplotlib not installed: no plot (pip install matplotlib)", file=sys.stderr)
        return path
    colours = dict(zip(METHODS, ("tab:blue", "tab:orange", "tab:green", "tab:red")))
    fig, axes = plt.subplots(len(STRIDES), 3, figsize=(14, 4.2 * len(STRIDES)), squeeze=False)
    for row, stride in enumerate(STRIDES):
        for name in METHODS:
            runs = [r for r in records if r["stride"] == stride and r["method"] == name]
            if not runs:
                continue
            steps = [p["step"] for p in runs[0]["curve"]]
            for col, key in ((0, "ap"), (1, "err")):
                values = np.array([[p[key] for p in r["curve"]] for r in runs])
                ax = axes[row][col]
                ax.plot(steps, values.mean(0), color=colours[name], label=name, marker="o",
                        markersize=3)
                ax.fill_between(steps, values.min(0), values.max(0), color=colours[name],
                                alpha=0.15)
            loss_steps = [p["step"] for p in runs[0]["losses"]]
            loss = np.array([[p["loss"] / r["losses"][0]["loss"] for p in r["losses"]]
                             for r in runs])
            axes[row][2].plot(loss_steps, loss.mean(0), color=colours[name], label=name)
        label = f"1/{stride} maps"
        axes[row][0].set(title=f"held-out AP ({label})", xlabel="step", ylabel="AP")
        axes[row][1].set(title=f"held-out mean keypoint error ({label})", xlabel="step",
                         ylabel="input pixels")
        axes[row][2].set(title=f"training loss / first logged value ({label})", xlabel="step",
                         yscale="log")
        for ax in axes[row]:
            ax.grid(alpha=0.3)
        axes[row][0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _summary(records: list[dict], stride: int) -> dict[str, dict[str, tuple[float, float]]]:
    """method -> metric -> (mean, sample standard deviation) over seeds."""
    out = {}
    for name in METHODS:
        runs = [r for r in records if r["stride"] == stride and r["method"] == name]
        out[name] = {}
        for key in ("ap", "ap_same_score", "err"):
            values = np.array([r[key] for r in runs])
            out[name][key] = (float(values.mean()),
                              float(values.std(ddof=1)) if len(values) > 1 else 0.0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="training steps per run")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (cosine)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per resolution")
    parser.add_argument("--size", default="64x48", help="input HxW")
    parser.add_argument("--train-per-person", type=int, default=120,
                        help="crops per ground-truth training person")
    parser.add_argument("--pseudo-per-person", type=int, default=30,
                        help="crops per teacher-labelled person (0: no teacher labels)")
    parser.add_argument("--test-per-person", type=int, default=40)
    parser.add_argument("--test-fraction", type=float, default=0.3)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--evals", type=int, default=4, help="held-out evaluations per run")
    parser.add_argument("--workers", type=int, default=2, help="processes (1 thread each)")
    parser.add_argument("--plot", type=Path, default=ROOT / "out" / "ablation" / "curves.png")
    args = parser.parse_args(argv)
    if not (DATA / "mmpose" / "coco" / "test_coco.json").is_file():
        print(f"ablation: test data not found at {DATA}", file=sys.stderr)
        return 1
    try:
        h, w = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"--size: expected HxW like 64x48, got {args.size!r}", file=sys.stderr)
        return 2
    if h % 16 or w % 16:
        print(f"--size: expected multiples of 16, got {args.size}", file=sys.stderr)
        return 2
    args.input_size = (h, w)
    from tqdm import tqdm

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ablation-") as tmp:
        info = build_data(args, Path(tmp))
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        (args.plot.parent / "samples.png").write_bytes((Path(tmp) / "samples.png").read_bytes())
        print(f"people: {info['train_people']} train on {info['train_images']} images, "
              f"{info['test_people']} held out on {info['test_images']} images "
              f"({', '.join(info['test_names'])}); {info['pseudo_people']} teacher-labelled "
              f"people on {info['pseudo_images']} unlabelled images and frames (training only); "
              f"crops {args.size}: {info['train_crops']} "
              f"train, {info['test_crops']} test ({time.perf_counter() - start:.0f} s)")
        print(f"mean-pose baseline (every keypoint at its mean training position): held-out AP "
              f"{info['baseline']['ap']:.3f}, error {info['baseline']['err']:.2f} px")
        print("perfect heatmap network (ground truth encoded, then decoded): " + ", ".join(
            f"1/{k} maps AP {v['ap']:.3f} error {v['err']:.2f} px"
            for k, v in info["floors"].items()) + " (integral decoding has no such floor)")
        print(f"{len(STRIDES)} resolutions x {args.seeds} seeds x {len(METHODS)} methods, "
              f"{args.steps} Adam steps of {args.batch} crops (lr {args.lr}, cosine), "
              f"{args.workers} processes", flush=True)
        options = {"steps": args.steps, "batch": args.batch, "lr": args.lr, "evals": args.evals}
        tasks = [(stride, seed, options, tmp) for stride in STRIDES for seed in range(args.seeds)]
        records: list[dict] = []
        context = multiprocessing.get_context("spawn")
        with context.Pool(max(1, args.workers)) as pool, \
                tqdm(total=len(tasks) * len(METHODS), desc="training", unit="run") as bar:
            for result in pool.imap_unordered(run_task, tasks):
                records += result
                bar.update(len(result))
                for r in result:
                    bar.write(f"  1/{r['stride']} seed {r['seed']} {r['method']:17s} "
                              f"AP {r['ap']:.3f}  error {r['err']:.2f} px  "
                              f"({r['seconds']:.0f} s)")
    plot_curves(records, args.plot)
    (args.plot.parent / "records.json").write_text(json.dumps(records))
    print(f"curves: {args.plot}; crops: {args.plot.parent / 'samples.png'}")
    lines = []
    for stride in STRIDES:
        oh, ow = h // stride, w // stride
        print(f"\n1/{stride} maps ({oh}x{ow}), held out, {args.seeds} seeds: mean +- sd "
              f"(AP same score: every person scored 1, localisation only)")
        print(f"  {'method':17s} {'AP':>15s} {'AP same score':>15s} {'error (px)':>15s}")
        summary = _summary(records, stride)
        for name, m in summary.items():
            print(f"  {name:17s} {m['ap'][0]:7.3f} +- {m['ap'][1]:.3f} "
                  f"{m['ap_same_score'][0]:7.3f} +- {m['ap_same_score'][1]:.3f} "
                  f"{m['err'][0]:7.2f} +- {m['err'][1]:.2f}")
        suffix = "" if stride == 4 else "_coarse"
        lines.append(" ".join(f"err_{n}{suffix}={m['err'][0]:.2f} err_{n}{suffix}_sd="
                              f"{m['err'][1]:.2f}" for n, m in summary.items()))
        lines.append(" ".join(f"ap_{n}{suffix}={m['ap'][0]:.3f} ap_{n}{suffix}_sd={m['ap'][1]:.3f}"
                              for n, m in summary.items()))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    # coarse lines first, the paper's 1/4 AP line last
    print(lines[2])
    print(lines[0])
    print(lines[3])
    print(lines[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
