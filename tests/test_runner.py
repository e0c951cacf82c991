"""The library runner (alphapose.runner) without the CLI, and Pipeline.run on a path."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from alphapose.formats import load_alphapose_json, load_json_lines
from alphapose.pipeline import Pipeline, RunOptions
from alphapose.runner import DONE_MARKER, OutputLocked, OutputOptions, run_paths
from alphapose.structures import Detections, Poses


class BrightBox:
    """One box at x = the image's mean brightness (so each frame's result is known)."""

    def __call__(self, image: np.ndarray) -> Detections:
        x = float(image.mean())
        return Detections(np.array([[x, 4.0, x + 20.0, 40.0]]), np.array([0.9]))


class BoxPose:
    """17 keypoints spread down each box."""

    layout = "coco17"

    def __call__(self, image: np.ndarray, detections: Detections) -> Poses:
        steps = np.linspace(0, 1, 17)[None, :, None]
        top, bottom = detections.xyxy[:, None, :2], detections.xyxy[:, None, 2:]
        keypoints = top + (bottom - top) * steps
        return Poses(keypoints.astype(np.float32), np.full(keypoints.shape[:2], 0.8),
                     detections.xyxy, detections.scores, layout=self.layout)


def pipeline(sp: bool = True) -> Pipeline:
    return Pipeline(BrightBox(), BoxPose(), pose_nms="none", low_light=False,
                    run=RunOptions(sp=sp))


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for value in (60, 90):
        cv2.imwrite(str(folder / f"{value}.png"), np.full((48, 64, 3), value, np.uint8))
    video = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10,
                            (64, 48))
    for value in (30, 40, 50):
        video.write(np.full((48, 64, 3), value, np.uint8))
    video.release()
    return tmp_path


def test_pipeline_runs_a_path(inputs: Path) -> None:
    frames = [(frame.index, round(float(poses.xyxy[0, 0]))) for frame, poses
              in pipeline().run(inputs / "clip.avi")]
    assert [index for index, _ in frames] == [0, 1, 2]
    # MJPG is lossy: each frame's box sits near its own brightness
    assert [abs(x - v) <= 2 for (_, x), v in zip(frames, (30, 40, 50), strict=True)] == [True] * 3
    images = [(frame.name, poses.xyxy[0, 0]) for frame, poses in pipeline(sp=False).run(
        str(inputs / "in"))]
    assert images == [("60.png", 60.0), ("90.png", 90.0)]


def test_run_paths_streams_results_and_marks_videos_done(inputs: Path) -> None:
    out = inputs / "out"
    output = OutputOptions(formats=("alphapose", "jsonl"), save_img=True, save_video=True,
                           record={"what": 1}, progress=False)
    summary = run_paths(pipeline(), [str(inputs / "in"), str(inputs / "clip.avi")], out, output)
    assert (summary.frames, summary.persons, summary.status) == (5, 5, 0)
    # with a video among several sources, the video gets its own folder (named by its stem)
    images = load_alphapose_json(out / "alphapose-results.json")
    assert sorted(r["image_id"] for r in images) == ["60.png", "90.png"]
    clip = out / "clip"
    assert [r["frame"] for r in load_json_lines(clip / "alphapose-results.jsonl")] == [0, 1, 2]
    assert sorted(p.name for p in (out / "vis").iterdir()) == ["60.png", "90.png"]
    assert sorted(p.name for p in (clip / "vis").iterdir()) == [
        "clip_0.jpg", "clip_1.jpg", "clip_2.jpg"]
    video = cv2.VideoCapture(str(clip / "AlphaPose_clip.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    video.release()
    marker = json.loads((clip / DONE_MARKER).read_text())
    assert marker["options"] == {"what": 1} and marker["video"].endswith("clip.avi")
    assert not (out / DONE_MARKER).exists()  # images are not a video job
    out = clip
    # resume skips the finished video with the same record, redoes it with another
    again = run_paths(pipeline(), [str(inputs / "clip.avi")], out,
                      OutputOptions(resume=True, record={"what": 1}, progress=False))
    assert again.skipped == ["clip.avi"] or again.skipped[0].endswith("clip.avi")
    assert again.frames == 0
    redo = run_paths(pipeline(), [str(inputs / "clip.avi")], out,
                     OutputOptions(resume=True, record={"what": 2}, progress=False))
    assert redo.frames == 3 and not redo.skipped


def test_bad_inputs_are_in_the_summary_not_raised(inputs: Path) -> None:
    (inputs / "in" / "broken.png").write_bytes(b"not an image")
    summary = run_paths(pipeline(), [str(inputs / "in"), str(inputs / "missing.mp4")],
                        inputs / "out", OutputOptions(progress=False))
    assert summary.frames == 2 and summary.status == 1
    labels = " ".join(str(e) for e in summary.errors)
    assert "broken.png" in labels and "missing.mp4" in labels


def test_a_second_run_on_the_same_folder_is_refused(inputs: Path) -> None:
    from contextlib import ExitStack

    from alphapose.runner import lock_outdir

    with ExitStack() as held:
        lock_outdir(inputs / "out", held)
        with pytest.raises(OutputLocked, match="another alphapose run"):
            run_paths(pipeline(), [str(inputs / "in")], inputs / "out",
                      OutputOptions(progress=False))
