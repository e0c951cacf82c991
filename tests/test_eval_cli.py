"""``alphapose eval`` per-part AP (equal to pycocotools / xtcocotools) and ``tune-nms``."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from alphapose.cli import build_parser
from alphapose.evaluate.keypoints import (
    KeypointEvaluator,
    evaluate_keypoints,
    evaluation_parts,
    load_ground_truth,
    load_results,
)
from alphapose.evaluate.nms_search import (
    NMSSearchConfig,
    apply_nms_to_candidates,
    load_candidates,
    load_nms_params,
    save_nms_params,
    tune_pose_nms,
)
from alphapose.nms import PoseNMSParams
from alphapose.skeletons import get_layout

WB_KEYS = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")
WB_CUTS = (0, 17, 23, 91, 112, 133)
# our part name -> (xtcocotools iouType, first, end) in COCO-WholeBody-133 order
XT_PARTS = {"body": ("keypoints_body", 0, 17), "foot": ("keypoints_foot", 17, 23),
            "face": ("keypoints_face", 23, 91), "left_hand": ("keypoints_lefthand", 91, 112),
            "right_hand": ("keypoints_righthand", 112, 133),
            "whole": ("keypoints_wholebody", 0, 133)}


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    args = build_parser().parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = args.func(args)
    return code, out.getvalue(), err.getvalue()


def gt_triples(ann: dict) -> np.ndarray:
    """(K, 3) ground-truth keypoints, joining COCO-WholeBody's split fields."""
    if "foot_kpts" in ann:
        return np.concatenate([np.asarray(ann.get(k) or [0.0] * 3 * (b - a), float).reshape(-1, 3)
                               for k, a, b in zip(WB_KEYS, WB_CUTS[:-1], WB_CUTS[1:])])
    return np.asarray(ann["keypoints"], float).reshape(-1, 3)


def perturbed(gt: dict, seed: int, noise: float, zero_parts: bool = False) -> list[dict]:
    """Results made from the ground truth: every person jittered, random scores; with
    ``zero_parts`` some results get all-zero scores for a part or for the whole pose."""
    rng = np.random.default_rng(seed)
    results = []
    for ann in gt["annotations"]:
        kp = gt_triples(ann)
        kp[:, :2] += rng.normal(0, noise * np.sqrt(max(ann["area"], 1.0)), kp[:, :2].shape)
        kp[:, 2] = rng.uniform(0.05, 1.0, len(kp))
        if zero_parts and rng.uniform() < 0.4:
            a = rng.integers(0, len(kp))
            kp[a:a + rng.integers(1, len(kp)), 2] = 0.0
        results.append({"image_id": ann["image_id"], "category_id": 1,
                        "keypoints": kp.ravel().tolist(), "score": float(rng.uniform(0.1, 3))})
    return results


def pycoco_stats(gt: dict, results: list[dict], sigmas: np.ndarray | None = None) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(copy.deepcopy(results)), "keypoints")
        if sigmas is not None:
            evaluator.params.kpt_oks_sigmas = np.asarray(sigmas)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return np.asarray(evaluator.stats)


# ------------------------------------------------------------------------------------------------
# eval: equal to the reference tools
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed,noise,zeros", [(0, 0.02, False), (4, 0.1, True), (5, 0.3, True)],
                         ids=["close", "noisy-with-zero-scores", "far-with-zero-scores"])
def test_coco17_equals_pycocotools_on_perturbed_gt(shared_data: Path, seed: int, noise: float,
                                                   zeros: bool) -> None:
    path = shared_data / "mmpose" / "coco" / "test_coco.json"
    gt = json.loads(path.read_text())
    results = perturbed(gt, seed, noise, zeros)
    expected = pycoco_stats(gt, results)  # pycocotools' default sigmas
    ours = evaluate_keypoints(path, results)
    assert list(ours) == ["whole", "body"]
    for part in ours:
        got = [ours[part][k] for k in ("AP", "AP50", "AP75", "APm", "APl",
                                       "AR", "AR50", "AR75", "ARm", "ARl")]
        np.testing.assert_allclose(got, expected, atol=1e-6, err_msg=part)


