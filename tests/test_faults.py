"""Nothing lost, nothing run (issue #14): results that survive a kill, one input's problem never
stops the others, and expected errors are one line with an exit status."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import textwrap
from contextlib import ExitStack
from pathlib import Path

import cv2
import numpy as np
import pytest

from alphapose.cli import describe_error, main
from alphapose.runner import lock_outdir, unique_names
from alphapose.structures import Frame, Poses


def write_video(path: Path, image: np.ndarray, frames: int, size: int = 160) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (size, size))
    small = cv2.resize(image, (size, size))
    for i in range(frames):
        writer.write(np.roll(small, 2 * i, axis=1))
    writer.release()
    return path


def one_line(err: str) -> str:
    """The single line an expected error prints (asserts there is no traceback)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    assert lines[0].startswith("alphapose"), err
    return lines[0]


def poses(n: int, seed: int = 0, tracked: bool = False) -> Poses:
    rng = np.random.default_rng(seed)
    return Poses(rng.uniform(10, 50, (n, 26, 2)), rng.uniform(0.2, 1, (n, 26)),
                 np.tile([[5.0, 5.0, 60.0, 60.0]], (n, 1)), rng.uniform(0.5, 1, n),
                 layout="halpe26", track_ids=np.arange(n) if tracked else None)


# ------------------------------------------------------------------------------------------------
# 4: results of a killed run are read by standard tools
# ------------------------------------------------------------------------------------------------


