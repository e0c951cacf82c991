"""``alphapose eval`` (keypoint AP / AR per part) and ``alphapose tune-nms`` (pose NMS search).

Registered by :func:`add_commands`; torch-free, and the evaluation modules are imported only
when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_commands", "eval_command", "tune_nms_command"]

_LAYOUT_HELP = ("keypoint layout: coco17, halpe26, halpe136, coco_wholebody133 (aliases coco, "
                "coco_wholebody, ...); default: from the keypoints per person in --gt")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the ``eval`` and ``tune-nms`` subcommands to the ``alphapose`` parser."""
    ev = sub.add_parser(
        "eval", help="COCO-style keypoint AP / AR per part (body, foot, face, hand, whole)",
        description="Keypoint AP/AR (OKS 0.50:0.95) of results against COCO, Halpe or "
                    "COCO-WholeBody ground truth, per part, with the layout's OKS sigmas. "
                    "Results: COCO results or the AlphaPose results JSON (image_id = file "
                    "name, matched to the ground truth's file_name).")
    ev.add_argument("--gt", required=True, metavar="ANN.json", help="annotation file")
    ev.add_argument("--res", required=True, metavar="RESULTS.json", help="results file")
    ev.add_argument("--layout", default=None, help=_LAYOUT_HELP)
    ev.add_argument("--parts", default=None,
                    help="comma-separated parts (whole, body, foot, face, hand, left_hand, "
                         "right_hand); default: those of the layout")
    ev.add_argument("--drop-empty", default=None, choices=("none", "part", "pose"),
                    help="leave out results with all-zero scores in the part / the pose "
                         "(default: the reference tool's rule for the layout: coco17 none "
                         "(pycocotools), coco_wholebody133 part (xtcocotools), Halpe pose "
                         "(halpecocotools))")
    ev.add_argument("--json", dest="json_out", default=None, metavar="OUT.json",
                    help="also write the figures here")
    ev.set_defaults(func=eval_command)

    tn = sub.add_parser(
        "tune-nms", help="data-driven search of the pose NMS parameters (paper Sec. 3.4)",
        description="Maximise validation AP over the parametric pose NMS parameters, two at a "
                    "time (sigma1=delta1, sigma2=delta2, lambda=mu, eta=gamma), iterating to "
                    "convergence. --res holds the UNSUPPRESSED candidates (e.g. alphapose run "
                    "--pose-nms none). Never returns parameters worse than the start.")
    tn.add_argument("--gt", required=True, metavar="ANN.json", help="validation annotations")
    tn.add_argument("--res", required=True, metavar="CANDIDATES.json",
                    help="candidate poses without NMS (AlphaPose or COCO results)")
    tn.add_argument("--layout", default=None, help=_LAYOUT_HELP)
    tn.add_argument("--part", default="whole", help="part whose AP is maximised "
                                                    "(default: %(default)s)")
    tn.add_argument("--start", default=None, metavar="PARAMS.yaml",
                    help="starting parameters (YAML/JSON); default: the official choice for "
                         "the layout (--preset)")
    tn.add_argument("--preset", default="auto", choices=("auto", "body", "wholebody"),
                    help="starting parameters when --start is absent: auto = the official "
                         "choice for the layout with a regression model (default)")
    tn.add_argument("--pairs", default="delta1:delta2,mu:gamma",
                    help="parameter pairs optimised in turn (default: %(default)s)")
    tn.add_argument("--refinements", type=int, default=1,
                    help="times the grid is narrowed after convergence (default: %(default)s)")
    tn.add_argument("--max-rounds", type=int, default=10,
                    help="rounds per grid at most (default: %(default)s)")
    tn.add_argument("--min-box-area", type=float, default=0.0,
                    help="min_box_area of the NMS (default: %(default)s)")
    tn.add_argument("-o", "--out", default=None, metavar="PARAMS.yaml",
                    help="write the best parameters here (.yaml/.yml: YAML, else JSON)")
    tn.add_argument("--quiet", action="store_true", help="no progress lines")
    tn.set_defaults(func=tune_nms_command)


def _fail(command: str, error: Exception) -> int:
    print(f"alphapose {command}: {error}", file=sys.stderr)
    return 2


