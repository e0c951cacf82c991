"""Inputs -> iterators of :class:`~alphapose.structures.Frame`.

One call turns what a user types into sources::

    sources = open_sources(["photos/", "clip.mp4", "webcam:0"])
    for source in sources:
        for frame in source:          # Frame: (H, W, 3) uint8 BGR, index, name, path, timestamp
            ...
    for error in collect_errors(sources):
        print(error)                  # "photos/b.jpg: cannot decode image ..."

How an input is classified (first rule that applies):

* an ``int``, a string of digits that is not an existing path, ``"webcam"`` or ``"webcam:<n>"``
  -> :class:`WebcamSource` on device ``n``;
* ``<scheme>://...`` (``rtsp``, ``http(s)``, ``udp``, ``rtmp``, ...) -> :class:`WebcamSource` on
  the URL (a live stream);
* an existing folder -> :class:`ImageSource` over its image files (top level only, natural
  sort: ``2.jpg`` before ``10.jpg``), plus one :class:`VideoSource` per video file in it, in
  the same order (a folder of videos is a batch of videos); other files are skipped without an
  error, and sub-folders with a warning that names them;
* an existing file: a video extension (:data:`VIDEO_EXTENSIONS`) -> :class:`VideoSource`;
  ``.txt`` -> a list file, one image path per line (blank lines and ``#`` comments skipped;
  relative paths resolved against ``root`` if given, like the official ``--indir`` with
  ``--list``, else against the list file's folder); an image extension
  (:data:`IMAGE_EXTENSIONS`) -> :class:`ImageSource` of one image;
* a missing path containing ``*``, ``?`` or ``[`` -> a glob pattern (``**`` recurses): the
  matching images form one :class:`ImageSource`, each matching video its own
  :class:`VideoSource`.

GIF files count as videos (animations: every frame is read through FFmpeg), so folders and
patterns read them as videos, not images.

Errors: :func:`open_sources` never raises for a bad individual input. A missing path, an empty
folder, an unreadable or empty list file, a pattern matching nothing or a video that cannot be
opened becomes a source that yields nothing and whose ``errors`` holds an :class:`InputError`.
Problems met while iterating (a missing, empty, corrupt, truncated or too large image; a video
that ends well before its announced frame count; a camera that stops delivering) are appended
to the source's ``errors`` and logged as warnings on the ``"alphapose"`` logger, and iteration
goes on with the next item. A source's ``errors`` is reset when a new iteration starts, so after
a full pass it describes that pass (a source that could not be opened keeps its one error).

Still images are decoded like ``cv2.imread(path, cv2.IMREAD_COLOR)``: EXIF orientation is
applied, grayscale is replicated to three channels, 16-bit samples are scaled to 8 bits
(``v >> 8``) and an alpha channel is dropped (pixels are not composited onto a background).
"""

from __future__ import annotations

import glob
import logging
import math
import re
import struct
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from alphapose.structures import Frame

__all__ = [
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "FailedSource",
    "ImageSource",
    "InputError",
    "Source",
    "SourceReport",
    "VideoSource",
    "WebcamSource",
    "collect_errors",
    "open_sources",
    "summarize",
]

LOG = logging.getLogger("alphapose")

#: Still-image file extensions (lower case) that OpenCV decodes.
IMAGE_EXTENSIONS: frozenset[str] = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".webp", ".tif", ".tiff",
    ".ppm", ".pgm", ".pbm", ".pnm", ".pxm", ".sr", ".ras", ".jp2", ".j2k", ".exr", ".hdr",
    ".pic", ".avif",
})
#: Video file extensions (lower case) read with ``cv2.VideoCapture``.
VIDEO_EXTENSIONS: frozenset[str] = frozenset({
    ".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".gif",
    ".ts", ".mts", ".m2ts", ".3gp", ".ogv",
})
LIST_EXTENSIONS: frozenset[str] = frozenset({".txt"})

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_WEBCAM = re.compile(r"^(?:webcam(?::(\d+))?|(\d+))$")
_DEFAULT_MAX_PIXELS = 100_000_000


