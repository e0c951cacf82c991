"""alphapose: whole-body multi-person pose estimation and tracking.

The common case::

    import alphapose
    pipeline = alphapose.Pipeline()          # embedded default, CPU, offline after first use
    poses = pipeline.predict(image_bgr)      # Poses: (N, 136, 2) keypoints, scores, boxes
    for frame, poses in pipeline.run("clip.mp4"):   # a path or any iterable of Frames
        ...
    alphapose.run_paths(pipeline, ["videos/"], "out/")  # what `alphapose run` does
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alphapose.pipeline import Pipeline, RunOptions
    from alphapose.runner import OutputOptions, run_paths
    from alphapose.skeletons import convert_poses, get_layout
    from alphapose.sources import open_sources
    from alphapose.structures import Detections, Frame, Poses

# name -> module; imported on first use, so that `import alphapose.cli` (and `alphapose
# --help`) does not load the pipeline, OpenCV and the runtimes
_LAZY = {"Pipeline": "alphapose.pipeline", "RunOptions": "alphapose.pipeline",
         "OutputOptions": "alphapose.runner", "run_paths": "alphapose.runner",
         "convert_poses": "alphapose.skeletons",
         "get_layout": "alphapose.skeletons", "open_sources": "alphapose.sources",
         "Detections": "alphapose.structures", "Frame": "alphapose.structures",
         "Poses": "alphapose.structures"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'alphapose' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "Detections",
    "Frame",
    "OutputOptions",
    "Pipeline",
    "Poses",
    "RunOptions",
    "__version__",
    "convert_poses",
    "get_layout",
    "open_sources",
    "run_paths",
]
