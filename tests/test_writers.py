"""Tests for alphapose.writers: every format round-trips, streams and survives a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from alphapose.formats import image_id_from_name, load_alphapose_json, load_json_lines
from alphapose.render import RenderOptions
from alphapose.structures import Frame, Poses
from alphapose.writers import (
    AlphaPoseJsonWriter,
    CocoResultsWriter,
    ImageWriter,
    JsonLinesWriter,
    MultiWriter,
    OpenPoseWriter,
    VideoWriter,
    make_writers,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LAYOUT_SIZES = {"coco17": 17, "halpe26": 26, "halpe136": 136, "coco_wholebody133": 133}


def make_poses(seed: int, n: int, layout: str = "halpe136", tracked: bool = False,
               size: tuple[int, int] = (640, 480)) -> Poses:
    """Random but valid poses in an image of ``size`` (width, height)."""
    rng = np.random.default_rng(seed)
    k = LAYOUT_SIZES[layout]
    keypoints = rng.uniform(0, 1, (n, k, 2)) * np.array(size, np.float64)
    corners = np.sort(rng.uniform(0, 1, (n, 2, 2)) * np.array(size), axis=1)
    xyxy = corners.reshape(n, 4)
    track_ids = rng.integers(0, 50, n) if tracked else None
    return Poses(keypoints, rng.uniform(0, 1, (n, k)), xyxy, rng.uniform(0.3, 1, n),
                 layout=layout, track_ids=track_ids)


def make_frame(index: int, name: str | None = None, size: tuple[int, int] = (64, 48)) -> Frame:
    image = np.full((size[1], size[0], 3), 40 + index, np.uint8)
    return Frame(image, index, name if name is not None else f"{index}.jpg")


def entries_of(poses: Poses) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(poses.keypoints[i], poses.keypoint_scores[i]) for i in range(len(poses))]


# ------------------------------------------------------------------------------------------------
# AlphaPose JSON
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUT_SIZES), ids=list(LAYOUT_SIZES))
@pytest.mark.parametrize("tracked", [False, True], ids=["untracked", "tracked"])
def test_alphapose_json_round_trip(tmp_path: Path, layout: str, tracked: bool) -> None:
    path = tmp_path / "res" / "alphapose-results.json"
    batches = [make_poses(1, 3, layout, tracked), make_poses(2, 0, layout),
               make_poses(3, 2, layout, tracked)]
    frames = [make_frame(i, f"img_{i}.jpg") for i in range(3)]
    with AlphaPoseJsonWriter(path) as sink:
        for frame, poses in zip(frames, batches):
            sink.write(frame, poses)

    entries = json.loads(path.read_text())  # a complete file is plain JSON
    assert entries == load_alphapose_json(path)
    expected = [(frame, poses, i) for frame, poses in zip(frames, batches)
                for i in range(len(poses))]
    assert len(entries) == len(expected) == 5
    k = LAYOUT_SIZES[layout]
    for entry, (frame, poses, i) in zip(entries, expected):
        assert set(entry) == {"image_id", "category_id", "keypoints", "score", "box", "idx"}
        assert entry["image_id"] == frame.name
        assert entry["category_id"] == 1
        triples = np.asarray(entry["keypoints"], np.float32).reshape(k, 3)
        np.testing.assert_array_equal(triples[:, :2], poses.keypoints[i])
        np.testing.assert_array_equal(triples[:, 2], poses.keypoint_scores[i])
        assert np.float32(entry["score"]) == poses.scores[i]
        x1, y1, x2, y2 = poses.xyxy[i]
        np.testing.assert_allclose(entry["box"], [x1, y1, x2 - x1, y2 - y1], rtol=1e-6)
        if tracked:
            assert entry["idx"] == int(poses.track_ids[i]) and isinstance(entry["idx"], int)
        else:
            assert entry["idx"] == [0.0]


@pytest.mark.parametrize(("name", "expected"), [
    ("000000000785.jpg", 785),
    ("COCO_val2014_000000000042.jpg", 42),
    ("12.jpg", 12),
    ("dir/sub/frame_0007.tar.png", 7),
], ids=["coco2017", "coco2014", "video-frame", "path-and-double-extension"])
def test_image_id_from_name(name: str, expected: int) -> None:
    assert image_id_from_name(name) == expected


@pytest.mark.parametrize("name", ["frame.jpg", "clip_0001a.png", "", "_.jpg"],
                         ids=["no-digits", "trailing-letter", "empty", "empty-token"])
def test_image_id_from_name_rejects(name: str) -> None:
    with pytest.raises(ValueError, match="cannot read an integer image id"):
        image_id_from_name(name)


def test_alphapose_json_eval_ids(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with AlphaPoseJsonWriter(path, eval_ids=True) as sink:
        sink.write(make_frame(0, "000000000785.jpg"), make_poses(0, 2, "coco17"))
        with pytest.raises(ValueError, match="'bad.jpg'"):
            sink.write(make_frame(1, "bad.jpg"), make_poses(1, 1, "coco17"))
    assert [e["image_id"] for e in load_alphapose_json(path)] == [785, 785]


def test_exception_inside_with_block_keeps_finished_frames(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    batches = [make_poses(10, 2), make_poses(11, 3)]
    with pytest.raises(RuntimeError, match="boom"), AlphaPoseJsonWriter(path) as sink:
        for i, poses in enumerate(batches):
            sink.write(make_frame(i), poses)
        raise RuntimeError("boom")
    entries = json.loads(path.read_text())  # closed with "]" even on the exception
    assert [e["image_id"] for e in entries] == ["0.jpg"] * 2 + ["1.jpg"] * 3
    k = 136
    for entry, (kp, sc) in zip(entries, entries_of(batches[0]) + entries_of(batches[1])):
        np.testing.assert_array_equal(np.float32(entry["keypoints"]).reshape(k, 3)[:, :2], kp)
        np.testing.assert_array_equal(np.float32(entry["keypoints"]).reshape(k, 3)[:, 2], sc)


def test_unclosed_writer_file_is_standard_json_after_each_frame(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    sink = AlphaPoseJsonWriter(path)  # used without the context manager and never exited
    counts = []
    for i, n in enumerate([2, 0, 1]):
        sink.write(make_frame(i), make_poses(20 + i, n, "halpe26"))
        counts.append(len(json.loads(path.read_text())))  # the array is closed on disk
    assert counts == [2, 2, 3]
    before = path.read_text()
    sink.close()
    assert path.read_text() == before and len(json.loads(before)) == 3


def test_killed_process_leaves_finished_frames(tmp_path: Path) -> None:
    path = tmp_path / "killed.json"
    script = textwrap.dedent(f"""
        import os
        import numpy as np
        from alphapose.structures import Frame, Poses
        from alphapose.writers import AlphaPoseJsonWriter
        sink = AlphaPoseJsonWriter({str(path)!r})
        sink.open()
        for i in range(2):
            kp = np.arange(2 * 17 * 2, dtype=np.float32).reshape(2, 17, 2) + 100 * i
            sc = np.linspace(0.1, 0.9, 34, dtype=np.float32).reshape(2, 17)
            sink.write(Frame(np.zeros((4, 4, 3), np.uint8), i, f"{{i}}.jpg"),
                       Poses(kp, sc, [[0, 0, 5, 5], [1, 1, 6, 6]], [0.5, 0.5], layout="coco17"))
        os._exit(3)  # dies without closing anything
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 3, result.stderr
    entries = json.loads(path.read_text())  # standard JSON although nothing was closed
    assert [e["image_id"] for e in entries] == ["0.jpg", "0.jpg", "1.jpg", "1.jpg"]
    expected = np.arange(68, dtype=np.float32).reshape(2, 17, 2)
    last = np.float32(entries[3]["keypoints"]).reshape(17, 3)
    np.testing.assert_array_equal(last[:, :2], expected[1] + 100)


