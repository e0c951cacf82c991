"""alphapose: whole-body multi-person pose estimation and tracking.

The common case::

    import alphapose
    pipeline = alphapose.Pipeline()          # embedded default, CPU, offline after first use
    poses = pipeline.predict(image_bgr)      # Poses: (N, 136, 2) keypoints, scores, boxes
"""

from __future__ import annotations

from alphapose.pipeline import Pipeline as Pipeline
from alphapose.skeletons import convert_poses as convert_poses
from alphapose.skeletons import get_layout as get_layout
from alphapose.sources import open_sources as open_sources
from alphapose.structures import Detections as Detections
from alphapose.structures import Frame as Frame
from alphapose.structures import Poses as Poses

__version__ = "0.1.0"

__all__ = ["Detections", "Frame", "Pipeline", "Poses", "convert_poses", "get_layout",
           "open_sources", "__version__"]
