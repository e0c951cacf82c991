"""The paper's Table 5 in miniature, on held-out people: heatmap vs soft-argmax integral vs SIKR
without ASG vs SIKR, each a FastPose head on one frozen pretrained trunk.

Why a frozen trunk. The paper's FastPose starts from an ImageNet-pretrained ResNet. Trained from
scratch on 2 CPU cores for about a minute each, no network here learnt to find held-out keypoints
(every method ended at the mean-pose error, AP 0; an earlier version of this bench). No ImageNet
weights are here, but the embedded default ships a pretrained conv net: the trunk is the encoder
of the BlazePose body landmark model (``full``), read at its stride-32 output (tensor
``add_8``, 8 x 8 x 144 on a 256 x 256 crop; :class:`alphapose.data.trunk_features.BlazeTrunk`),
the analogue of the ResNet output FastPose's head reads, and above the model's own decoder and
keypoint heads (not used). Features are computed once per crop and kept in memory (float16,
standardised per channel with the training set's mean and deviation). Only the head trains: the
FastPose head (PixelShuffle(2) to stride 16, then two DUC blocks: x2 each for ``1/4`` maps, the
paper's, 64 x 64; x1 each for ``1/16`` maps, 16 x 16, where one cell is 16 crop pixels and
quantisation bites; 3 x 3 output conv; widths 32 and 16), four ways from the same initialisation on the same crops in the same
order. What differs is exactly what Table 5 compares: the keypoint representation, its
normalisation and its gradient.

Data (:mod:`alphapose.data.people`). The 26 people with body keypoints in ../shared/data (12 COCO
val2017 people on 4 images, 14 PoseTrack18 people on 3 frames) are split by source image (19
train people on 4 images, 7 test people on 3 images with the default seed), so no test person,
nor anyone in the same picture, is seen in training. Training adds the people the embedded
default (the teacher) finds on the 43 unlabelled shared photos and video frames (about 320;
points it scores >= 0.5 are labels): the paper's multi-domain distillation in miniature; the
test set is ground truth only. Training crops (256 x 256) are rendered with a detector-like box
(the PGPG body offsets), scale, rotation, flip, occluders, colour, blur and noise
(``--train-per-person`` per ground-truth person, ``--pseudo-per-person`` per teacher-labelled
one); test crops with the detector-like box and flip only (``--test-per-person``; a person is
rendered from its own seed, so the crops do not depend on ``--workers``). Each test crop is one
image of a COCO annotation dict; AP is the project's evaluator (COCO-17 sigmas).

Methods (paper Sec. 3.1 and Table 5), Adam (lr ``--lr``, cosine), ``--steps`` steps of
``--batch`` crops:

  heatmap           Gaussian targets (sigma 2 map cells at 1/4, the official sigma for 1/4 maps;
                    1 at 1/16), weighted MSE; argmax + quarter-cell decode; score = map maximum.
  softmax_integral  one-step softmax normalisation, plain integral gradient; score 1 (official).
  sikr_no_asg       two-step normalisation (sigmoid, then divide by the sum), plain gradient.
  sikr              two-step normalisation with the amplitude-symmetric gradient (A = W / 8).

Reported per resolution: held-out AP and mean keypoint error (crop pixels), mean and standard
deviation over ``--seeds`` seeds; and reference points on the same test crops: the mean
training pose, a perfect heatmap network at each resolution (ground truth encoded, decoded), and
the teacher (the whole BlazePose model's own regression on the crop). Training curves (held-out
AP, error and training loss against the step) go to ``--plot``, a sheet of crops beside it.
Work runs in ``--workers`` processes of one thread each.

Usage:
    .venv/bin/python bench/ablation.py [--steps 300] [--seeds 3] [--workers 2]

The last two lines are ``ap_heatmap=... ap_heatmap_sd=... ap_softmax_integral=... ...`` for the
coarse (1/16) maps (keys ending ``_coarse``) and then for the paper's 1/4 maps.
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
STRIDES = (4, 16)
TRUNK_STRIDE = 32
HEAD_WIDTHS = (32, 16)
#: Unlabelled photos the occluder patches are cut from (never a labelled person's image).
OCCLUDER_GLOBS = ("openpose/*.jpg", "openpifpaf/coco/*.jpg", "alphapose/*.jpg")
#: Unlabelled photos and video frames the teacher labels (none shows a labelled person).
PSEUDO_GLOBS = ("openpose/*.jpg", "openpifpaf/coco/*.jpg", "openpifpaf/wholebody/*.jpeg",
                "alphapose/*.jpg", "dlib/faces/*.jpg", "boxmot/MOT17-mini/train/*/img1/000001.jpg",
                "mmpose/posetrack18/videos/*/000000.jpg", "mmpose/posetrack18/videos/*/000004.jpg")
PSEUDO_VIDEOS = (("openpose/video.avi", (0, 50, 100, 150, 200)), ("mmpose/demo/demo.mp4", (0, 4)))


# ------------------------------------------------------------------------------------------------
# Data: teacher labels (parent), rendering and trunk features (workers)
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


_TRUNK = None  # one interpreter per worker process
_OCCLUDERS: list = []


def render_task(task: tuple) -> dict:
    """Render ``per_person`` crops of one person (from its own seed) and run the trunk on each:
    features, keypoints, weights, OKS areas, the teacher's points and two crops for the sheet."""
    global _TRUNK
    from alphapose.data.datasets import Sample
    from alphapose.data.people import render_people
    from alphapose.data.trunk_features import BlazeTrunk

    fields, cfg, per_person, seed = task
    sample = Sample(*fields)
    if _TRUNK is None:
        _TRUNK = BlazeTrunk("full", num_threads=1)
        for pattern in OCCLUDER_GLOBS:
            for path in sorted(DATA.glob(pattern)):
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if image is not None:
                    _OCCLUDERS.append(image)
    crops = render_people([sample], cfg, per_person, seed=seed, occluders=_OCCLUDERS)
    features, teacher = zip(*(_TRUNK(c.image) for c in crops))
    return {"features": np.stack(features), "teacher": np.stack(teacher),
            "keypoints": np.stack([c.keypoints for c in crops]),
            "weights": np.stack([c.weights for c in crops]),
            "areas": np.array([c.area for c in crops]),
            "sheet": [(c.image, c.keypoints, c.weights) for c in crops[:2]]}