def _cut_points(text: str) -> dict[str, tuple[int, int]]:
    """name -> (cut offset, complete entries before it), from the line structure of the file."""
    lines = text.split("\n")  # "[", entry, entry, entry, "]", ""
    starts = np.cumsum([0] + [len(line) + 1 for line in lines])
    return {
        "missing-bracket": (starts[4] - 1, 3),
        "mid-last-entry": (starts[3] + len(lines[3]) // 2, 2),
        "after-separator": (starts[1] + len(lines[1]), 1),
        "only-open-bracket": (2, 0),
        "empty-file": (0, 0),
    }


@pytest.mark.parametrize("case", ["missing-bracket", "mid-last-entry", "after-separator",
                                  "only-open-bracket", "empty-file"])
def test_load_truncated_file(tmp_path: Path, case: str) -> None:
    full = tmp_path / "full.json"
    with AlphaPoseJsonWriter(full) as sink:
        sink.write(make_frame(0), make_poses(30, 3, "coco17"))
    text = full.read_text()
    complete = json.loads(text)
    cut, n = _cut_points(text)[case]
    cut_path = tmp_path / "cut.json"
    cut_path.write_text(text[:cut])
    assert load_alphapose_json(cut_path) == complete[:n]


def test_load_rejects_non_list(tmp_path: Path) -> None:
    path = tmp_path / "open.json"
    path.write_text(json.dumps({"version": "AlphaPose v0.3", "people": []}))
    with pytest.raises(ValueError, match="expected a JSON list"):
        load_alphapose_json(path)
    path.write_text('{"people": [')
    with pytest.raises(ValueError, match="starting with"):
        load_alphapose_json(path)


def test_closed_writer_refuses_writes(tmp_path: Path) -> None:
    sink = AlphaPoseJsonWriter(tmp_path / "r.json")
    with sink:
        sink.write(make_frame(0), make_poses(0, 1))
    with pytest.raises(ValueError, match="closed"):
        sink.write(make_frame(1), make_poses(1, 1))
    assert len(load_alphapose_json(tmp_path / "r.json")) == 1


@pytest.mark.parametrize(("frame", "poses", "error"), [
    (np.zeros((4, 4, 3), np.uint8), make_poses(0, 1), TypeError),
    (make_frame(0), {"keypoints": []}, TypeError),
], ids=["array-as-frame", "dict-as-poses"])
def test_write_rejects_wrong_types(tmp_path: Path, frame: object, poses: object,
                                   error: type[Exception]) -> None:
    with AlphaPoseJsonWriter(tmp_path / "r.json") as sink, pytest.raises(error):
        sink.write(frame, poses)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# COCO results
# ------------------------------------------------------------------------------------------------

COCO_NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
              "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
              "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]


def _coco_eval(gt_path: Path, results_path: Path) -> tuple[object, float]:
    coco_module = pytest.importorskip("pycocotools.coco")
    cocoeval_module = pytest.importorskip("pycocotools.cocoeval")
    gt = coco_module.COCO(str(gt_path))
    dt = gt.loadRes(str(results_path))
    evaluator = cocoeval_module.COCOeval(gt, dt, "keypoints")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return dt, float(evaluator.stats[0])


def _poses_from_annotations(annotations: list[dict], layout: str = "coco17") -> Poses:
    """Predictions equal to the ground truth (score 1 on every keypoint)."""
    keypoints = np.array([a["keypoints"] for a in annotations], np.float32).reshape(-1, 17, 3)
    xywh = np.array([a["bbox"] for a in annotations], np.float32).reshape(-1, 4)
    xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
    poses = Poses(keypoints[..., :2], np.ones(keypoints.shape[:2]), xyxy,
                  np.ones(len(annotations)), layout="coco17")
    if layout == "coco17":
        return poses
    # Embed the 17 body points in a Halpe-136 pose (its first 17 points are COCO's).
    k = LAYOUT_SIZES[layout]
    kp = np.zeros((len(poses), k, 2), np.float32)
    kp[:, :17] = poses.keypoints
    sc = np.full((len(poses), k), 0.5, np.float32)
    sc[:, :17] = 1.0
    return Poses(kp, sc, poses.xyxy, poses.box_scores, layout=layout)


@pytest.mark.parametrize("layout", ["coco17", "halpe136"], ids=["coco17", "halpe136-converted"])
def test_coco_results_load_and_score_perfectly(tmp_path: Path, layout: str) -> None:
    rng = np.random.default_rng(5)
    images = [("000000000785.jpg", 785), ("COCO_val2014_000000000042.jpg", 42)]
    annotations = []
    for image_index, (_, image_id) in enumerate(images):
        for person in range(2):
            xy = rng.uniform(50, 400, (17, 2)).round(1)
            lo, hi = xy.min(0), xy.max(0)
            annotations.append({
                "id": 10 * image_index + person + 1, "image_id": image_id, "category_id": 1,
                "keypoints": np.concatenate([xy, np.full((17, 1), 2.0)], 1).ravel().tolist(),
                "num_keypoints": 17, "iscrowd": 0,
                "bbox": [*lo.tolist(), *(hi - lo).tolist()], "area": float(np.prod(hi - lo)),
            })
    gt = {"images": [{"id": i, "file_name": n, "width": 640, "height": 480} for n, i in images],
          "annotations": annotations,
          "categories": [{"id": 1, "name": "person", "keypoints": COCO_NAMES, "skeleton": []}]}
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(gt))

    results_path = tmp_path / "coco-results.json"
    with CocoResultsWriter(results_path, layout="coco17" if layout != "coco17" else None) as sink:
        for index, (name, image_id) in enumerate(images):
            mine = [a for a in annotations if a["image_id"] == image_id]
            sink.write(make_frame(index, name), _poses_from_annotations(mine, layout))

    entries = json.loads(results_path.read_text())
    assert [set(e) for e in entries] == [{"image_id", "category_id", "keypoints", "score"}] * 4
    assert [e["image_id"] for e in entries] == [785, 785, 42, 42]
    assert all(len(e["keypoints"]) == 51 and e["category_id"] == 1 for e in entries)
    dt, ap = _coco_eval(gt_path, results_path)
    assert sorted(dt.getImgIds()) == [42, 785]
    assert ap == pytest.approx(1.0)


