"""``alphapose run --ray``: video jobs, the install hint, and Ray results equal to local runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from alphapose.cli import build_parser, main
from alphapose.distributed import RAY_HINT, require_ray, video_jobs

#: Ray clusters: `make test` runs them, `make quick` does not
pytestmark = pytest.mark.slow


def write_video(path: Path, image: np.ndarray, frames: int, shift: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (256, 256))
    for i in range(frames):
        writer.write(cv2.resize(np.roll(image, shift * i, axis=1), (256, 256)))
    writer.release()


def two_videos(folder: Path, image: np.ndarray) -> Path:
    """``folder`` with a.avi and b.avi: 3 frames each, the image and its mirror moving."""
    folder.mkdir()
    write_video(folder / "a.avi", image, 3, 3)
    write_video(folder / "b.avi", image[:, ::-1], 3, -3)
    return folder


def change_video(path: Path, image: np.ndarray, newer_than: Path) -> None:
    """Rewrite ``path`` with other frames and a modification time after ``newer_than``'s."""
    import os

    write_video(path, image, 3, 5)
    os.utime(path, ns=(0, newer_than.stat().st_mtime_ns + 10**9))


def test_missing_ray_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an absent package looks like
    with pytest.raises(ImportError, match=RAY_HINT.replace("[", r"\[").replace("]", r"\]")):
        require_ray()


def test_video_jobs_expand_folders_and_keep_names_apart(tmp_path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for name in ("a/walk.mp4", "a/run.avi", "a/notes.txt", "b/walk.mp4"):
        (tmp_path / name).write_bytes(b"")
    jobs = video_jobs([str(tmp_path / "a"), str(tmp_path / "b" / "walk.mp4")], tmp_path / "out")
    assert [(j.video.name, j.outdir.name) for j in jobs] == [
        ("run.avi", "run"), ("walk.mp4", "walk"), ("walk.mp4", "walk_2")]
    with pytest.raises(ValueError, match="notes.txt"):
        video_jobs([str(tmp_path / "a" / "notes.txt")], tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no videos"):
        video_jobs([str(tmp_path / "empty")], tmp_path / "out")


def test_ray_option_takes_a_folder_as_input_not_as_an_address(tmp_path) -> None:
    args = build_parser().parse_args(["run", "--ray", str(tmp_path), "-o", "x"])
    assert args.ray == str(tmp_path) and args.inputs == []  # run() moves it to the inputs
    args = build_parser().parse_args(["run", "--ray=10.0.0.1:6379", str(tmp_path)])
    assert args.ray == "10.0.0.1:6379" and args.inputs == [str(tmp_path)]


@pytest.mark.models
def test_two_videos_on_a_local_ray_cluster_equal_local_runs(tmp_path, astronaut_bgr,
                                                            embedded_models, capsys) -> None:
    pytest.importorskip("ray", reason=f"Ray is an optional extra: {RAY_HINT}")
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "left.avi", astronaut_bgr, 4, 3)
    write_video(videos / "right.avi", astronaut_bgr[:, ::-1], 4, -4)
    (videos / "broken.avi").write_bytes(b"RIFF not a video" * 4)
    for name in ("left", "right"):
        assert main(["run", str(videos / f"{name}.avi"), "-o", str(tmp_path / "local" / name),
                     "--quiet", "--detect-every", "2"]) == 0
    capsys.readouterr()
    # the broken video fails, is tried once more, and is reported; the others are done
    assert main(["run", "--ray", str(videos), "--ray-cpus", "2", "-o", str(tmp_path / "ray"),
                 "--quiet", "--detect-every", "2"]) == 1
    err = capsys.readouterr().err
    assert "2 of 3 videos done" in err
    assert "broken.avi: failed 2 times" in err
    for name in ("left", "right"):
        local = json.loads((tmp_path / "local" / name / "alphapose-results.json").read_text())
        remote = json.loads((tmp_path / "ray" / name / "alphapose-results.json").read_text())
        assert len(local) >= 4  # the astronaut on every frame
        assert remote == local


def test_done_marker_matches_only_the_same_video_file(tmp_path) -> None:
    import os

    from alphapose.distributed import DONE_MARKER, VideoJob, is_done, mark_done

    video = tmp_path / "walk.mp4"
    video.write_bytes(b"x" * 100)
    job = VideoJob(video, tmp_path / "out" / "walk")
    job.outdir.mkdir(parents=True)
    assert not is_done(job)  # no marker
    mark_done(job)
    assert is_done(job) and json.loads((job.outdir / DONE_MARKER).read_text())["bytes"] == 100
    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the file was replaced
    assert not is_done(job)
    mark_done(job)
    video.write_bytes(b"y" * 101)
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # same time, other size
    assert not is_done(job)
    (job.outdir / DONE_MARKER).write_text("{not json")
    assert not is_done(job)


@pytest.mark.models
def test_resume_skips_finished_videos_and_redoes_changed_ones(tmp_path, astronaut_bgr,
                                                              embedded_models, capsys) -> None:
    pytest.importorskip("ray", reason=f"Ray is an optional extra: {RAY_HINT}")
    videos = two_videos(tmp_path / "videos", astronaut_bgr)
    argv = ["run", "--ray", str(videos), "--ray-cpus", "2", "-o", str(tmp_path / "out"),
            "--quiet", "--resume"]
    assert main(argv) == 0
    results = {n: tmp_path / "out" / n / "alphapose-results.json" for n in ("a", "b")}
    first = {n: (p.stat().st_mtime_ns, p.read_text()) for n, p in results.items()}
    capsys.readouterr()
    # b.avi changes: only it is run again; a.avi's results are left as they were
    change_video(videos / "b.avi", astronaut_bgr, newer_than=videos / "a.avi")
    assert main(argv) == 0
    assert "2 of 2 videos done (1 by an earlier run)" in capsys.readouterr().err
    assert results["a"].stat().st_mtime_ns == first["a"][0]
    assert results["b"].stat().st_mtime_ns != first["b"][0]
    assert json.loads(results["b"].read_text()) != json.loads(first["b"][1])


@pytest.mark.models
def test_local_runs_mark_finished_videos_and_resume_skips_them(tmp_path, astronaut_bgr,
                                                               embedded_models, capsys) -> None:
    from alphapose.distributed import DONE_MARKER

    videos = two_videos(tmp_path / "videos", astronaut_bgr)
    out = tmp_path / "out"
    argv = ["run", str(videos), "-o", str(out), "--quiet"]
    assert main(argv) == 0
    results = {n: out / n / "alphapose-results.json" for n in ("a", "b")}
    assert all((out / n / DONE_MARKER).is_file() for n in ("a", "b"))
    assert all(json.loads(p.read_text()) for p in results.values())  # complete JSON
    before = {n: p.stat().st_mtime_ns for n, p in results.items()}
    capsys.readouterr()
    # b.avi changes: only it is run again
    change_video(videos / "b.avi", astronaut_bgr, newer_than=videos / "a.avi")
    assert main([*argv, "--resume"]) == 0
    assert "1 video(s) done by an earlier run, skipped" in capsys.readouterr().err
    assert results["a"].stat().st_mtime_ns == before["a"]
    assert results["b"].stat().st_mtime_ns != before["b"]
    # without --resume everything runs again
    assert main(argv) == 0 and results["a"].stat().st_mtime_ns != before["a"]