def test_coco17_equals_pycocotools_on_real_predictions(shared_data: Path) -> None:
    gt_path = shared_data / "mmpose" / "coco" / "test_coco.json"
    res_path = shared_data / "xtcocoapi" / "example_coco_preds.json"
    expected = pycoco_stats(json.loads(gt_path.read_text()), json.loads(res_path.read_text()))
    ours = evaluate_keypoints(gt_path, res_path)["whole"]
    assert ours["AP"] == pytest.approx(expected[0], abs=1e-6)
    assert ours["AR"] == pytest.approx(expected[5], abs=1e-6)
    assert 0.5 < ours["AP"] < 1.0  # real predictions: neither trivial nor perfect


def xtcoco_stats(gt_path: Path, results: list[dict]) -> dict[str, tuple[float, float]]:
    xt_coco = pytest.importorskip("xtcocotools.coco")
    xt_eval = pytest.importorskip("xtcocotools.cocoeval")
    sigmas = get_layout("coco_wholebody133").sigmas
    split = []
    for r in results:
        entry = {"image_id": r["image_id"], "category_id": 1, "score": r["score"]}
        for key, a, b in zip(WB_KEYS, WB_CUTS[:-1], WB_CUTS[1:]):
            entry[key] = r["keypoints"][3 * a:3 * b]
        split.append(entry)
    out = {}
    for part, (iou_type, a, b) in XT_PARTS.items():
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coco = xt_coco.COCO(str(gt_path))
            evaluator = xt_eval.COCOeval(coco, coco.loadRes(copy.deepcopy(split)), iou_type,
                                         sigmas[a:b], use_area=True)
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
        out[part] = (float(evaluator.stats[0]), float(evaluator.stats[5]))
    return out


@pytest.mark.parametrize("seed,noise,zeros", [(0, 0.02, False), (1, 0.08, True),
                                              (2, 0.2, True)],
                         ids=["close", "noisy-with-zero-scores", "far-with-zero-scores"])
def test_wholebody_parts_equal_xtcocotools(shared_data: Path, seed: int, noise: float,
                                           zeros: bool) -> None:
    split_path = shared_data / "mmpose" / "coco" / "test_coco_wholebody.json"
    flat_path = shared_data / "mmpose" / "coco" / "test_keypoint_partition_metric.json"
    results = perturbed(json.loads(split_path.read_text()), seed, noise, zeros)
    expected = xtcoco_stats(split_path, results)
    parts = tuple(XT_PARTS)
    for gt_path in (split_path, flat_path):  # split fields and one flat 133-point array
        ours = evaluate_keypoints(gt_path, results, parts=parts)
        for part in parts:
            assert ours[part]["AP"] == pytest.approx(expected[part][0], abs=1e-6), part
            assert ours[part]["AR"] == pytest.approx(expected[part][1], abs=1e-6), part


@pytest.mark.parametrize("seed,noise", [(0, 0.03), (7, 0.12)], ids=["close", "noisy"])
def test_halpe_parts_follow_halpecocotools_slicing(shared_data: Path, seed: int,
                                                   noise: float) -> None:
    """Each Halpe part equals pycocotools on a ground truth file cut to halpecocotools' slices
    (body = first 20, foot 20-25, face 26-93, hand 94-135) with the Halpe sigmas, results with
    no scored point in the whole pose left out (some results have zero scores in one part:
    they stay)."""
    path = shared_data / "mmpose" / "halpe" / "test_halpe.json"
    gt = json.loads(path.read_text())
    results = perturbed(gt, seed, noise, zero_parts=True)
    results[0]["keypoints"][2::3] = [0.0] * 136  # empty pose: dropped from every part
    halpe_sigmas = np.concatenate([get_layout("coco17").sigmas, [0.08] * 3, [0.089] * 6,
                                   [0.015] * 110])
    slices = {"whole": slice(0, 136), "body": slice(0, 20), "foot": slice(20, 26),
              "face": slice(26, 94), "hand": slice(94, 136)}
    ours = evaluate_keypoints(path, results)
    assert list(ours) == list(slices)
    kept = [r for r in results if any(s > 0 for s in r["keypoints"][2::3])]
    for part, cut in slices.items():
        part_gt = copy.deepcopy(gt)
        for ann in part_gt["annotations"]:
            kp = np.asarray(ann["keypoints"], float).reshape(-1, 3)[cut]
            ann["keypoints"] = kp.ravel().tolist()
            ann["num_keypoints"] = int((kp[:, 2] > 0).sum())
        part_res = [dict(r, keypoints=np.asarray(r["keypoints"]).reshape(-1, 3)[cut]
                         .ravel().tolist()) for r in kept]
        expected = pycoco_stats(part_gt, part_res, halpe_sigmas[cut])
        assert ours[part]["AP"] == pytest.approx(expected[0], abs=1e-6), part
        assert ours[part]["AR"] == pytest.approx(expected[5], abs=1e-6), part