def eval_command(args: argparse.Namespace) -> int:
    """``alphapose eval``: print the table (and write ``--json``); exit status 2 on bad input."""
    from alphapose.evaluate.keypoints import (
        KeypointEvaluator,
        format_report,
        load_ground_truth,
        load_results,
    )

    try:
        gt = load_ground_truth(args.gt, args.layout)
        results = load_results(args.res, gt)
        parts = None if args.parts is None else [p.strip() for p in args.parts.split(",")
                                                 if p.strip()]
        evaluator = KeypointEvaluator(gt, parts, args.drop_empty)
        report = evaluator(results)
    except (OSError, ValueError) as error:
        return _fail("eval", error)
    people = sum(1 for a in gt.data["annotations"] if a["num_keypoints"] > 0)
    if not results:
        print(f"alphapose eval: warning: {args.res} holds no results; every figure is 0",
              file=sys.stderr)
    title = (f"{gt.name}: layout {gt.layout.name}, {len(gt.data['images'])} images, {people} "
             f"people with keypoints; {args.res}: {len(results)} results "
             f"(drop-empty rule: {evaluator.drop_empty})")
    print(format_report(report, title))
    if args.json_out:
        data = {"gt": str(args.gt), "results": str(args.res), "layout": gt.layout.name,
                "drop_empty": evaluator.drop_empty, "num_results": len(results),
                "parts": report}
        try:
            Path(args.json_out).write_text(json.dumps(data, indent=1), encoding="utf-8")
        except OSError as error:
            return _fail("eval", error)
    return 0


def tune_nms_command(args: argparse.Namespace) -> int:
    """``alphapose tune-nms``: print AP before / after and the parameters; write ``--out``."""
    import time

    from alphapose.evaluate.keypoints import KeypointEvaluator, load_ground_truth
    from alphapose.evaluate.nms_search import (
        PAPER_NAMES,
        NMSSearchConfig,
        load_candidates,
        load_nms_params,
        save_nms_params,
        tune_pose_nms,
    )
    from alphapose.nms import PoseNMSParams

    try:
        pairs = []
        for item in args.pairs.split(","):
            names = tuple(n.strip() for n in item.split(":"))
            if len(names) != 2:
                raise ValueError(f"--pairs: {item!r} is not NAME:NAME")
            pairs.append(names)
        config = NMSSearchConfig(pairs=tuple(pairs), refinements=args.refinements,
                                 max_rounds=args.max_rounds, part=args.part,
                                 min_box_area=args.min_box_area)
        gt = load_ground_truth(args.gt, args.layout)
        candidates = load_candidates(args.res, gt)
        if args.start:
            start = load_nms_params(args.start)
        elif args.preset == "body":
            start = PoseNMSParams.body()
        elif args.preset == "wholebody":
            start = PoseNMSParams.wholebody()
        else:
            start = PoseNMSParams.for_layout(gt.layout, regression=True)
        evaluator = KeypointEvaluator(gt, parts=(args.part,))
        began = time.perf_counter()
        progress = None if args.quiet else (lambda m: print(m, file=sys.stderr))
        result = tune_pose_nms(candidates, evaluator, start, config, progress)
        seconds = time.perf_counter() - began
    except (OSError, ValueError, TypeError) as error:
        return _fail("tune-nms", error)
    count = sum(len(p) for p in candidates.values())
    print(f"{count} candidates on {len(candidates)} images, layout {gt.layout.name}, "
          f"{result.evaluations} parameter sets in {seconds:.1f} s")
    names = sorted({n for pair in config.pairs for n in pair})
    for name in names:
        paper = f" ({PAPER_NAMES[name]})" if name in PAPER_NAMES else ""
        print(f"  {name + paper:<18s} {getattr(result.start, name):>10g} -> "
              f"{getattr(result.params, name):g}")
    print(f"{args.part} AP: no NMS {result.ap_no_nms:.4f}, start {result.ap_before:.4f}, "
          f"tuned {result.ap_after:.4f}")
    if args.out:
        try:
            save_nms_params(result.params, args.out, {
                "gt": str(args.gt), "candidates": str(args.res), "part": args.part,
                "ap_no_nms": result.ap_no_nms, "ap_before": result.ap_before,
                "ap_after": result.ap_after})
        except OSError as error:
            return _fail("tune-nms", error)
        print(f"wrote {args.out}")
    return 0