def build_data(args: argparse.Namespace, folder: Path, pool) -> dict:
    """Teacher labels, then render and featurise the train pool and the test set into
    ``folder`` (``train.npz``, ``test.npz``, ``test_gt.json``)."""
    from tqdm import tqdm

    from alphapose.data.people import (
        RenderConfig,
        coco_ground_truth_arrays,
        load_labelled_people,
        split_by_source,
    )

    people = load_labelled_people(DATA)
    train, test = split_by_source(people, args.test_fraction, seed=args.split_seed)
    pseudo = pseudo_label(folder) if args.pseudo_per_person > 0 else []
    cfg = RenderConfig(input_size=(256, 256))
    test_cfg = cfg.detector_like()
    base = 10_000 * (args.split_seed + 1)

    def fields(s) -> tuple:  # what a worker needs to rebuild the sample (plain, picklable)
        return (s.image_path, s.box, s.keypoints, s.annotated, s.layout, s.domain)

    tasks = ([(fields(s), cfg, args.train_per_person, base + i) for i, s in enumerate(train)]
             + [(fields(s), cfg, args.pseudo_per_person, base + 1000 + i)
                for i, s in enumerate(pseudo)]
             + [(fields(s), test_cfg, args.test_per_person, base + 5000 + i)
                for i, s in enumerate(test)])
    parts = []
    with tqdm(total=sum(t[2] for t in tasks), desc="crops + trunk features", unit="crop",
              leave=False) as bar:
        for part in pool.imap(render_task, tasks):
            parts.append(part)
            bar.update(len(part["areas"]))
    n_train = len(train) + len(pseudo)

    def join(chunk: list[dict]) -> dict:
        return {k: np.concatenate([p[k] for p in chunk]) for k in chunk[0] if k != "sheet"}

    train_set, test_set = join(parts[:n_train]), join(parts[n_train:])
    feats = train_set["features"][::5].astype(np.float32)
    mean, std = feats.mean((0, 1, 2)), feats.std((0, 1, 2)) + 1e-3
    np.savez(folder / "train.npz", features=train_set["features"], keypoints=train_set["keypoints"],
             weights=train_set["weights"], mean=mean, std=std)
    np.savez(folder / "test.npz", features=test_set["features"], keypoints=test_set["keypoints"],
             weights=test_set["weights"])
    gt = coco_ground_truth_arrays(test_set["keypoints"], test_set["weights"], test_set["areas"],
                                  cfg.input_size)
    (folder / "test_gt.json").write_text(json.dumps(gt))
    sheet = _sample_sheet([c for p in parts[:n_train] for c in p["sheet"]],
                          [c for p in parts[n_train:] for c in p["sheet"]])
    cv2.imwrite(str(folder / "samples.png"), sheet)
    mean_pose = (train_set["keypoints"] * train_set["weights"][..., None]).sum(0) / np.maximum(
        train_set["weights"].sum(0), 1)[:, None]
    references = {
        "mean pose": score_points(np.broadcast_to(mean_pose, test_set["keypoints"].shape), test_set,
                                  gt),
        "teacher": score_points(test_set["teacher"], test_set, gt),
        **{f"perfect heatmap 1/{s}": heatmap_floor(test_set, gt, s) for s in STRIDES}}
    return {"train_people": len(train), "test_people": len(test), "pseudo_people": len(pseudo),
            "pseudo_images": len({s.image_path for s in pseudo}),
            "train_images": len({s.image_path for s in train}),
            "test_images": len({s.image_path for s in test}),
            "train_crops": len(train_set["areas"]), "test_crops": len(test_set["areas"]),
            "feature_shape": train_set["features"].shape[1:], "references": references,
            "test_names": sorted({f"{s.image_path.parent.name}/{s.image_path.name}"
                                  for s in test})}