def test_halpe_ground_truth_as_results_scores_one(shared_data: Path) -> None:
    path = shared_data / "mmpose" / "halpe" / "test_halpe.json"
    gt = json.loads(path.read_text())
    results = []
    for a in gt["annotations"]:
        kp = np.asarray(a["keypoints"], float).reshape(-1, 3)
        if a["num_keypoints"] == 0:
            continue
        # unlabelled points: inside the box, so a part without labels matches its ignored
        # person instead of counting as a false positive (OKS to the box, as COCO defines it)
        x, y, w, h = a["bbox"]
        kp[kp[:, 2] == 0, :2] = (x + w / 2, y + h / 2)
        kp[:, 2] = 1.0
        results.append({"image_id": a["image_id"], "category_id": 1, "score": 1.0,
                        "keypoints": kp.ravel().tolist()})
    report = evaluate_keypoints(path, results)
    for part in ("whole", "body", "foot", "face", "hand"):
        assert report[part]["AP"] == pytest.approx(1.0), part


def test_parts_of_each_layout() -> None:
    sizes = {name: {p: len(v) for p, v in evaluation_parts(name).items()}
             for name in ("coco17", "halpe26", "halpe136", "coco_wholebody133")}
    assert sizes["coco17"] == {"whole": 17, "body": 17}
    assert sizes["halpe26"] == {"whole": 26, "body": 20, "foot": 6}
    assert sizes["halpe136"] == {"whole": 136, "body": 20, "foot": 6, "face": 68, "hand": 42}
    assert sizes["coco_wholebody133"] == {"whole": 133, "body": 17, "foot": 6, "face": 68,
                                          "hand": 42}
    np.testing.assert_array_equal(evaluation_parts("halpe136")["foot"], np.arange(20, 26))
    with pytest.raises(ValueError, match="'face': not a part of layout 'coco17'"):
        evaluation_parts("coco17", ["face"])


# ------------------------------------------------------------------------------------------------
# eval: the command, result formats, bad input
# ------------------------------------------------------------------------------------------------


def alphapose_format(gt: dict, results: list[dict]) -> list[dict]:
    """The same results as the AlphaPose results list: image file names, box, idx."""
    names = {im["id"]: im["file_name"] for im in gt["images"]}
    out = []
    for r in results:
        kp = np.asarray(r["keypoints"]).reshape(-1, 3)
        x0, y0 = kp[:, :2].min(0)
        x1, y1 = kp[:, :2].max(0)
        out.append({"image_id": names[r["image_id"]], "category_id": 1,
                    "keypoints": r["keypoints"], "score": r["score"],
                    "box": [x0, y0, x1 - x0, y1 - y0], "idx": [0.0]})
    return out


def test_cli_reads_coco_alphapose_and_forvis_results(shared_data: Path, tmp_path: Path) -> None:
    gt_path = shared_data / "mmpose" / "halpe" / "test_halpe.json"
    gt = json.loads(gt_path.read_text())
    coco = perturbed(gt, 3, 0.05)
    alpha = alphapose_format(gt, coco)
    forvis: dict[str, list] = {}
    for r in alpha:
        forvis.setdefault("some/folder/" + r["image_id"], []).append(
            {"keypoints": r["keypoints"], "scores": r["score"]})
    reports = []
    for label, data in (("coco", coco), ("alphapose", alpha), ("forvis", forvis)):
        res = tmp_path / f"{label}.json"
        res.write_text(json.dumps(data))
        out = tmp_path / f"{label}-report.json"
        code, stdout, stderr = run_cli(["eval", "--gt", str(gt_path), "--res", str(res),
                                        "--json", str(out)])
        assert code == 0, stderr
        assert "halpe136" in stdout and "hand" in stdout
        reports.append(json.loads(out.read_text()))
    assert reports[0]["parts"] == reports[1]["parts"] == reports[2]["parts"]
    assert reports[0]["num_results"] == len(coco)
    assert 0 < reports[0]["parts"]["whole"]["AP"] < 1


