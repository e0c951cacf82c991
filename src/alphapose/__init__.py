"""alphapose: whole-body multi-person pose estimation and tracking.

The common case::

    import alphapose
    pipeline = alphapose.Pipeline()          # embedded default, CPU, offline after first use
    poses = pipeline.predict(image_bgr)      # Poses: (N, 136, 2) keypoints, scores, boxes
"""

from __future__ import annotations

from alphapose.structures import Detections as Detections
from alphapose.structures import Frame as Frame
from alphapose.structures import Poses as Poses

__version__ = "0.1.0"

__all__ = ["Detections", "Frame", "Poses", "__version__"]
