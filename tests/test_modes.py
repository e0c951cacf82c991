"""Accuracy presets (alphapose.modes): the table, the per-pass body models, and each mode built
and run on one real image; explicit options override a mode."""

from __future__ import annotations

import numpy as np
import pytest

from alphapose.cli import _apply_mode, build_parser, output_options
from alphapose.estimators.blaze import BlazeWholeBodyConfig
from alphapose.modes import DEFAULT_MODE, MODES, estimator_config, get_mode


@pytest.fixture(scope="session")
def pose_models(embedded_models) -> None:
    """BlazePose lite and heavy (the @mediapipe/pose npm package), or skip."""
    from alphapose.weights import get_model_file

    try:
        get_model_file("blaze-pose-lite")
        get_model_file("blaze-pose-heavy")
    except RuntimeError as error:
        pytest.skip(f"@mediapipe/pose models unavailable: {error}")


def test_modes_table() -> None:
    assert list(MODES) == ["lightweight", "balanced", "performance"]
    assert DEFAULT_MODE == "balanced"
    assert get_mode("performance") is MODES["performance"]
    with pytest.raises(ValueError, match="lightweight"):
        get_mode("fast")


def test_balanced_is_todays_default() -> None:
    """balanced keeps the settings the estimator had before modes (the defaults)."""
    # refine_hands True and "landmarks" are the same setting (a second hand pass); on video
    # the mode adds the fast path (stills unchanged), and BlazePose-heavy where two people
    # have one head
    assert estimator_config("balanced") == BlazeWholeBodyConfig(
        refine_hands="landmarks", fast_video=True, conflict_body_model="heavy")
    balanced = get_mode("balanced")
    assert (balanced.detector, balanced.tiles) == (None, "auto")


@pytest.mark.parametrize("name", list(MODES))
def test_estimator_config_follows_the_table(name: str) -> None:
    mode = get_mode(name)
    config = estimator_config(name)
    assert config.body_models == mode.body_models
    assert config.passes == mode.passes
    assert config.tracking_body_model == mode.tracking_body_model
    assert config.hand_model == mode.hand_model
    assert config.refine_hands == mode.hand_refine
    assert config.refine_face == mode.refine_face
    assert config.conflict_body_model == mode.conflict_body_model
    assert config.conflict_placing_model == mode.conflict_placing_model
    assert config.hand_crop_forearm == mode.hand_crop_forearm


def test_estimator_config_overrides() -> None:
    config = estimator_config("performance", hand_model="lite", face=False)
    assert config.hand_model == "lite" and config.face is False
    assert config.body_models == ("heavy",)


@pytest.mark.parametrize("models, passes, expected", [
    (("full",), 2, ["full", "full"]),
    (("full", "heavy"), 2, ["full", "heavy"]),
    (("full", "heavy"), 3, ["full", "full", "heavy"]),   # a box's extra placing pass
    (("full", "heavy"), 1, ["heavy"]),                   # a tracked person: the last pass
    (("lite", "full", "heavy"), 3, ["lite", "full", "heavy"]),
    (("lite", "full", "heavy"), 4, ["lite", "full", "full", "heavy"]),
], ids=["one-name", "heavy-refines", "box-path", "single-pass", "three", "three-box"])
def test_pass_models(models, passes, expected) -> None:
    config = BlazeWholeBodyConfig(body_models=models, passes=len(models) if len(models) > 1
                                  else 2)
    assert config.pass_models(passes) == expected


@pytest.mark.parametrize("settings, message", [
    ({"body_models": ("full", "heavy"), "passes": 3}, "expected 1 or passes"),
    ({"body_models": ("huge",)}, "not one of"),
    ({"tracking_body_model": "huge"}, "not one of"),
], ids=["length", "name", "tracking-name"])
def test_body_models_are_checked(settings, message) -> None:
    with pytest.raises(ValueError, match=message):
        BlazeWholeBodyConfig(**settings)


def test_one_name_for_every_pass() -> None:
    assert BlazeWholeBodyConfig(body_models="heavy").body_models == ("heavy",)