def test_cli_layout_option_and_parts(shared_data: Path, tmp_path: Path) -> None:
    gt_path = shared_data / "mmpose" / "coco" / "test_coco_wholebody.json"
    res = tmp_path / "res.json"
    res.write_text(json.dumps(perturbed(json.loads(gt_path.read_text()), 0, 0.05)))
    code, stdout, _ = run_cli(["eval", "--gt", str(gt_path), "--res", str(res), "--layout",
                               "coco_wholebody", "--parts", "body,left_hand"])
    assert code == 0
    rows = [line.split()[0] for line in stdout.splitlines()[2:]]
    assert rows == ["body", "left_hand"]


def bad_input_cases(shared_data: Path, tmp_path: Path) -> dict[str, tuple[list[str], list[str]]]:
    halpe = shared_data / "mmpose" / "halpe" / "test_halpe.json"
    coco = shared_data / "mmpose" / "coco" / "test_coco.json"
    gt = json.loads(halpe.read_text())
    good = perturbed(gt, 0, 0.05)
    files = {}
    for name, data in {
        "coco17_results": perturbed(json.loads(coco.read_text()), 0, 0.05),
        "unknown_image": [*good[:2], dict(good[2], image_id="000000999999.jpg")],
        "unknown_int_image": [dict(good[0], image_id=12345)],
        "no_score": [{k: v for k, v in good[0].items() if k != "score"}],
        "not_a_list": 5,
    }.items():
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(data))
    (tmp_path / "broken.json").write_text("[{\"image_id\": ")
    missing = str(tmp_path / "missing.json")
    return {
        "missing-gt": (["--gt", missing, "--res", str(files["no_score"])],
                       [missing, "no such annotation file"]),
        "missing-results": (["--gt", str(halpe), "--res", missing],
                            [missing, "no such results file"]),
        "wrong-keypoint-count": (["--gt", str(halpe), "--res", str(files["coco17_results"])],
                                 ["coco17_results.json", "result 0", "51 values",
                                  "17 keypoints", "'halpe136' needs 136"]),
        "unknown-image-name": (["--gt", str(halpe), "--res", str(files["unknown_image"])],
                               ["unknown_image.json", "result 2", "'000000999999.jpg'",
                                "no such image in", "test_halpe.json"]),
        "unknown-image-id": (["--gt", str(halpe), "--res", str(files["unknown_int_image"])],
                             ["image_id 12345", "no such image"]),
        "no-score": (["--gt", str(halpe), "--res", str(files["no_score"])],
                     ["no_score.json", "result 0", "'score'"]),
        "not-a-list": (["--gt", str(halpe), "--res", str(files["not_a_list"])],
                       ["not_a_list.json", "expected a JSON list"]),
        "broken-json": (["--gt", str(halpe), "--res", str(tmp_path / "broken.json")],
                        ["broken.json", "not valid JSON"]),
        "layout-mismatch": (["--gt", str(coco), "--res", str(files["coco17_results"]),
                             "--layout", "halpe136"],
                            ["test_coco.json", "17 keypoints", "'halpe136' has 136"]),
        "unknown-layout": (["--gt", str(coco), "--res", str(files["coco17_results"]),
                            "--layout", "mpii"], ["unknown keypoint layout 'mpii'"]),
    }


CASES = ["missing-gt", "missing-results", "wrong-keypoint-count", "unknown-image-name",
         "unknown-image-id", "no-score", "not-a-list", "broken-json", "layout-mismatch",
         "unknown-layout"]


@pytest.mark.parametrize("case", CASES)
def test_cli_bad_input_is_named(shared_data: Path, tmp_path: Path, case: str) -> None:
    argv, fragments = bad_input_cases(shared_data, tmp_path)[case]
    code, stdout, stderr = run_cli(["eval", *argv])
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("alphapose eval: ")
    for fragment in fragments:
        assert fragment in stderr, (fragment, stderr)


def test_ground_truth_with_wrong_part_length_is_refused(shared_data: Path) -> None:
    gt = json.loads((shared_data / "mmpose" / "coco" / "test_coco_wholebody.json").read_text())
    gt["annotations"][3]["face_kpts"] = gt["annotations"][3]["face_kpts"][:-3]
    with pytest.raises(ValueError, match=r"mine.json: annotation \d+ .*'face_kpts' has 201 "
                                         r"values, expected 204"):
        load_ground_truth(gt, name="mine.json")