def test_coco_results_on_real_annotation_file(tmp_path: Path) -> None:
    gt_path = DATA / "mmpose" / "coco" / "test_coco.json"
    if not gt_path.exists():
        pytest.skip(f"shared test data not found at {gt_path}")
    gt = json.loads(gt_path.read_text())
    results_path = tmp_path / "coco-results.json"
    with CocoResultsWriter(results_path) as sink:
        for index, image in enumerate(gt["images"]):
            mine = [a for a in gt["annotations"] if a["image_id"] == image["id"]
                    and a["num_keypoints"] > 0 and not a["iscrowd"]]
            sink.write(make_frame(index, image["file_name"]), _poses_from_annotations(mine))
    entries = load_alphapose_json(results_path)
    # image ids come from the real file names, e.g. 000000000785.jpg -> 785
    assert {e["image_id"] for e in entries} <= {im["id"] for im in gt["images"]}
    assert 785 in {e["image_id"] for e in entries}
    _, ap = _coco_eval(gt_path, results_path)
    assert ap == pytest.approx(1.0)


def test_coco_results_reject_unparseable_name(tmp_path: Path) -> None:
    with (CocoResultsWriter(tmp_path / "c.json") as sink,
          pytest.raises(ValueError, match=r"'left_view\.jpg'.*e\.g\.")):
        sink.write(make_frame(0, "left_view.jpg"), make_poses(0, 1, "coco17"))


