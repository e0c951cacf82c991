"""What the torch detectors (YOLOX, YOLOv3) share: one network call per batch of images.

A subclass sets ``self.model`` and ``self.device`` and gives two steps:
``_preprocess(image) -> (tensor (3, S, S), letterbox)`` and
``_postprocess(maps, prepared) -> list[Detections]`` (``maps``: the network's outputs as numpy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from alphapose.structures import Detections

__all__ = ["BatchedTorchDetector"]


class BatchedTorchDetector:
    model: torch.nn.Module
    device: torch.device
    #: ``detect(images)`` runs the network once on the whole batch (the pipeline gathers
    #: ``detbatch`` frames for it)
    batches_images = True

    def _preprocess(self, image: np.ndarray) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _postprocess(self, maps: list[np.ndarray],
                     prepared: list[tuple[np.ndarray, Any]]) -> list[Detections]:
        raise NotImplementedError

    def __call__(self, image: np.ndarray) -> Detections:
        """Detect people in one image.

        Args:
            image: ``(H, W, 3)`` uint8 BGR.

        Returns:
            :class:`~alphapose.structures.Detections`: ``xyxy`` in image pixels, ``scores`` the
            objectness, best first.
        """
        return self.detect([image])[0]

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect people in a batch of images (one network call; sizes may differ).

        Args:
            images: ``(H, W, 3)`` uint8 BGR images.

        Returns:
            One :class:`~alphapose.structures.Detections` per image.
        """
        if isinstance(images, np.ndarray) and images.ndim == 3:
            raise TypeError("images: expected a list of images, got one image array; call "
                            "the detector on it directly")
        if len(images) == 0:
            return []
        prepared = [self._preprocess(image) for image in images]
        batch = torch.from_numpy(np.stack([tensor for tensor, _ in prepared]))
        with torch.inference_mode():
            outputs = self.model(batch.to(self.device))
        return self._postprocess([out.float().cpu().numpy() for out in outputs], prepared)
