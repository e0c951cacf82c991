"""One image check (:func:`alphapose.structures.check_image`): every stage that takes an image
rejects a bad one with the same one-line message, naming the argument."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from alphapose.structures import Frame, ImageError, Poses, check_image

WANTED = "expected a uint8 BGR array of shape (H, W, 3), got "
# (bad image, what the message says was given)
BAD = {
    "dtype": (np.zeros((8, 8, 3), np.float32), "float32 array of shape (8, 8, 3)"),
    "shape": (np.zeros((8, 8), np.uint8), "uint8 array of shape (8, 8)"),
    "channels": (np.zeros((8, 8, 1), np.uint8), "uint8 array of shape (8, 8, 1)"),
    "empty": (np.zeros((0, 8, 3), np.uint8), "uint8 array of shape (0, 8, 3)"),
    "none": (None, "None"),
    "list": ([[1, 2, 3]], "list"),
}


def _message(call: Callable[[object], object], image: object) -> str:
    with pytest.raises(ImageError) as info:
        call(image)
    text = str(info.value)
    assert "\n" not in text
    return text


def _library_callers(tmp_path: Path) -> dict[str, tuple[str, Callable[[object], object]]]:
    """Callers that need no model file: (argument name in the message, call)."""
    from alphapose import render
    from alphapose.data.augment import augment_sample
    from alphapose.data.people import render_person
    from alphapose.detection.nanodet import preprocess
    from alphapose.estimators.network import crop_people
    from alphapose.tracking.reid import PoseGuidedDescriptor
    from alphapose.writers import VideoWriter

    empty = Poses.empty(17, "coco17")
    callers = {
        "Frame": ("Frame.image", lambda im: Frame(im, 0, "0.jpg")),  # type: ignore[arg-type]
        "draw_poses": ("image", lambda im: render.draw_poses(im, empty)),
        "nanodet.preprocess": ("image", lambda im: preprocess(im, 416)),
        "reid.embed": ("image", lambda im: PoseGuidedDescriptor().embed(im, empty)),
        "VideoWriter.write_image": (
            "image", lambda im: VideoWriter(tmp_path / "v.avi", 25.0).write_image(im)),
        "render_person": ("image_bgr", lambda im: render_person(im, None, None, None)),
        "augment_sample": ("image_bgr", lambda im: augment_sample(im, None, None, None)),
        "crop_people": ("image_bgr", lambda im: crop_people(im, np.zeros((1, 4)))),
    }
    try:
        from alphapose.detection import yolov3, yolox
    except ImportError:  # torch missing: the torch detectors' preprocessing is not importable
        return callers
    callers["yolox.preprocess"] = ("image", lambda im: yolox.preprocess(im, (640, 640)))
    callers["yolov3.preprocess"] = ("image", lambda im: yolov3.preprocess(im, 608))
    return callers


@pytest.mark.parametrize("bad", sorted(BAD))
def test_check_image_names_the_input_and_what_it_got(bad: str) -> None:
    image, got = BAD[bad]
    assert _message(lambda im: check_image(im, "frame"), image) == f"frame: {WANTED}{got}"


def test_image_error_is_both_a_type_and_a_value_error() -> None:
    # callers that caught either of the two former errors keep catching it
    for error in (TypeError, ValueError):
        with pytest.raises(error):
            check_image(None)


def test_check_image_accepts_images_and_other_channel_counts() -> None:
    check_image(np.zeros((2, 3, 3), np.uint8))
    check_image(np.zeros((2, 3, 4), np.uint8), channels=(3, 4))
    text = _message(lambda im: check_image(im, channels=(3, 4)), np.zeros((2, 3, 2), np.uint8))
    assert text == ("image: expected a uint8 BGR array of shape (H, W, 3) or (H, W, 4), "
                    "got uint8 array of shape (2, 3, 2)")


@pytest.mark.parametrize("bad", sorted(BAD))
def test_every_library_caller_gives_the_same_message(bad: str, tmp_path: Path) -> None:
    image, got = BAD[bad]
    for caller, (name, call) in _library_callers(tmp_path).items():
        assert _message(call, image) == f"{name}: {WANTED}{got}", caller


@pytest.mark.models
@pytest.mark.parametrize("bad", ["dtype", "shape", "none"])
def test_model_callers_give_the_same_message(bad: str, embedded_models, pipeline) -> None:
    from alphapose.detection.blaze import BlazePersonDetector
    from alphapose.estimators.face_hand import FaceLandmarker, HandLandmarker
    from alphapose.transforms import RotatedRect

    image, got = BAD[bad]
    rect = RotatedRect(4.0, 4.0, 6.0, 6.0)
    assert _message(pipeline.predict, image) == f"image: {WANTED}{got}"
    assert _message(lambda im: FaceLandmarker()(im, rect), image) == f"image_bgr: {WANTED}{got}"
    assert (_message(lambda im: HandLandmarker("lite")(im, rect), image)
            == f"image_bgr: {WANTED}{got}")
    detector_wanted = WANTED.replace("(H, W, 3)", "(H, W, 3) or (H, W, 4)")
    assert _message(BlazePersonDetector(), image) == f"image: {detector_wanted}{got}"