# ------------------------------------------------------------------------------------------------
# OpenPose
# ------------------------------------------------------------------------------------------------

# BODY_25 slot -> source index, written out from the layout tables (None = shoulder/hip midpoint).
BODY25_FROM_HALPE = [0, 18, 6, 8, 10, 5, 7, 9, 19, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3,
                     20, 22, 24, 21, 23, 25]
BODY25_FROM_WHOLEBODY = [0, None, 6, 8, 10, 5, 7, 9, None, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3,
                         17, 18, 19, 20, 21, 22]
# The official --format open flat offsets; /3 gives keypoint indices, 17 = the appended neck.
OFFICIAL_OPEN_OFFSETS = [0, 51, 18, 24, 30, 15, 21, 27, 36, 42, 48, 33, 39, 45, 6, 3, 12, 9]
FACE_START = {"halpe136": 26, "coco_wholebody133": 23}
HAND_START = {"halpe136": (94, 115), "coco_wholebody133": (91, 112)}


def _expected_body(layout: str, kp: np.ndarray, sc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if layout == "coco17":
        kp = np.concatenate([kp, (kp[5:6] + kp[6:7]) / 2])
        sc = np.concatenate([sc, [(sc[5] + sc[6]) / 2]])
        index = [o // 3 for o in OFFICIAL_OPEN_OFFSETS]
        return kp[index], sc[index]
    table = BODY25_FROM_HALPE if layout.startswith("halpe") else BODY25_FROM_WHOLEBODY
    xy, s = np.zeros((25, 2)), np.zeros(25)
    for slot, source in enumerate(table):
        if source is None:  # neck (slot 1) from shoulders, mid-hip (slot 8) from hips
            a, b = (5, 6) if slot == 1 else (11, 12)
            xy[slot], s[slot] = (kp[a] + kp[b]) / 2, min(sc[a], sc[b])
        else:
            xy[slot], s[slot] = kp[source], sc[source]
    return xy, s


@pytest.mark.parametrize("layout", list(LAYOUT_SIZES), ids=list(LAYOUT_SIZES))
def test_openpose_json(tmp_path: Path, layout: str) -> None:
    poses = make_poses(40, 3, layout)
    poses.track_ids[1] = 7  # type: ignore[index]
    with OpenPoseWriter(tmp_path / "op") as sink:
        sink.write(make_frame(0, "clip_0001.png"), poses)
        sink.write(make_frame(1, "empty.jpg"), make_poses(41, 0, layout))

    assert json.loads((tmp_path / "op" / "empty_keypoints.json").read_text()) == {
        "version": 1.3, "people": []}
    document = json.loads((tmp_path / "op" / "clip_0001_keypoints.json").read_text())
    assert document["version"] == 1.3
    people = document["people"]
    assert [p["person_id"] for p in people] == [[-1], [7], [-1]]
    has_face = layout in FACE_START
    for i, person in enumerate(people):
        assert set(person) == {"person_id", "pose_keypoints_2d", "face_keypoints_2d",
                               "hand_left_keypoints_2d", "hand_right_keypoints_2d",
                               "pose_keypoints_3d", "face_keypoints_3d",
                               "hand_left_keypoints_3d", "hand_right_keypoints_3d"}
        assert len(person["pose_keypoints_2d"]) == (18 if layout == "coco17" else 25) * 3
        assert len(person["face_keypoints_2d"]) == (70 * 3 if has_face else 0)
        assert len(person["hand_left_keypoints_2d"]) == (21 * 3 if has_face else 0)
        assert len(person["hand_right_keypoints_2d"]) == (21 * 3 if has_face else 0)
        assert person["pose_keypoints_3d"] == []

        kp = poses.keypoints[i].astype(np.float64)
        sc = poses.keypoint_scores[i].astype(np.float64)
        body = np.reshape(person["pose_keypoints_2d"], (-1, 3))
        xy, s = _expected_body(layout, kp, sc)
        np.testing.assert_allclose(body[:, :2], xy, rtol=1e-6)
        np.testing.assert_allclose(body[:, 2], s, rtol=1e-6)
        # the neck sits at slot 1 in both orders
        if layout != "halpe26" and layout != "halpe136":
            np.testing.assert_allclose(body[1, :2], (kp[5] + kp[6]) / 2, rtol=1e-6)
        if has_face:
            f0 = FACE_START[layout]
            face = np.reshape(person["face_keypoints_2d"], (70, 3))
            np.testing.assert_allclose(face[:68, :2], kp[f0:f0 + 68], rtol=1e-6)
            np.testing.assert_allclose(face[68, :2], kp[f0 + 36:f0 + 42].mean(0), rtol=1e-5)
            np.testing.assert_allclose(face[69, :2], kp[f0 + 42:f0 + 48].mean(0), rtol=1e-5)
            np.testing.assert_allclose(face[68, 2], sc[f0 + 36:f0 + 42].min(), rtol=1e-6)
            np.testing.assert_allclose(face[69, 2], sc[f0 + 42:f0 + 48].min(), rtol=1e-6)
            for key, start in zip(("hand_left_keypoints_2d", "hand_right_keypoints_2d"),
                                  HAND_START[layout]):
                hand = np.reshape(person[key], (21, 3))
                np.testing.assert_allclose(hand[:, :2], kp[start:start + 21], rtol=1e-6)
                np.testing.assert_allclose(hand[:, 2], sc[start:start + 21], rtol=1e-6)


# ------------------------------------------------------------------------------------------------
# JSON lines
# ------------------------------------------------------------------------------------------------


def test_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    batches = [make_poses(50, 2, "halpe26", tracked=True), make_poses(51, 0, "halpe26"),
               make_poses(52, 1, "halpe26")]
    frames = [Frame(np.zeros((4, 4, 3), np.uint8), i, f"{i}.jpg", timestamp=i / 25)
              for i in range(3)]
    with JsonLinesWriter(path) as sink:
        for frame, poses in zip(frames, batches):
            sink.write(frame, poses)

    lines = path.read_text().splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert records == load_json_lines(path)
    for record, frame, poses in zip(records, frames, batches):
        assert record["frame"] == frame.index and record["image_id"] == frame.name
        assert record["timestamp"] == pytest.approx(frame.timestamp)
        assert record["layout"] == "halpe26"
        assert len(record["people"]) == len(poses)
        for i, person in enumerate(record["people"]):
            keypoints = np.asarray(person["keypoints"], np.float32)
            assert keypoints.shape == (26, 3)
            np.testing.assert_array_equal(keypoints[:, :2], poses.keypoints[i])
            np.testing.assert_array_equal(keypoints[:, 2], poses.keypoint_scores[i])
            np.testing.assert_array_equal(np.float32(person["box"]), poses.xyxy[i])
            assert np.float32(person["box_score"]) == poses.box_scores[i]
            assert np.float32(person["score"]) == poses.scores[i]
            assert person["track_id"] == int(poses.track_ids[i])

    path.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])
    assert load_json_lines(path) == records[:2]
    path.write_text("{broken\n" + lines[0] + "\n")
    with pytest.raises(ValueError, match="line 1"):
        load_json_lines(path)


