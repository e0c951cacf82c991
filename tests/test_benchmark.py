"""``alphapose bench`` and the figures of :mod:`alphapose.benchmark` on a short real video."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from alphapose.benchmark import (
    RunStats,
    build_default,
    calibrate,
    measure,
    pipeline_models,
    video_loops,
)
from alphapose.cli import main


def stats(wall: float, slots: int, model_seconds: float, cpu: float) -> RunStats:
    return RunStats(label="x", frames=10, persons=25, wall=wall, stage_ms={},
                    invocations={"m": 4}, invoke_seconds={"m": 2 * cpu},
                    invoke_cpu_seconds={"m": cpu}, model_seconds=model_seconds, slots=slots,
                    peak_rss_mb=1.0)


@pytest.mark.parametrize(("wall", "slots", "model", "expected"),
                         [(2.0, 1, 1.0, 0.5), (2.0, 2, 3.0, 0.75), (0.5, 2, 1.0, 1.0)],
                         ids=["one-slot", "two-slots", "all-busy"])
def test_efficiency_is_model_time_over_wall_times_slots(wall, slots, model, expected) -> None:
    run = stats(wall, slots, model, cpu=0.8)
    assert run.efficiency == pytest.approx(expected)
    assert run.fps == pytest.approx(10 / wall) and run.persons_per_s == pytest.approx(25 / wall)
    assert run.invoke_cpu_share == pytest.approx(0.8 / wall)
    assert run.raw_invoke_share == pytest.approx(1.6 / wall)


@pytest.fixture(scope="module")
def walking_video(tmp_path_factory, astronaut_bgr):
    """Six 400x512 frames of the astronaut moving right by 4 px per frame (MJPG AVI)."""
    path = tmp_path_factory.mktemp("video") / "astronaut.avi"
    image = np.ascontiguousarray(astronaut_bgr[:, 56:456])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10,
                             (image.shape[1], image.shape[0]))
    for i in range(6):
        writer.write(np.roll(image, 4 * i, axis=1))
    writer.release()
    return path


@pytest.mark.models
@pytest.mark.parametrize("sp", [True, False], ids=["sp", "concurrent"])
def test_measure_counts_every_invoke_of_detector_and_workers(embedded_models, walking_video,
                                                              tmp_path, sp) -> None:
    pipeline = build_default(threads=1, sp=sp, detect_every=3, workers=2)
    models = pipeline_models(pipeline)
    # detector + body + hand + face, plus the second worker's body/hand/face when concurrent
    assert len(models) == (4 if sp else 7)
    costs = calibrate(models, repeats=3)
    run = measure(pipeline, video_loops(walking_video), "t", tmp_path / "o.json", costs)
    assert run.frames == 6 and run.persons >= 6  # the astronaut on every frame
    detector_invokes = sum(n for k, n in run.invocations.items()
                           if k.startswith("pose_detection"))
    assert detector_invokes >= 2  # the detector ran on frames 0 and 3
    assert run.model_seconds == pytest.approx(
        sum(run.invocations[k] * costs[k] for k in costs))
    assert run.slots == (1 if sp else 2)
    assert 0 < run.efficiency <= 1.5
    # CPU time inside invokes cannot exceed their wall time (beyond clock granularity)
    assert 0 < run.invoke_cpu_share <= 1.02 * run.raw_invoke_share + 1e-3
    assert (tmp_path / "o.json").is_file()
    if not sp:  # both workers ran tasks; their CPU seconds are in the stage times
        assert sum(n for k, n in run.invocations.items() if k.endswith("@worker1")) > 0
        assert run.stage_ms["cpu:workers"] > 0


@pytest.mark.slow
@pytest.mark.models
def test_bench_command_prints_both_runs_and_the_summary(embedded_models, walking_video,
                                                        capsys) -> None:
    assert main(["bench", str(walking_video), "--frames", "4", "--workers", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "--sp" in lines[0] and "2 worker(s)" in lines[1]
    summary = dict(item.split("=") for item in lines[-1].split())
    assert set(summary) == {"fps", "efficiency", "speedup_vs_sp"}
    assert float(summary["fps"]) > 0


def test_bench_command_reports_a_missing_video(tmp_path, capsys) -> None:
    assert main(["bench", str(tmp_path / "none.mp4")]) == 2
    assert "none.mp4" in capsys.readouterr().err
