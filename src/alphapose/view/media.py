"""What a results page shows under the skeletons: the run's video or images (or nothing).

Browsers play few video formats: MP4 / MOV with H.264, WebM with VP8 / VP9, AV1. Another video
(AVI, MPEG-4 part 2, ...) is copied next to the page as WebM (VP8) with OpenCV.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alphapose.view.results import Run

__all__ = ["IMAGE_SUFFIXES", "Media", "browser_playable", "find_media", "transcode"]

#: containers and codecs browsers play (others are transcoded to WebM/VP8)
_PLAYABLE_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm"}
_PLAYABLE_CODECS = {"avc1", "h264", "vp80", "vp90", "vp08", "vp09", "av01"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif"}


@dataclass(frozen=True)
class Media:
    """What the page shows under the skeletons.

    Attributes:
        kind: ``"video"``, ``"images"`` or ``"none"`` (a dark canvas).
        video: the video file (kind video).
        images: ``{frame name: image file}`` (kind images).
        fps: frames per second of the video.
        size: ``(width, height)`` of the frames when known (video, none).
        frames: number of frames of the video (0 when unknown).
    """

    kind: str
    video: Path | None = None
    images: dict[str, Path] | None = None
    fps: float = 25.0
    size: tuple[int, int] | None = None
    frames: int = 0


def find_media(run: Run, media: str | os.PathLike[str] | None) -> Media:
    """The media of ``run``: ``media`` when given (a video, an image folder or an image), else
    the video the done marker names (if it still exists), else none.

    Raises:
        FileNotFoundError: ``media`` does not exist.
        ValueError: ``media`` is neither a video, an image nor a folder of images.
    """
    if media is None:
        video = run.settings.get("video")
        if isinstance(video, str) and Path(video).is_file():
            return _video_media(Path(video))
        return Media("none", size=_extent(run))
    path = Path(media)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such video, image or folder (--media)")
    if path.is_dir():
        images = {p.name: p for p in sorted(path.iterdir())
                  if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()}
        if not images:
            raise ValueError(f"{path}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this "
                             "folder (--media)")
        return Media("images", images=images)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return Media("images", images={path.name: path})
    return _video_media(path)


def _video_media(path: Path) -> Media:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError(f"{path}: not a video OpenCV can read (--media)")
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or 25.0
        size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        frames = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
    finally:
        capture.release()
    return Media("video", video=path, fps=fps if 0 < fps < 1000 else 25.0, size=size,
                 frames=frames)


def _extent(run: Run) -> tuple[int, int]:
    """A canvas size holding every keypoint (for a page without media)."""
    if not len(run.keypoints):
        return (640, 480)
    seen = run.keypoint_scores > 0
    xy = run.keypoints[seen] if seen.any() else run.keypoints.reshape(-1, 2)
    high = np.nanmax(xy, axis=0) if len(xy) else np.array([640.0, 480.0])
    return (int(max(64, np.ceil(high[0]) + 16)), int(max(64, np.ceil(high[1]) + 16)))


def browser_playable(path: Path) -> bool:
    """Whether browsers play the video file as it is (container and codec)."""
    import cv2

    if path.suffix.lower() not in _PLAYABLE_SUFFIXES:
        return False
    capture = cv2.VideoCapture(str(path))
    try:
        code = int(capture.get(cv2.CAP_PROP_FOURCC))
    finally:
        capture.release()
    fourcc = code.to_bytes(4, "little").decode("latin-1").lower()
    return fourcc in _PLAYABLE_CODECS


def transcode(video: Path, target: Path, fps: float, quiet: bool = False) -> Path:
    """Copy ``video`` to ``target`` as WebM (VP8), frame by frame at ``fps``, for browsers.

    Raises:
        ValueError: the video cannot be read or WebM cannot be written here.
    """
    import cv2
    from tqdm import tqdm

    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise ValueError(f"{video}: not a video OpenCV can read")
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp.webm")
    writer = None
    try:
        with tqdm(total=total, desc=f"view: {video.name} -> WebM", unit="frame",
                  disable=quiet, leave=False) as bar:
            while True:
                ok, image = capture.read()
                if not ok:
                    break
                if writer is None:
                    height, width = image.shape[:2]
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"VP80"), fps,
                                             (width, height))
                    if not writer.isOpened():
                        raise ValueError(f"{target}: OpenCV cannot write WebM (VP8) here; "
                                         "convert the video to MP4 (H.264) and pass it with "
                                         "--media")
                writer.write(image)
                bar.update(1)
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    if writer is None:
        raise ValueError(f"{video}: no frames could be read")
    tmp.replace(target)
    return target