# ------------------------------------------------------------------------------------------------
# images and video
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".mp4", ".avi"], ids=["mp4", "avi"])
def test_video_writer_frames_read_back(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "sub" / f"out{suffix}"
    colors = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (128, 128, 128), (230, 230, 40)]
    with VideoWriter(path, fps=10.0, frame_size=(96, 64), render=None) as sink:
        for i, color in enumerate(colors):
            frame = Frame(np.full((64, 96, 3), color, np.uint8), i, f"{i}.jpg")
            sink.write(frame, make_poses(i, 1, "coco17", size=(96, 64)))
    assert sink.frames_written == len(colors)

    capture = cv2.VideoCapture(str(path))
    read = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        read.append(image)
    capture.release()
    assert len(read) == len(colors)
    for image, color in zip(read, colors):
        assert image.shape == (64, 96, 3)
        np.testing.assert_allclose(image.reshape(-1, 3).mean(0), color, atol=12)


def test_video_writer_takes_size_from_first_frame_and_renders(tmp_path: Path) -> None:
    path = tmp_path / "lazy.avi"
    poses = make_poses(3, 2, "halpe26", size=(80, 60))
    with VideoWriter(path, fps=5.0) as sink:
        for i in range(3):
            sink.write(Frame(np.zeros((60, 80, 3), np.uint8), i, f"{i}.jpg"), poses)
        with pytest.raises(ValueError, match="does not match"):
            sink.write_image(np.zeros((61, 80, 3), np.uint8))
    assert sink.frame_size == (80, 60)
    capture = cv2.VideoCapture(str(path))
    ok, image = capture.read()
    capture.release()
    assert ok and image.max() > 100  # skeletons were drawn on the black frames


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"path": "out.gif", "fps": 10.0}, "unsupported video extension"),
    ({"path": "out.mp4", "fps": 0.0}, "fps"),
    ({"path": "out.mp4", "fps": 10.0, "frame_size": (0, 5)}, "frame_size"),
    ({"path": "out.mp4", "fps": 10.0, "fourcc": "h264x"}, "fourcc"),
], ids=["extension", "fps", "frame-size", "fourcc"])
def test_video_writer_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VideoWriter(**kwargs)