class InputError(Exception):
    """A problem with one input or one item of it.

    Attributes:
        input: the input (or the file inside it) that has the problem.
        message: what is wrong.

    Example:
        >>> str(InputError("a.jpg", "cannot decode image"))
        'a.jpg: cannot decode image'
    """

    def __init__(self, input: str, message: str) -> None:  # `input` shadows a builtin: the natural name
        super().__init__(f"{input}: {message}")
        self.input = input
        self.message = message

    def __reduce__(self):  # keep pickling (multiprocessing) working
        return (type(self), (self.input, self.message))


@dataclass
class SourceReport:
    """What one source delivered: frames read and problems met."""

    input: str
    frames: int
    errors: list[InputError] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.input}: {self.frames} frames, {len(self.errors)} errors"


@runtime_checkable
class Source(Protocol):
    """An iterable of frames with a name, a best-known length and the problems met.

    Attributes:
        name: human-readable name (input path, pattern, ``webcam:0``, stream URL).
        total: best-known number of frames, ``None`` when unknown (cameras, streams).
        errors: problems met so far (see the module docstring).
        frames_read: frames yielded by the current or last iteration.
    """

    name: str
    total: int | None
    errors: list[InputError]
    frames_read: int

    def __iter__(self) -> Iterator[Frame]: ...