def score_points(points: np.ndarray, test: dict, gt: dict,
                 scores: np.ndarray | None = None) -> dict[str, float]:
    """Held-out AP (every person scored 1 unless ``scores`` ``(N, K)`` are given: the person
    score is their mean) and mean keypoint error (crop pixels) of ``(N, K, 2)`` points."""
    from alphapose.evaluate import keypoint_ap
    from alphapose.skeletons import get_layout

    if scores is None:
        scores = np.ones(points.shape[:2])
    results = [{"image_id": i, "category_id": 1, "score": float(np.mean(sc)),
                "keypoints": np.concatenate([xy, sc[:, None]], 1).ravel().tolist()}
               for i, (xy, sc) in enumerate(zip(points, scores))]
    weights = test["weights"]
    error = np.linalg.norm(points - test["keypoints"], axis=-1)
    return {"ap": float(keypoint_ap(gt, results, get_layout("coco17").sigmas)["AP"]),
            "err": float((error * weights).sum() / weights.sum())}


def heatmap_sigma(stride: int) -> float:
    """Target sigma in map cells: the official 2 at 1/4 maps, scaled down at coarser maps and
    kept >= 1 cell (1/16: 1)."""
    return max(1.0, 8.0 / stride)


def heatmap_floor(test: dict, gt: dict, stride: int) -> dict[str, float]:
    """A perfect heatmap network: the ground truth encoded as its training target and decoded
    (argmax + quarter cell). The integral codecs' floor is exact."""
    from alphapose.codecs import HeatmapCodec

    codec = HeatmapCodec(sigma=heatmap_sigma(stride))
    size = (256 // stride, 256 // stride)
    maps = np.stack([codec.encode(k, w, size, (float(stride), float(stride)))[0]
                     for k, w in zip(test["keypoints"], test["weights"])])
    coords, _ = codec.decode(maps)
    return score_points(coords * stride, test, gt)


def _sample_sheet(train: list, test: list, per_row: int = 8) -> np.ndarray:
    """Two rows of training crops over one row of test crops (128 px), labelled points green."""
    rows = []
    for crops, count in ((train, 2 * per_row), (test, per_row)):
        picks = np.linspace(0, len(crops) - 1, count).round().astype(int)
        tiles = []
        for i in picks:
            image, keypoints, weights = crops[i]
            tile = image.copy()
            for (x, y), w in zip(keypoints, weights):
                if w > 0:
                    cv2.circle(tile, (round(x), round(y)), 3, (0, 255, 0), -1)
            tiles.append(cv2.resize(tile, (128, 128), interpolation=cv2.INTER_AREA))
        rows += [np.concatenate(tiles[r:r + per_row], 1) for r in range(0, count, per_row)]
    return np.concatenate(rows, 0)


# ------------------------------------------------------------------------------------------------
# Head and training (worker processes)
# ------------------------------------------------------------------------------------------------

def fastpose_head(in_channels: int, num_keypoints: int, stride: int):
    """The FastPose head on a stride-32 trunk: PixelShuffle(2) (stride 16), two DUC blocks
    (x2 each: stride 4; x1 each: stride 16), 3 x 3 output conv; widths :data:`HEAD_WIDTHS`."""
    from torch import nn

    from alphapose.models.layers import DUC

    if stride not in STRIDES:
        raise ValueError(f"stride: expected one of {STRIDES}, got {stride}")
    if in_channels % 4:
        raise ValueError(f"in_channels: expected a multiple of 4, got {in_channels}")
    wide, narrow = HEAD_WIDTHS
    factor = 2 if stride == 4 else 1
    return nn.Sequential(nn.PixelShuffle(2), DUC(in_channels // 4, wide * factor * factor, factor),
                         DUC(wide, narrow * factor * factor, factor),
                         nn.Conv2d(narrow, num_keypoints, 3, padding=1))


def _method(name: str, stride: int):
    from alphapose.codecs import HeatmapCodec, IntegralRegressionCodec
    from alphapose.losses import PoseLoss

    sigma = heatmap_sigma(stride)
    return {
        "heatmap": (PoseLoss("heatmap", sigma=sigma), HeatmapCodec(sigma=sigma)),
        "softmax_integral": (PoseLoss("integral", norm_type="softmax", symmetric_gradient=False),
                             IntegralRegressionCodec("softmax")),
        "sikr_no_asg": (PoseLoss("integral", norm_type="sigmoid", symmetric_gradient=False),
                        IntegralRegressionCodec("sigmoid")),
        "sikr": (PoseLoss("integral", norm_type="sigmoid", symmetric_gradient=True),
                 IntegralRegressionCodec("sigmoid")),
    }[name]


def _evaluate(model, codec, inputs, test: dict, gt: dict, stride: int) -> dict[str, float]:
    """Held-out AP (each method's own person score), AP with one score for every person
    (localisation only) and mean keypoint error (crop pixels)."""
    import torch

    model.eval()
    with torch.no_grad():
        raw = torch.cat([model(inputs[i:i + 128]) for i in range(0, len(inputs), 128)])
    model.train()
    coords, scores = codec.decode(raw.numpy().astype(np.float32))
    points = coords * stride
    own = score_points(points, test, gt, scores)
    same = score_points(points, test, gt)
    return {"ap": own["ap"], "ap_same_score": same["ap"], "err": own["err"]}


def run_task(task: tuple[int, int, dict, str]) -> list[dict]:
    """Train the four heads for one (stride, seed); returns one record per method."""
    import torch

    stride, seed, options, folder = task
    torch.set_num_threads(1)
    folder_path = Path(folder)
    with np.load(folder_path / "train.npz", allow_pickle=False) as f:
        train = {k: f[k] for k in f.files}
    with np.load(folder_path / "test.npz", allow_pickle=False) as f:
        test = {k: f[k] for k in f.files}
    gt = json.loads((folder_path / "test_gt.json").read_text())
    mean, std = train["mean"], train["std"]

    def inputs(features: np.ndarray):
        x = (features.astype(np.float32) - mean) / std
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    test_inputs = inputs(test["features"])
    steps, batch, lr = options["steps"], options["batch"], options["lr"]
    eval_at = sorted({round(steps * q) for q in np.linspace(0, 1, options["evals"] + 1)})
    rng = np.random.default_rng(seed)
    count = len(train["features"])
    order = np.concatenate([rng.permutation(count) for _ in range(steps * batch // count + 1)])
    channels = train["features"].shape[-1]
    torch.manual_seed(seed)
    initial = {k: v.clone() for k, v in fastpose_head(channels, 17, stride).state_dict().items()}
    records = []
    for name in METHODS:
        loss_fn, codec = _method(name, stride)
        model = fastpose_head(channels, 17, stride)
        model.load_state_dict(initial)
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
        curve, losses, running = [], [], []
        start = time.perf_counter()
        for step in range(steps + 1):
            if step in eval_at:
                curve.append({"step": step,
                              **_evaluate(model, codec, test_inputs, test, gt, stride)})
            if step == steps:
                break
            idx = np.sort(order[step * batch:(step + 1) * batch])
            keypoints = torch.from_numpy(train["keypoints"][idx]) / stride
            weights = torch.from_numpy(train["weights"][idx])
            loss = loss_fn(model(inputs(train["features"][idx])), keypoints, weights)
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
    parser.add_argument("--steps", type=int, default=300, help="training steps per run")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (cosine)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per resolution")
    parser.add_argument("--train-per-person", type=int, default=100,
                        help="crops per ground-truth training person")
    parser.add_argument("--pseudo-per-person", type=int, default=12,
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
    for name in ("steps", "batch", "seeds", "train_per_person", "test_per_person", "evals",
                 "workers"):
        if getattr(args, name) < 1:
            print(f"--{name.replace('_', '-')}: expected a positive number, got "
                  f"{getattr(args, name)}", file=sys.stderr)
            return 2
    from tqdm import tqdm

    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="ablation-") as tmp, \
            context.Pool(args.workers) as pool:
        info = build_data(args, Path(tmp), pool)
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        (args.plot.parent / "samples.png").write_bytes((Path(tmp) / "samples.png").read_bytes())
        print(f"people: {info['train_people']} train on {info['train_images']} images, "
              f"{info['test_people']} held out on {info['test_images']} images "
              f"({', '.join(info['test_names'])}); {info['pseudo_people']} teacher-labelled "
              f"people on {info['pseudo_images']} unlabelled images and frames (training only); "
              f"256x256 crops: {info['train_crops']} train, {info['test_crops']} test; trunk "
              f"features {'x'.join(map(str, info['feature_shape']))} "
              f"({time.perf_counter() - start:.0f} s)")
        print("references on the test crops (AP, every person scored 1; error in crop pixels):")
        for name, ref in info["references"].items():
            print(f"  {name:22s} AP {ref['ap']:.3f}  error {ref['err']:.2f} px")
        print(f"{len(STRIDES)} resolutions x {args.seeds} seeds x {len(METHODS)} methods, "
              f"{args.steps} Adam steps of {args.batch} crops (lr {args.lr}, cosine), "
              f"{args.workers} processes", flush=True)
        options = {"steps": args.steps, "batch": args.batch, "lr": args.lr, "evals": args.evals}
        # the slower 1/4 tasks first, so the pool ends together
        tasks = [(stride, seed, options, tmp) for stride in STRIDES for seed in range(args.seeds)]
        records: list[dict] = []
        with tqdm(total=len(tasks) * len(METHODS), desc="training", unit="run") as bar:
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
        side = 256 // stride
        print(f"\n1/{stride} maps ({side}x{side}), held out, {args.seeds} seeds: mean +- sd "
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
    # coarse (1/16) lines first, the paper's 1/4 AP line last
    print(lines[2])
    print(lines[0])
    print(lines[3])
    print(lines[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