# ------------------------------------------------------------------------------------------------
# tune-nms
# ------------------------------------------------------------------------------------------------


def duplicated_candidates(gt: dict, seed: int, copies: tuple[int, int] = (2, 6)) -> list[dict]:
    """Unsuppressed candidates as a top-down run on jittered detections produces them: each
    annotated person estimated 2-5 times; every copy is the person's pose shifted and scaled as
    a whole (the crop moved), plus per-keypoint noise, with its own keypoint scores (labelled
    points 0.4-1, unlabelled ones 0.02-0.3 near the body) and box (the GT box jittered)."""
    rng = np.random.default_rng(seed)
    out = []
    for ann in gt["annotations"]:
        kp = np.asarray(ann["keypoints"], float).reshape(-1, 3)
        labelled = kp[:, 2] > 0
        if not labelled.any():
            continue
        size = np.sqrt(ann["area"])
        centre = kp[labelled, :2].mean(0)
        x, y, w, h = ann["bbox"]
        for _ in range(rng.integers(*copies)):
            shift = rng.normal(0, 0.04 * size, 2)
            scale = 1 + rng.normal(0, 0.04)
            pts = kp[:, :2].copy()
            pts[~labelled] = centre + rng.normal(0, 0.2 * size, ((~labelled).sum(), 2))
            pts = centre + (pts - centre) * scale + shift + rng.normal(0, 0.015 * size, pts.shape)
            scores = np.where(labelled, rng.uniform(0.4, 1.0, len(kp)),
                              rng.uniform(0.02, 0.3, len(kp)))
            box = [x + rng.normal(0, 0.05 * w), y + rng.normal(0, 0.05 * h),
                   w * (1 + rng.normal(0, 0.05)), h * (1 + rng.normal(0, 0.05))]
            triples = np.concatenate([pts, scores[:, None]], 1)
            box_score = rng.uniform(0.3, 1.0)
            out.append({"image_id": ann["image_id"], "category_id": 1,
                        "keypoints": triples.ravel().tolist(), "box": box,
                        "score": float(scores.mean() + box_score + 1.25 * scores.max())})
    return out


FAST = NMSSearchConfig(factors=(0.25, 0.5, 1.0, 2.0, 4.0), refinements=0, max_rounds=4)


@pytest.mark.parametrize("seed", [0, 1], ids=["seed0", "seed1"])
def test_tune_nms_improves_ap_over_the_defaults(shared_data: Path, seed: int) -> None:
    path = shared_data / "mmpose" / "coco" / "test_coco.json"
    gt = load_ground_truth(path)
    candidates = load_candidates(duplicated_candidates(gt.data, seed), gt)
    assert sum(len(p) for p in candidates.values()) > 2 * 12  # duplicates of 12 people
    evaluator = KeypointEvaluator(gt, parts=("whole",))
    result = tune_pose_nms(candidates, evaluator, PoseNMSParams.body(), FAST)
    # the reported figures are what the parameters give
    assert result.ap_before == pytest.approx(evaluator(apply_nms_to_candidates(
        candidates, PoseNMSParams.body()))["whole"]["AP"])
    assert result.ap_after == pytest.approx(evaluator(apply_nms_to_candidates(
        candidates, result.params))["whole"]["AP"])
    assert result.ap_after > result.ap_before + 0.05
    assert result.ap_no_nms < result.ap_after
    assert set(result.changed()) <= {"delta1", "delta2", "mu", "gamma"}
    assert result.changed()
    aps = [step[3] for step in result.steps]
    assert aps == sorted(aps) and len(set(aps)) == len(aps)  # every step strictly improves


