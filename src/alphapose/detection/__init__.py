"""Person detection: detectors return :class:`alphapose.structures.Detections`; box NMS utilities.

The helpers here are shared by every detector and import neither torch nor a runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from alphapose.structures import Detections

__all__ = ["check_bgr_image", "detect_each"]


def check_bgr_image(image: np.ndarray, name: str = "image") -> None:
    """Raise TypeError / ValueError unless ``image`` is a non-empty ``(H, W, 3)`` uint8 array."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        kind = type(image).__name__ + (f" of {image.dtype}" if isinstance(image, np.ndarray)
                                       else "")
        raise TypeError(f"{name}: expected a uint8 BGR numpy array, got {kind}")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name}: expected shape (H, W, 3) BGR, got {image.shape}")


def detect_each(detector: Callable[[np.ndarray], Detections],
                images: Sequence[np.ndarray]) -> list[Detections]:
    """``detector`` on each image, for detectors without a batched call.

    Raises:
        TypeError: ``images`` is one image array instead of a list of images.
    """
    if isinstance(images, np.ndarray) and images.ndim == 3:
        raise TypeError("images: expected a list of images, got one image array; "
                        "call the detector on it directly")
    return [detector(image) for image in images]