def test_video_writer_error_names_path_when_nothing_opens(tmp_path: Path) -> None:
    path = tmp_path / "taken.mp4"
    path.mkdir()  # a directory where the video should go
    with pytest.raises(OSError, match="taken.mp4"), VideoWriter(path, 10.0, (32, 32)):
        pass


def test_image_writer(tmp_path: Path) -> None:
    image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    original = image.copy()
    poses = make_poses(8, 2, "coco17", size=(64, 48))
    with ImageWriter(tmp_path / "raw", render=None) as raw, \
            ImageWriter(tmp_path / "vis", render=RenderOptions(draw_boxes=True)) as vis:
        for sink in (raw, vis):
            sink.write(Frame(image, 0, "a.png"), poses)
            sink.write(Frame(image, 1, "noext"), poses)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "raw" / "a.png")), image)
    assert (tmp_path / "raw" / "noext.jpg").exists()
    rendered = cv2.imread(str(tmp_path / "vis" / "a.png"))
    assert (rendered != image).any()
    np.testing.assert_array_equal(image, original)  # the frame itself is untouched
    assert sorted(p.name for p in (tmp_path / "vis").iterdir()) == ["a.png", "noext.jpg"]


# ------------------------------------------------------------------------------------------------
# combining
# ------------------------------------------------------------------------------------------------