def _args(*argv: str):
    args = build_parser().parse_args(["run", "in.jpg", *argv])
    _apply_mode(args)
    return args


@pytest.mark.parametrize("name", list(MODES))
def test_cli_mode_fills_the_options(name: str) -> None:
    mode = get_mode(name)
    args = _args("--mode", name)
    assert (args.hand_model, args.hand_refine, args.tiles) == \
        (mode.hand_model, mode.hand_refine, mode.tiles)
    assert args.detector == mode.detector
    assert output_options(args)["mode"] == name


def test_performance_mode_flips() -> None:
    """performance runs the flip test on the last body pass (bench/accuracy.py --mode
    performance: whole body 0.381 -> 0.463 end to end); the CLI follows the mode and --flip
    turns it on in any mode."""
    assert estimator_config("performance").flip and not estimator_config("balanced").flip
    assert _args("--mode", "performance").flip is True
    assert _args("--mode", "balanced").flip is False
    assert _args("--mode", "lightweight", "--flip").flip is True
    assert output_options(_args("--mode", "performance"))["flip"] is True


def test_cli_explicit_options_override_the_mode() -> None:
    args = _args("--mode", "lightweight", "--hand-model", "full", "--hand-refine", "landmarks",
                 "--tiles", "auto", "--detector", "fused")
    assert (args.hand_model, args.hand_refine, args.tiles, args.detector) == \
        ("full", "landmarks", "auto", "fused")
    # a detection file is not replaced by the mode's detector
    assert _args("--mode", "lightweight", "--detfile", "boxes.json").detector is None
    options = output_options(_args("--mode", "performance", "--hand-model", "lite"))
    assert (options["mode"], options["hand_model"], options["hand_refine"]) == \
        ("performance", "lite", "ensemble")


def test_cli_default_is_balanced() -> None:
    args = _args()
    assert args.mode == "balanced"
    assert (args.hand_model, args.hand_refine, args.tiles, args.detector) == \
        ("lite", "landmarks", "auto", None)


@pytest.mark.parametrize("name", list(MODES))
def test_mode_builds_and_runs(name: str, pose_models, nanodet_model, astronaut_bgr) -> None:
    """Each mode's pipeline, as the table says, on the astronaut photograph (one person, face
    near (220, 125) in the 512 x 512 image: the three modes put it at
    (219, 125), (218, 134), (224, 120))."""
    from alphapose.detection.blaze import BlazePersonDetector
    from alphapose.detection.fused import FusedDetector
    from alphapose.pipeline import Pipeline, RunOptions

    mode = get_mode(name)
    pipeline = Pipeline(mode=name, run=RunOptions(sp=True))
    assert pipeline.mode == name
    expected = BlazePersonDetector if mode.detector == "blaze" else FusedDetector
    assert isinstance(pipeline.detector, expected)
    config = pipeline.estimator.config
    assert (config.body_models, config.passes, config.hand_model, config.refine_face) == \
        (mode.body_models, mode.passes, mode.hand_model, mode.refine_face)
    assert set(pipeline.estimator.bodies) == set(mode.body_models)
    assert pipeline.estimator.hand.variant == mode.hand_model
    poses = pipeline.predict(astronaut_bgr)
    assert len(poses) == 1
    nose = poses.keypoints[0, 0]
    assert np.hypot(*(nose - [220, 125])) < 15, nose
    assert poses.keypoint_scores[0, 0] > 0.5
    body = pipeline.estimator.bodies[mode.body_models[-1]]
    assert body.model.invocations >= 1  # the mode's model did the work


def test_explicit_estimator_overrides_the_mode(embedded_models, nanodet_model) -> None:
    from alphapose.estimators.blaze import BlazeWholeBody
    from alphapose.pipeline import Pipeline

    estimator = BlazeWholeBody(BlazeWholeBodyConfig(hands=False, face=False))
    pipeline = Pipeline(estimator=estimator, mode="lightweight")
    assert pipeline.estimator is estimator
    assert pipeline.estimator.config.passes == 2