def test_results_and_video_of_a_killed_process_are_read_by_standard_tools(tmp_path) -> None:
    pycocotools = pytest.importorskip("pycocotools.coco")
    script = textwrap.dedent(f"""
        import os
        import numpy as np
        from alphapose.structures import Frame, Poses
        from alphapose.writers import make_writers
        rng = np.random.default_rng(0)
        sink = make_writers({str(tmp_path)!r}, ["alphapose", "coco", "posetrack", "video"],
                            fps=10.0, video_name="AlphaPose_clip.mp4", render=None)
        sink.open()
        for i in range(7):
            poses = Poses(rng.uniform(10, 50, (2, 136, 2)), rng.uniform(0.2, 1, (2, 136)),
                          [[5, 5, 60, 60], [8, 8, 70, 70]], [0.9, 0.8], layout="halpe136")
            image = np.full((64, 96, 3), 30 * i, np.uint8)
            sink.write(Frame(image, i, f"{{i:012d}}.jpg"), poses)
        os._exit(3)  # killed: nothing closed
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.returncode == 3, result.stderr
    assert len(json.loads((tmp_path / "alphapose-results.json").read_text())) == 14
    track = json.loads((tmp_path / "posetrack-results.json").read_text())
    assert len(track["annotations"]) == 14 and [i["id"] for i in track["images"]] == list(range(7))
    gt = pycocotools.COCO()
    gt.dataset = {"images": [{"id": i, "width": 96, "height": 64} for i in range(7)],
                  "annotations": [], "categories": [{"id": 1, "name": "person"}]}
    gt.createIndex()
    assert len(gt.loadRes(str(tmp_path / "coco-results.json")).anns) == 14
    capture = cv2.VideoCapture(str(tmp_path / "AlphaPose_clip.partial.avi"))
    means = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        means.append(float(image.mean()))
    capture.release()
    np.testing.assert_allclose(means, [30.0 * i for i in range(7)], atol=3)  # every frame


def test_posetrack_file_is_json_after_every_frame_also_when_its_image_list_moves(
        tmp_path, monkeypatch) -> None:
    from alphapose.writers import PoseTrackWriter

    monkeypatch.setattr(PoseTrackWriter, "_ROOM", 64)  # moved (the file rewritten) often
    path = tmp_path / "t.json"
    sink = PoseTrackWriter(path)
    for i in range(12):
        sink.write(Frame(np.zeros((8, 8, 3), np.uint8), i, f"{i}.jpg"), poses(i % 3, i, True))
        data = json.loads(path.read_text())
        assert [image["id"] for image in data["images"]] == list(range(i + 1))
        assert len(data["annotations"]) == sum(k % 3 for k in range(i + 1))
    sink.close()
    data = json.loads(path.read_text())
    assert {image["nframes"] for image in data["images"]} == {12}
    assert [a["id"] for a in data["annotations"]] == list(range(12))


# ------------------------------------------------------------------------------------------------
# 8: one naming rule, unique per input and stable
# ------------------------------------------------------------------------------------------------


def test_unique_names_keep_file_names_and_add_folders_only_on_a_clash() -> None:
    assert unique_names(["x/a/1.jpg", "x/b/1.jpg", "x/a/2.jpg"]) == {
        "x/a/1.jpg": "a/1.jpg", "x/b/1.jpg": "b/1.jpg", "x/a/2.jpg": "2.jpg"}
    assert unique_names(["p/a/clip.mp4", "p/b/clip.mp4", "p/a/clip.avi", "p/walk.mp4"],
                        stems=True) == {"p/a/clip.mp4": "clip_mp4", "p/b/clip.mp4": "clip",
                                        "p/a/clip.avi": "clip_avi", "p/walk.mp4": "walk"}
    # the same file twice is one input; names do not depend on the order
    assert unique_names(["q/1.jpg", "r/1.jpg", "q/1.jpg"]) == unique_names(["r/1.jpg", "q/1.jpg"])


# ------------------------------------------------------------------------------------------------
# 11: one line and an exit status for every expected error
# ------------------------------------------------------------------------------------------------


def _chained_disk_full() -> Exception:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "out/alphapose-results.json")
        except OSError as error:
            raise RuntimeError("writer failed") from error
    except RuntimeError as error:
        return error


@pytest.mark.parametrize(("error", "status", "needle"), [
    (_chained_disk_full(), 3, "out/alphapose-results.json: no space left on device: free"),
    (PermissionError(errno.EACCES, "Permission denied", "/ro/out"), 3, "permissions"),
    (OSError(errno.EFBIG, "File too large", "out/a.mp4"), 3, "ulimit -f"),
    (FileExistsError(errno.EEXIST, "File exists", "out"), 2, "not a folder"),
    (RuntimeError("could not fetch @mediapipe/tasks-vision with npm"), 3, "npm"),
    (ValueError("refused YOLOX weights: y.pth"), 2, "y.pth"),
], ids=["disk-full-chained", "read-only", "file-size-limit", "output-is-a-file", "model-fetch",
        "bad-file"])
def test_expected_errors_are_described_by_one_line_and_status(error, status, needle) -> None:
    got_status, line = describe_error(error)
    assert got_status == status and needle in line and "\n" not in line
    assert describe_error(KeyError("bug")) is None  # unexpected: the traceback is kept


def test_offline_first_use_is_one_line_exit_3(tmp_path, monkeypatch, capsys) -> None:
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.zeros((32, 32, 3), np.uint8))

    def offline(*args, **kwargs):
        raise RuntimeError("model 'pose_landmarker_full' is not in the cache and npm could not "
                           "fetch it: no network")

    monkeypatch.setattr("alphapose.weights.get_model_file", offline)
    assert main(["run", str(image), "-o", str(tmp_path / "o"), "--quiet"]) == 3
    assert "no network" in one_line(capsys.readouterr().err)
    with pytest.raises(RuntimeError, match="no network"):  # --debug: the traceback
        main(["run", str(image), "-o", str(tmp_path / "o"), "--quiet", "--debug"])


def test_bad_training_yaml_is_one_line_exit_2(tmp_path, capsys) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("MODEL: [\n")
    assert main(["train", str(config)]) == 2
    one_line(capsys.readouterr().err)


# ------------------------------------------------------------------------------------------------
# 12: noise
# ------------------------------------------------------------------------------------------------


def test_openpose_person_id_is_minus_one_in_a_list_when_untracked() -> None:
    from alphapose.writers import openpose_people

    assert [p["person_id"] for p in openpose_people(poses(2))] == [[-1], [-1]]
    assert [p["person_id"] for p in openpose_people(poses(2, tracked=True))] == [[0], [1]]


def test_litert_prints_nothing_of_its_own_when_models_load(embedded_models) -> None:
    script = ("from alphapose.runtime.litert import LiteRTModel\n"
              "from alphapose.weights import get_model_file, list_models\n"
              "LiteRTModel(get_model_file(list_models()[0]), num_threads=1)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_sub_folders_of_an_input_folder_are_named(tmp_path, caplog) -> None:
    from alphapose.sources import open_sources

    (tmp_path / "day1").mkdir()
    (tmp_path / "day2").mkdir()
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    with caplog.at_level("WARNING", logger="alphapose"):
        open_sources([str(tmp_path)])
    assert "2 sub-folder(s) not searched (day1, day2)" in caplog.text


# ------------------------------------------------------------------------------------------------
# the command end to end (embedded models)
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def media(tmp_path_factory, astronaut_bgr, embedded_models) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    small = cv2.resize(astronaut_bgr, (256, 256))
    cv2.imwrite(str(root / "a" / "1.png") if (root / "a").mkdir() is None else "", small)
    cv2.imwrite(str(root / "b" / "1.png") if (root / "b").mkdir() is None else "",
                small[:, ::-1])
    cv2.imwrite(str(root / "photo.png"), small)
    cv2.imwrite(str(root / "000000000002.png"), small)
    return {"root": root, "clip": write_video(root / "clip.avi", astronaut_bgr, 8, size=320),
            "a_clip": write_video(root / "a" / "clip.avi", astronaut_bgr, 3),
            "b_clip": write_video(root / "b" / "clip.avi", astronaut_bgr[:, ::-1], 3)}


@pytest.mark.models
def test_a_name_without_an_integer_id_does_not_stop_later_inputs(media, tmp_path,
                                                                 capsys) -> None:
    out = tmp_path / "o"
    status = main(["run", str(media["root"] / "photo.png"),
                   str(media["root"] / "000000000002.png"), "-o", str(out), "--quiet",
                   "--format", "coco,jsonl"])
    err = capsys.readouterr().err
    assert status == 1 and "photo.png" in err and "integer image id" in err
    assert "Traceback" not in err
    assert [r["image_id"] for r in json.loads((out / "coco-results.json").read_text())] == [2]
    jsonl = [json.loads(x) for x in (out / "alphapose-results.jsonl").read_text().splitlines()]
    assert [x["image_id"] for x in jsonl] == ["photo.png", "000000000002.png"]  # both written


@pytest.mark.models
def test_video_that_cannot_be_written_is_reported_and_not_marked_done(media, tmp_path) -> None:
    out = tmp_path / "o"
    script = textwrap.dedent(f"""
        import resource, sys
        from alphapose.cli import main
        resource.setrlimit(resource.RLIMIT_FSIZE, (80_000, 80_000))  # the video outgrows it
        sys.exit(main(["run", {str(media["clip"])!r}, "-o", {str(out)!r}, "--quiet",
                       "--save-video", "--format", "jsonl", "--sp"]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "AlphaPose_clip.mp4: could not write" in result.stderr
    assert "Traceback" not in result.stderr and "[ WARN" not in result.stderr
    assert not (out / "alphapose-done.json").exists()
    assert len((out / "alphapose-results.jsonl").read_text().splitlines()) == 8  # results kept


@pytest.mark.models
def test_second_run_on_a_locked_output_folder_is_refused(media, tmp_path, capsys) -> None:
    out = tmp_path / "busy"
    with ExitStack() as held:
        lock_outdir(out, held)  # as a first run holds it
        status = main(["run", str(media["root"] / "photo.png"), "-o", str(out), "--quiet"])
        assert status == 3
        assert "another alphapose run" in one_line(capsys.readouterr().err)
        assert not (out / "alphapose-results.json").exists()
    assert main(["run", str(media["root"] / "photo.png"), "-o", str(out), "--quiet"]) == 0


@pytest.mark.models
def test_resume_with_other_options_redoes_the_video(media, tmp_path, capsys) -> None:
    out = tmp_path / "o"
    argv = ["run", str(media["clip"]), "-o", str(out), "--quiet", "--sp"]
    assert main(argv) == 0
    results = out / "alphapose-results.json"
    assert {len(r["keypoints"]) for r in json.loads(results.read_text())} == {136 * 3}
    capsys.readouterr()
    assert main([*argv, "--resume", "--layout", "coco17"]) == 0
    assert "done with other options (--layout); running it again" in capsys.readouterr().err
    assert {len(r["keypoints"]) for r in json.loads(results.read_text())} == {17 * 3}
    before = results.stat().st_mtime_ns
    assert main([*argv, "--resume", "--layout", "coco17"]) == 0
    assert "1 video(s) done by an earlier run, skipped" in capsys.readouterr().err
    assert results.stat().st_mtime_ns == before


@pytest.mark.models
def test_same_name_inputs_get_their_own_ids_and_renders(media, tmp_path, capsys) -> None:
    out = tmp_path / "o"
    root = media["root"]
    assert main(["run", str(root / "a" / "1.png"), str(root / "b" / "1.png"),
                 str(root / "photo.png"), str(media["a_clip"]), str(media["b_clip"]),
                 "-o", str(out), "--quiet", "--save-img", "--save-video", "--sp",
                 # one person per frame: the BlazePose detector alone (the default's NanoDet
                 # also sees a person in the helmet of some compressed frames)
                 "--detector", "blaze"]) == 0, capsys.readouterr().err
    ids = {r["image_id"] for r in json.loads((out / "alphapose-results.json").read_text())}
    assert ids == {"a/1.png", "b/1.png", "photo.png"}  # no clash: today's name
    mirrored = [cv2.imread(str(out / "vis" / f"{d}/1.png")) for d in ("a", "b")]
    assert mirrored[0].shape == (256, 256, 3) and not np.array_equal(*mirrored)
    for name in ("a_clip", "b_clip"):
        capture = cv2.VideoCapture(str(out / name / "AlphaPose_clip.mp4"))
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
        capture.release()
        assert len(json.loads((out / name / "alphapose-results.json").read_text())) == 3


@pytest.mark.models
@pytest.mark.parametrize(("argv", "status", "needle"), [
    (["--qsize", "0"], 2, "--qsize must be >= 1"),
    (["--max-pixels", "0"], 2, "--max-pixels must be >= 1"),
    (["--nms-params", "{nms}"], 2, "nms.yaml"),
    (["--detfile", "{detfile}"], 2, "det.json"),
    (["-o", "{file}"], 2, "not a folder"),
], ids=["qsize", "max-pixels", "nms-params", "detfile", "output-is-a-file"])
def test_run_errors_are_one_line_with_their_exit_status(media, tmp_path, capsys, argv, status,
                                                        needle) -> None:
    (tmp_path / "nms.yaml").write_text("gamma: [1\n")
    (tmp_path / "det.json").write_text("{[")
    (tmp_path / "file").write_text("")
    paths = {"nms": tmp_path / "nms.yaml", "detfile": tmp_path / "det.json",
             "file": tmp_path / "file"}
    argv = [a.format(**paths) for a in argv]
    base = ["run", str(media["root"] / "photo.png"), "--quiet"]
    if "-o" not in argv:
        base += ["-o", str(tmp_path / "o")]
    assert main([*base, *argv]) == status
    assert needle in one_line(capsys.readouterr().err)