def test_tune_nms_keeps_optimal_defaults_unchanged(shared_data: Path) -> None:
    """One exact candidate per person: the defaults already reach AP 1, nothing can beat it,
    so the start comes back unchanged (and AP never drops on the way)."""
    path = shared_data / "mmpose" / "coco" / "test_coco.json"
    gt = load_ground_truth(path)
    exact = [{"image_id": a["image_id"], "category_id": 1, "box": a["bbox"], "score": 2.0,
              "keypoints": [v if i % 3 < 2 else (0.9 if v > 0 else 0.05)
                            for i, v in enumerate(a["keypoints"])]}
             for a in gt.data["annotations"] if a["num_keypoints"] > 0]
    candidates = load_candidates(exact, gt)
    start = PoseNMSParams.body()
    result = tune_pose_nms(candidates, KeypointEvaluator(gt, parts=("whole",)), start, FAST)
    assert result.ap_before == pytest.approx(1.0)
    assert result.params == start and result.params is start
    assert result.ap_after == result.ap_before
    assert result.steps == () and result.changed() == {}


def test_tune_nms_never_lowers_ap_from_any_start(shared_data: Path) -> None:
    path = shared_data / "mmpose" / "coco" / "test_coco.json"
    gt = load_ground_truth(path)
    candidates = load_candidates(duplicated_candidates(gt.data, 5), gt)
    evaluator = KeypointEvaluator(gt, parts=("whole",))
    tiny = NMSSearchConfig(factors=(0.5, 1.0, 2.0), refinements=0, max_rounds=2)
    for start in (PoseNMSParams(delta2=40.0, gamma=1.0), PoseNMSParams.wholebody()):
        result = tune_pose_nms(candidates, evaluator, start, tiny)
        assert result.ap_after >= result.ap_before
        assert result.ap_before == pytest.approx(evaluator(apply_nms_to_candidates(
            candidates, start))["whole"]["AP"])


def test_nms_params_file_round_trip(tmp_path: Path) -> None:
    params = PoseNMSParams(delta1=0.5, mu=3.4, delta2=10.6, gamma=1.4)
    for name in ("p.yaml", "p.json"):
        save_nms_params(params, tmp_path / name, {"ap_before": 0.4, "ap_after": 0.5})
        assert load_nms_params(tmp_path / name) == params
    (tmp_path / "bad.yaml").write_text("pose_nms: {delta1: 1.0, sigma9: 2}\n")
    with pytest.raises(ValueError, match="bad.yaml: unknown pose NMS parameters.*sigma9"):
        load_nms_params(tmp_path / "bad.yaml")
    with pytest.raises(ValueError, match="unknown parameter 'lambda'"):
        NMSSearchConfig(pairs=(("lambda", "eta"),))


@pytest.mark.slow
def test_cli_tune_nms_writes_parameters(shared_data: Path, tmp_path: Path) -> None:
    gt_path = shared_data / "mmpose" / "coco" / "test_coco.json"
    gt = load_ground_truth(gt_path)
    res = tmp_path / "candidates.json"
    res.write_text(json.dumps(alphapose_format(gt.data, duplicated_candidates(gt.data, 0))))
    out = tmp_path / "nms.yaml"
    code, stdout, stderr = run_cli(["tune-nms", "--gt", str(gt_path), "--res", str(res), "-o",
                                    str(out), "--refinements", "0", "--max-rounds", "3",
                                    "--preset", "body", "--quiet"])
    assert code == 0, stderr
    tuned = load_nms_params(out)
    assert tuned != PoseNMSParams.body()
    line = next(x for x in stdout.splitlines() if x.startswith("whole AP"))
    before, after = (float(x) for x in line.replace(",", "").split()[-3::2])
    assert after > before
    code, _, stderr = run_cli(["tune-nms", "--gt", str(gt_path), "--res", str(res),
                               "--pairs", "delta1:lambda"])
    assert code == 2 and "unknown parameter 'lambda'" in stderr


def test_load_candidates_reconstructs_box_scores(shared_data: Path) -> None:
    gt = load_ground_truth(shared_data / "mmpose" / "coco" / "test_coco.json")
    entries = duplicated_candidates(gt.data, 2)
    candidates = load_candidates(entries, gt)
    normalised = load_results(entries, gt)
    poses = candidates[normalised[0]["image_id"]]
    first = np.asarray(entries[0]["keypoints"]).reshape(-1, 3)
    np.testing.assert_allclose(poses.keypoints[0], first[:, :2], rtol=1e-6)
    x, y, w, h = entries[0]["box"]
    np.testing.assert_allclose(poses.xyxy[0], [x, y, x + w, y + h], rtol=1e-6)
    # the person score rebuilt from the reconstructed box score is the file's score
    assert float(poses.scores[0]) == pytest.approx(entries[0]["score"], rel=1e-5)