class _Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the capture sources use."""

    def isOpened(self) -> bool: ...  # OpenCV's name
    def read(self) -> tuple[bool, np.ndarray | None]: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


Opener = Callable[[int | str], _Capture]


def _default_opener(target: int | str) -> _Capture:
    return cv2.VideoCapture(target)


class _BaseSource:
    def __init__(self, name: str) -> None:
        self.name = name
        self.total: int | None = None
        self.errors: list[InputError] = []
        self.frames_read = 0

    def _error(self, input: str, message: str) -> None:
        error = InputError(input, message)
        self.errors.append(error)
        LOG.warning("%s", error)

    def _start(self) -> None:
        self.errors = []
        self.frames_read = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, total={self.total})"


class FailedSource(_BaseSource):
    """An input that could not be opened: yields nothing, ``errors`` holds why.

    Args:
        error: the problem; ``name`` is taken from ``error.input``.
    """

    def __init__(self, error: InputError) -> None:
        super().__init__(error.input)
        self.total = 0
        self.errors = [error]
        LOG.warning("%s", error)

    def __iter__(self) -> Iterator[Frame]:
        return iter(())


class ImageSource(_BaseSource):
    """Still images, one frame each, in the given order.

    Frame ``i`` of the list has ``index=i`` (so indices skip the images that failed),
    ``name`` = file name, ``path`` = the path as given and ``timestamp=0``.

    Args:
        paths: image files.
        name: the source's name (the folder, list file or pattern they came from).
        max_pixels: images with more pixels than this are refused (checked from the PNG/JPEG
            header before decoding, else after).

    Example:
        >>> frames = list(ImageSource(["a.jpg", "b.png"], name="two images"))
    """

    def __init__(self, paths: Sequence[str | Path], name: str,
                 max_pixels: int = _DEFAULT_MAX_PIXELS) -> None:
        super().__init__(name)
        if isinstance(paths, (str, Path)):
            raise TypeError(f"ImageSource {name!r}: paths must be a sequence of paths, "
                            f"got a single {type(paths).__name__}; wrap it in a list")
        self.paths = [str(p) for p in paths]
        self.max_pixels = _check_max_pixels(max_pixels)
        self.total = len(self.paths)

    def __iter__(self) -> Iterator[Frame]:
        self._start()
        for index, path in enumerate(self.paths):
            image = self._load(path)
            if image is None:
                continue
            self.frames_read += 1
            yield Frame(image=image, index=index, name=Path(path).name, path=path,
                        timestamp=0.0, source=self.name)

    def _load(self, path: str) -> np.ndarray | None:
        file = Path(path)
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            self._error(path, "missing file (no such file)")
            return None
        except IsADirectoryError:
            self._error(path, "is a directory, expected an image file")
            return None
        except OSError as exc:
            self._error(path, f"cannot read file: {exc.strerror or exc}")
            return None
        if not data:
            self._error(path, "empty file (0 bytes)")
            return None
        size = _header_size(data)
        if size is not None and size[0] * size[1] > self.max_pixels:
            self._error(path, _too_large(size, self.max_pixels))
            return None
        truncated = _looks_truncated(data)
        if truncated is not None:
            # Some decoder versions return the readable part padded with grey; refuse it.
            self._error(path, f"cannot decode image: truncated {truncated} file "
                              f"({len(data)} bytes, no end marker)")
            return None
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            self._error(path, f"cannot decode image (corrupt or unsupported format, "
                              f"{len(data)} bytes)")
            return None
        height, width = image.shape[:2]
        if width * height > self.max_pixels:
            self._error(path, _too_large((width, height), self.max_pixels))
            return None
        return _to_bgr8(image)


class _CaptureSource(_BaseSource):
    """Frames from ``cv2.VideoCapture`` (or anything with the same four methods)."""

    live = False

    def __init__(self, target: int | str, name: str, path: str | None,
                 opener: Opener | None) -> None:
        super().__init__(name)
        self.target = target
        self.path = path
        self._opener = opener or _default_opener
        self.fps: float | None = None

    def _open(self) -> _Capture | None:
        try:
            capture = self._opener(self.target)
        except Exception as exc:  # noqa: BLE001 - any backend failure is this input's problem
            self._error(self.name, f"cannot open: {exc}")
            return None
        if not capture.isOpened():
            capture.release()
            self._error(self.name, self._open_failure)
            return None
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        self.fps = fps if math.isfinite(fps) and fps > 0 else None
        count = float(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.total = int(count) if math.isfinite(count) and count > 0 else None
        return capture

    @property
    def _open_failure(self) -> str:
        return "cannot open video (unsupported, corrupt or truncated file)"

    def __iter__(self) -> Iterator[Frame]:
        self._start()
        capture = self._open()
        if capture is None:
            return
        start = 0.0
        previous = -1.0
        try:
            while True:
                ok, image = capture.read()
                if not ok or image is None:
                    self._finish()
                    return
                index = self.frames_read
                if self.live:
                    now = time.monotonic()
                    if index == 0:
                        start = now
                    timestamp = now - start
                else:
                    timestamp = self._file_timestamp(capture, index, previous)
                previous = timestamp
                self.frames_read += 1
                yield Frame(image=_to_bgr8(image), index=index, name=f"{index}.jpg",
                            path=self.path, timestamp=timestamp, source=self.name)
        finally:
            capture.release()

    def _file_timestamp(self, capture: _Capture, index: int, previous: float) -> float:
        # After read(), POS_MSEC is the presentation time of the frame just read; some
        # backends report 0 or garbage, so fall back to index / fps unless it increases.
        seconds = float(capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
        if math.isfinite(seconds) and seconds >= 0 and (index == 0 or seconds > previous):
            return seconds
        return index / self.fps if self.fps else float(index)

    def _finish(self) -> None:
        raise NotImplementedError


class VideoSource(_CaptureSource):
    """Frames of a video file.

    Frame ``i`` has ``index=i``, ``name=f"{i}.jpg"`` (the official naming of video frames),
    ``path`` = the video and ``timestamp`` in seconds from ``CAP_PROP_POS_MSEC`` (or
    ``i / fps`` where the backend gives no usable time). The file is probed on construction to
    fill ``total`` (``CAP_PROP_FRAME_COUNT``, ``None`` when unknown) and ``fps``; a file that
    cannot be opened records the error then and yields nothing. Ending more than
    ``truncation_tolerance`` frames short of ``total`` records ``"truncated: read N of M
    frames"``.

    Args:
        path: the video file.
        name: the source's name, default ``str(path)``.
        opener: ``target -> capture`` (default ``cv2.VideoCapture``); a seam for other backends.
        truncation_tolerance: reading ends this many frames short of ``total`` or less without
            an error (frame counts from container headers are often estimates).
    """

    def __init__(self, path: str | Path, name: str | None = None, *,
                 opener: Opener | None = None, truncation_tolerance: int = 2) -> None:
        super().__init__(str(path), name or str(path), str(path), opener)
        self.truncation_tolerance = truncation_tolerance
        capture = self._open()
        self._unopenable = capture is None
        if capture is not None:
            capture.release()

    def __iter__(self) -> Iterator[Frame]:
        if self._unopenable:  # keep the probe's error; files do not heal between calls
            return iter(())
        return super().__iter__()

    def _finish(self) -> None:
        if self.frames_read == 0:
            self._error(self.name, "no frames could be read (corrupt or empty video)")
        elif (self.total is not None
              and self.total - self.frames_read > self.truncation_tolerance):
            self._error(self.name, f"truncated: read {self.frames_read} of {self.total} frames")


class WebcamSource(_CaptureSource):
    """Frames of a camera or a live stream, until it stops delivering or the caller stops.

    Frame ``i`` has ``index=i``, ``name=f"{i}.jpg"``, ``path=None`` and ``timestamp`` =
    seconds since the first frame (wall clock). Nothing is opened before iteration starts.
    A failed read after ``N`` frames records ``"disconnected after N frames"`` (unless the
    stream announced a frame count and delivered it) and ends the iteration.

    Args:
        device: camera index (``0``, ``"0"``, ``"webcam:0"``) or a stream URL / device path.
        opener: ``target -> capture`` (default ``cv2.VideoCapture``); a seam for other backends
            and for tests.
    """

    live = True

    def __init__(self, device: int | str, *, opener: Opener | None = None) -> None:
        target = _parse_device(device)
        if target is None:
            raise ValueError(f"WebcamSource: invalid device {device!r}: expected a camera index "
                             f">= 0, 'webcam:<n>' or a stream URL")
        name = f"webcam:{target}" if isinstance(target, int) else _redact(target)
        super().__init__(target, name, None, opener)

    @property
    def _open_failure(self) -> str:
        what = "camera" if isinstance(self.target, int) else "stream"
        return f"cannot open {what} (not connected, busy, or unsupported)"

    def _finish(self) -> None:
        if self.frames_read == 0:
            self._error(self.name, "opened but delivered no frames")
        elif self.total is None or self.frames_read < self.total:
            self._error(self.name, f"disconnected after {self.frames_read} frames")


def open_sources(inputs: Sequence[str | int | Path], *, root: str | Path | None = None,
                 max_pixels: int = _DEFAULT_MAX_PIXELS,
                 opener: Opener | None = None) -> list[Source]:
    """Classify each input and open it as a source (see the module docstring for the rules).

    Args:
        inputs: image files, folders, ``.txt`` list files, glob patterns, video files, camera
            indices or ``webcam:<n>``, stream URLs.
        root: folder that relative paths inside list files are resolved against (the official
            ``--indir`` used with ``--list``); default: each list file's own folder.
        max_pixels: largest image (width * height) an :class:`ImageSource` accepts.
        opener: passed to video, camera and stream sources (default ``cv2.VideoCapture``).

    Returns:
        One source per input, except that a glob pattern gives one image source for its
        images plus one video source per video. A bad input gives a :class:`FailedSource`.

    Raises:
        TypeError: an input is neither a string, a path nor an int.
        ValueError: ``max_pixels`` is not a positive integer.

    Example:
        >>> sources = open_sources(["examples/demo/", "clip.mp4"])
        >>> total = sum(s.total or 0 for s in sources)
    """
    if isinstance(inputs, (str, Path, int)):
        raise TypeError(f"open_sources: inputs must be a sequence of inputs, got a single "
                        f"{type(inputs).__name__} {inputs!r}; wrap it in a list")
    _check_max_pixels(max_pixels)
    sources: list[Source] = []
    for item in inputs:
        sources.extend(_open_one(item, root, max_pixels, opener))
    return sources


def collect_errors(sources: Sequence[Source]) -> list[InputError]:
    """All problems of all sources, in source order (for a final summary)."""
    return [error for source in sources for error in source.errors]


def summarize(sources: Sequence[Source]) -> list[SourceReport]:
    """One :class:`SourceReport` per source: frames read and problems met."""
    return [SourceReport(source.name, source.frames_read, list(source.errors))
            for source in sources]


# --- classification -------------------------------------------------------------------------

def _open_one(item: str | int | Path, root: str | Path | None, max_pixels: int,
              opener: Opener | None) -> list[Source]:
    if isinstance(item, bool) or not isinstance(item, (str, int, Path)):
        raise TypeError(f"open_sources: input {item!r} has type {type(item).__name__}; "
                        f"expected a path string, a pathlib.Path or a camera index int")
    if isinstance(item, int):
        if item < 0:
            return [FailedSource(InputError(str(item), "invalid camera index (must be >= 0)"))]
        return [WebcamSource(item, opener=opener)]
    text = str(item).strip()
    if not text:
        return [FailedSource(InputError(repr(str(item)), "empty input"))]
    path = Path(text).expanduser()
    if isinstance(item, str) and not path.exists():
        if _WEBCAM.match(text):
            return [WebcamSource(text, opener=opener)]
        if _URL.match(text):
            return [WebcamSource(text, opener=opener)]
    if path.is_dir():
        return _open_folder(text, path, max_pixels, opener)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in VIDEO_EXTENSIONS:
            return [VideoSource(path, text, opener=opener)]
        if suffix in LIST_EXTENSIONS:
            return [_open_list(text, path, root, max_pixels)]
        if suffix in IMAGE_EXTENSIONS:
            return [ImageSource([path], text, max_pixels)]
        return [FailedSource(InputError(text, f"unsupported file type {suffix or '(none)'!r}: "
                                              f"expected an image, a video or a .txt list"))]
    if path.exists():
        return [FailedSource(InputError(text, "not a regular file or folder"))]
    if any(char in text for char in "*?["):
        return _open_pattern(text, max_pixels, opener)
    return [FailedSource(InputError(text, "missing: no such file or folder"))]


def _open_folder(text: str, folder: Path, max_pixels: int,
                 opener: Opener | None) -> list[Source]:
    try:
        children = list(folder.iterdir())
        entries = [p for p in children if p.is_file()]
    except OSError as exc:
        return [FailedSource(InputError(text, f"cannot list folder: {exc.strerror or exc}"))]
    folders = sorted(p.name for p in children if p.is_dir() and not p.name.startswith("."))
    if folders:
        shown = ", ".join(folders[:3]) + (", ..." if len(folders) > 3 else "")
        LOG.warning("%s: %d sub-folder(s) not searched (%s); give them as inputs too, or a "
                    "pattern such as '%s/**/*.jpg'", text, len(folders), shown,
                    text.rstrip("/\\"))
    images = sorted((p for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS),
                    key=lambda p: _natural_key(p.name))
    videos = sorted((p for p in entries if p.suffix.lower() in VIDEO_EXTENSIONS),
                    key=lambda p: _natural_key(p.name))
    if not images and not videos:
        skipped = f" ({len(entries)} other files skipped)" if entries else ""
        return [FailedSource(InputError(text, f"empty folder: no image or video files"
                                              f"{skipped}"))]
    if len(images) + len(videos) < len(entries):
        LOG.info("%s: skipped %d files that are neither images nor videos", text,
                 len(entries) - len(images) - len(videos))
    sources: list[Source] = [ImageSource(images, text, max_pixels)] if images else []
    return sources + [VideoSource(video, str(video), opener=opener) for video in videos]


def _open_list(text: str, list_file: Path, root: str | Path | None, max_pixels: int) -> Source:
    try:
        content = list_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return FailedSource(InputError(text, "unreadable list file: not UTF-8 text"))
    except OSError as exc:
        return FailedSource(InputError(text, f"unreadable list file: {exc.strerror or exc}"))
    base = Path(root).expanduser() if root is not None else list_file.parent
    paths = []
    for line in content.splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            entry_path = Path(entry).expanduser()
            paths.append(entry_path if entry_path.is_absolute() else base / entry_path)
    if not paths:
        return FailedSource(InputError(text, "empty list file: no image paths"))
    return ImageSource(paths, text, max_pixels)


def _open_pattern(pattern: str, max_pixels: int, opener: Opener | None) -> list[Source]:
    matches = sorted((Path(m) for m in glob.glob(str(Path(pattern).expanduser()), recursive=True)
                      if Path(m).is_file()), key=lambda p: _natural_key(str(p)))
    images = [p for p in matches if p.suffix.lower() in IMAGE_EXTENSIONS]
    videos = [p for p in matches if p.suffix.lower() in VIDEO_EXTENSIONS]
    if not images and not videos:
        found = f" ({len(matches)} other files matched)" if matches else ""
        return [FailedSource(InputError(pattern, f"pattern matches no image or video "
                                                 f"files{found}"))]
    sources: list[Source] = [ImageSource(images, pattern, max_pixels)] if images else []
    sources += [VideoSource(p, opener=opener) for p in videos]
    return sources


def _parse_device(device: int | str) -> int | str | None:
    if isinstance(device, bool):
        return None
    if isinstance(device, int):
        return device if device >= 0 else None
    if not isinstance(device, str) or not device.strip():
        return None
    text = device.strip()
    match = _WEBCAM.match(text)
    if match:
        return int(match.group(1) or match.group(2) or 0)
    return text


def _redact(url: str) -> str:
    """The URL with any password replaced, for names that end up in logs and outputs."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _natural_key(text: str) -> tuple:
    # re.split with a capture group alternates text, digits, text, ...; compare digit runs as
    # numbers so "2" < "10"; the raw text breaks ties ("01" vs "1").
    parts = re.split(r"(\d+)", text)
    return tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)), text


