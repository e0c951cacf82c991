"""Person detection: detectors return :class:`alphapose.structures.Detections`; box NMS utilities.

The helpers here are shared by every detector and import neither torch nor a runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from alphapose.structures import Detections

__all__ = ["check_yolo_config", "detect_each"]


def check_yolo_config(config: Any) -> None:
    """Raise ValueError unless the thresholds of a YOLO config (``YOLOXConfig``,
    ``YOLOv3Config``) are in range: ``conf_threshold`` in [0, 1], ``nms_threshold`` in (0, 1],
    ``person_class >= 0``. The input size is checked by each config (a pair for YOLOX, a side
    for YOLOv3)."""
    if not 0.0 <= config.conf_threshold <= 1.0:
        raise ValueError(f"conf_threshold: expected a value in [0, 1], got "
                         f"{config.conf_threshold}")
    if not 0.0 < config.nms_threshold <= 1.0:
        raise ValueError(f"nms_threshold: expected a value in (0, 1], got "
                         f"{config.nms_threshold}")
    if config.person_class < 0:
        raise ValueError(f"person_class: expected a class index >= 0, got "
                         f"{config.person_class}")


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