def test_multi_writer_writes_everywhere_and_closes_on_error(tmp_path: Path) -> None:
    poses = make_poses(60, 2, "halpe136", size=(64, 48))
    formats = ["alphapose", "coco", "openpose", "jsonl", "images", "video"]
    with pytest.raises(KeyboardInterrupt), make_writers(tmp_path, formats, fps=5.0) as sink:
        assert isinstance(sink, MultiWriter) and len(sink) == 6
        for i in range(2):
            sink.write(make_frame(i, f"{i:012d}.jpg"), poses)
        raise KeyboardInterrupt
    assert len(json.loads((tmp_path / "alphapose-results.json").read_text())) == 4
    assert len(json.loads((tmp_path / "coco-results.json").read_text())) == 4
    assert len(load_json_lines(tmp_path / "alphapose-results.jsonl")) == 2
    assert len(list((tmp_path / "openpose").glob("*_keypoints.json"))) == 2
    assert len(list((tmp_path / "vis").glob("*.jpg"))) == 2
    capture = cv2.VideoCapture(str(tmp_path / "AlphaPose.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 2
    capture.release()


def test_multi_writer_rejects_non_sinks() -> None:
    with pytest.raises(TypeError, match="not a sink"):
        MultiWriter([object()])  # type: ignore[list-item]


@pytest.mark.parametrize(("formats", "match"), [
    (["alphapose", "csv"], "unknown"),
    (["jsonl", "jsonl"], "more than once"),
], ids=["unknown", "repeated"])
def test_make_writers_rejects(tmp_path: Path, formats: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_writers(tmp_path, formats)
    assert list(tmp_path.iterdir()) == []