# --- decoding helpers -----------------------------------------------------------------------

def _check_max_pixels(max_pixels: int) -> int:
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels <= 0:
        raise ValueError(f"max_pixels: expected a positive int, got {max_pixels!r}")
    return max_pixels


def _too_large(size: tuple[int, int], max_pixels: int) -> str:
    width, height = size
    return (f"image too large: {width}x{height} = {width * height} pixels "
            f"> max_pixels={max_pixels}")


def _to_bgr8(image: np.ndarray) -> np.ndarray:
    """Any decoded image -> ``(H, W, 3)`` uint8 BGR (grey replicated, alpha dropped)."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image)
    if image.ndim == 2 or image.shape[2] == 1:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _header_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` read from a PNG or JPEG header, ``None`` for other formats."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_SOF and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return int(width), int(height)
        if marker == 0xDA:  # start of scan: no frame header before it
            return None
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:
            pos += 2
            continue
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return None


def _looks_truncated(data: bytes) -> str | None:
    """``"JPEG"``/``"PNG"`` when a file of that format lacks its end marker.

    Every complete JPEG contains the end-of-image marker and every complete PNG an ``IEND``
    chunk, so their absence is certain truncation (data appended after the end, as in motion
    photos, is fine).
    """
    if data[:3] == b"\xff\xd8\xff" and data.rfind(b"\xff\xd9") < 0:
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data.rfind(b"IEND") < 0:
        return "PNG"
    return None
