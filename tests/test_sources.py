"""Tests for alphapose.sources: inputs -> frames, and how bad inputs are reported."""

from __future__ import annotations

import logging
import pickle
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from alphapose.sources import (
    FailedSource,
    ImageSource,
    InputError,
    Source,
    SourceReport,
    VideoSource,
    WebcamSource,
    collect_errors,
    open_sources,
    summarize,
)

VIDEO_FRAMES = 20
VIDEO_FPS = 10.0
VIDEO_SIZE = (64, 48)  # (w, h)


# --- helpers ---------------------------------------------------------------------------------

def noise(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def write(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image), f"could not write test image {path}"
    return path


def video_frame(i: int) -> np.ndarray:
    """Noise (so each JPEG is large next to the AVI header) around a per-frame mean level."""
    w, h = VIDEO_SIZE
    rng = np.random.default_rng(100 + i)
    return np.clip(rng.integers(-30, 31, (h, w, 3)) + 40 + 8 * i, 0, 255).astype(np.uint8)


def write_avi(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), VIDEO_FPS, VIDEO_SIZE)
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MJPG .avi files")
    for i in range(VIDEO_FRAMES):
        writer.write(video_frame(i))
    writer.release()
    capture = cv2.VideoCapture(str(path))
    opened = capture.isOpened()
    capture.release()
    if not opened:
        pytest.skip("this OpenCV build cannot read back MJPG .avi files")
    return path


def jpeg_with_orientation(image: np.ndarray, orientation: int) -> bytes:
    """A JPEG whose EXIF (APP1) block holds one tag: Orientation = ``orientation``."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    data = encoded.tobytes()
    return data[:2] + app1 + data[2:]


class FakeCamera:
    """Stands in for a camera device behind the ``opener`` seam: ``frames`` reads, then fails."""

    def __init__(self, frames: int, *, opened: bool = True, frame_count: float = -1.0,
                 image: np.ndarray | None = None) -> None:
        self.frames = frames
        self.opened = opened
        self.frame_count = frame_count
        self.image = noise(12, 16, 3) if image is None else image
        self.reads = 0
        self.released = False

    def isOpened(self) -> bool:  # OpenCV's name
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.reads += 1
        if self.reads > self.frames:
            return False, None
        return True, self.image.copy()

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FPS: 30.0, cv2.CAP_PROP_FRAME_COUNT: self.frame_count}.get(prop, 0.0)

    def release(self) -> None:
        self.released = True


class Opener:
    """Records what it was asked to open and hands out one FakeCamera."""

    def __init__(self, camera: FakeCamera) -> None:
        self.camera = camera
        self.targets: list[int | str] = []

    def __call__(self, target: int | str) -> FakeCamera:
        self.targets.append(target)
        return self.camera


def only(sources: list) -> Source:
    assert len(sources) == 1, sources
    return sources[0]


# --- InputError, reports ---------------------------------------------------------------------

def test_input_error_message_names_input_and_problem() -> None:
    error = InputError("dir/a.jpg", "cannot decode image")
    assert str(error) == "dir/a.jpg: cannot decode image"
    assert (error.input, error.message) == ("dir/a.jpg", "cannot decode image")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and copy.input == "dir/a.jpg"


def test_summarize_and_collect_errors(tmp_path: Path) -> None:
    write(tmp_path / "imgs" / "a.png", noise(8, 8, 0))
    (tmp_path / "imgs" / "b.png").write_bytes(b"")
    sources = open_sources([str(tmp_path / "imgs"), str(tmp_path / "nope.jpg")])
    for source in sources:
        list(source)
    reports = summarize(sources)
    assert [(r.input, r.frames, len(r.errors)) for r in reports] == [
        (str(tmp_path / "imgs"), 1, 1), (str(tmp_path / "nope.jpg"), 0, 1)]
    assert isinstance(reports[0], SourceReport)
    assert str(reports[0]) == f"{tmp_path / 'imgs'}: 1 frames, 1 errors"
    errors = collect_errors(sources)
    assert [e.input for e in errors] == [str(tmp_path / "imgs" / "b.png"),
                                         str(tmp_path / "nope.jpg")]


# --- still images ----------------------------------------------------------------------------

def test_folder_natural_order_and_frame_fields(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    images = {"img10.png": noise(10, 12, 1), "img2.png": noise(11, 13, 2),
              "img1.png": noise(9, 7, 3)}
    for name, image in images.items():
        write(folder / name, image)
    (folder / "notes.md").write_text("not an image")
    (folder / "sub").mkdir()
    write(folder / "sub" / "img0.png", noise(5, 5, 4))  # subfolders are not read

    source = only(open_sources([str(folder)]))
    frames = list(source)

    assert isinstance(source, ImageSource) and isinstance(source, Source)
    assert [f.name for f in frames] == ["img1.png", "img2.png", "img10.png"]
    assert [f.index for f in frames] == [0, 1, 2]
    assert [f.path for f in frames] == [str(folder / n) for n in ("img1.png", "img2.png",
                                                                  "img10.png")]
    assert all(f.timestamp == 0.0 and f.source == str(folder) for f in frames)
    for frame in frames:
        np.testing.assert_array_equal(frame.image, images[frame.name])
    assert source.total == 3 and source.frames_read == 3 and source.errors == []


def test_single_jpeg_decodes_close_to_original(tmp_path: Path) -> None:
    image = np.zeros((32, 48, 3), np.uint8)
    image[:, :24] = (200, 60, 10)
    path = write(tmp_path / "photo.jpg", image)
    frame = only(list(only(open_sources([str(path)]))))
    assert (frame.index, frame.name, frame.path) == (0, "photo.jpg", str(path))
    assert frame.image.shape == (32, 48, 3) and frame.image.dtype == np.uint8
    assert np.abs(frame.image.astype(int) - image).mean() < 4.0


def test_bad_images_inside_a_folder_are_errors_and_iteration_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    good_a = write(folder / "a.png", noise(6, 6, 0))
    (folder / "b.jpg").write_bytes(np.random.default_rng(1).bytes(500))  # random bytes
    (folder / "c.png").write_bytes(b"")  # zero bytes
    good_d = write(folder / "d.png", noise(7, 5, 2))

    source = only(open_sources([str(folder)]))
    frames = list(source)

    # Indices are positions in the image list, so they skip the failed files.
    assert [(f.index, f.path) for f in frames] == [(0, str(good_a)), (3, str(good_d))]
    assert [e.input for e in source.errors] == [str(folder / "b.jpg"), str(folder / "c.png")]
    assert "cannot decode" in str(source.errors[0]) and "b.jpg" in str(source.errors[0])
    assert "empty file" in str(source.errors[1]) and "c.png" in str(source.errors[1])


@pytest.mark.parametrize("suffix, fmt", [(".jpg", "JPEG"), (".png", "PNG")], ids=["jpeg", "png"])
def test_truncated_image(tmp_path: Path, suffix: str, fmt: str) -> None:
    full = write(tmp_path / f"full{suffix}", noise(40, 40, 5))
    data = full.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    source = ImageSource([cut, full], name="pair")
    frames = list(source)
    assert [f.name for f in frames] == [f"full{suffix}"]
    message = str(only(source.errors))
    assert f"cut{suffix}" in message and "truncated" in message and fmt in message


def test_jpeg_with_data_after_the_end_marker_is_not_truncated(tmp_path: Path) -> None:
    jpeg = write(tmp_path / "a.jpg", noise(16, 16, 6)).read_bytes()
    path = tmp_path / "motion.jpg"
    path.write_bytes(jpeg + b"\x00\x00\x00\x18ftypmp42" + bytes(64))  # e.g. a motion photo
    frame = only(list(ImageSource([path], name="m")))
    expected = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(frame.image, expected)


def _gray(tmp_path: Path) -> tuple[Path, np.ndarray]:
    gray = np.arange(12 * 10, dtype=np.uint8).reshape(12, 10) * 2
    return write(tmp_path / "gray.png", gray), np.repeat(gray[:, :, None], 3, axis=2)


def _sixteen_bit(tmp_path: Path) -> tuple[Path, np.ndarray]:
    # Multiples of 256 plus a small remainder: truncating and rounding to 8 bits agree.
    values = (np.arange(8 * 9 * 3, dtype=np.uint32).reshape(8, 9, 3) * 256 + 17) % 65536
    image16 = values.astype(np.uint16)
    return write(tmp_path / "deep.png", image16), (values // 256).astype(np.uint8)


def _bgra(tmp_path: Path) -> tuple[Path, np.ndarray]:
    bgr = noise(9, 11, 7)
    alpha = np.linspace(0, 255, 9 * 11).astype(np.uint8).reshape(9, 11, 1)
    return write(tmp_path / "alpha.png", np.concatenate([bgr, alpha], axis=2)), bgr


@pytest.mark.parametrize("make", [_gray, _sixteen_bit, _bgra], ids=["gray", "16bit", "bgra"])
def test_image_kinds_become_8bit_bgr(tmp_path: Path, make) -> None:
    path, expected = make(tmp_path)
    source = ImageSource([path], name="kinds")
    frame = only(list(source))
    assert source.errors == []
    assert frame.image.dtype == np.uint8 and frame.image.shape == expected.shape
    np.testing.assert_array_equal(frame.image, expected)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = np.zeros((32, 48, 3), np.uint8)
    image[:, :16] = 255  # left third white
    path = tmp_path / "rotated.jpg"
    path.write_bytes(jpeg_with_orientation(image, 6))  # 6 = display rotated 90° clockwise
    frame = only(list(ImageSource([path], name="exif")))
    expected = np.rot90(image, k=-1)  # clockwise: the white third ends on top
    assert frame.image.shape == expected.shape == (48, 32, 3)
    assert np.abs(frame.image.astype(int) - expected).mean() < 4.0


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp"],
                         ids=["png-header", "jpeg-header", "bmp-after-decode"])
@pytest.mark.parametrize("max_pixels, refused", [(40 * 30 - 1, True), (40 * 30, False)],
                         ids=["one-below", "exact"])
def test_max_pixels(tmp_path: Path, suffix: str, max_pixels: int, refused: bool) -> None:
    path = write(tmp_path / f"big{suffix}", noise(30, 40, 8))
    source = only(open_sources([str(path)], max_pixels=max_pixels))
    frames = list(source)
    if refused:
        assert frames == []
        message = str(only(source.errors))
        assert f"big{suffix}" in message and "too large" in message and "40x30" in message
    else:
        assert only(frames).image.shape == (30, 40, 3) and source.errors == []


@pytest.mark.parametrize("bad", [0, -5, 2.5, True], ids=["zero", "negative", "float", "bool"])
def test_max_pixels_must_be_positive_int(bad) -> None:
    with pytest.raises(ValueError, match="max_pixels"):
        open_sources([], max_pixels=bad)
    with pytest.raises(ValueError, match="max_pixels"):
        ImageSource([], name="x", max_pixels=bad)


def test_errors_reset_per_iteration_and_are_logged(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "gone.png"
    source = ImageSource([missing], name="one")
    with caplog.at_level(logging.WARNING, logger="alphapose"):
        assert list(source) == []
        assert list(source) == []
    assert len(source.errors) == 1 and "missing" in str(source.errors[0])
    warnings = [r for r in caplog.records if r.name.startswith("alphapose")]
    assert len(warnings) == 2 and all("gone.png" in r.getMessage() for r in warnings)


# --- list files and patterns -----------------------------------------------------------------

def test_list_file_relative_absolute_missing(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    a = write(lists / "imgs" / "a.png", noise(5, 6, 0))
    b = write(tmp_path / "elsewhere" / "b.png", noise(6, 5, 1))
    listing = lists / "files.txt"
    listing.write_text("# comment\nimgs/a.png\n\n  imgs/missing.png  \n" + str(b) + "\n")

    source = only(open_sources([str(listing)]))
    frames = list(source)

    assert source.total == 3
    assert [(f.index, f.name, f.path) for f in frames] == [(0, "a.png", str(a)),
                                                           (2, "b.png", str(b))]
    error = only(source.errors)
    assert error.input == str(lists / "imgs" / "missing.png") and "missing" in error.message


def test_list_file_with_root(tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    a = write(root / "x" / "a.png", noise(5, 5, 0))
    listing = tmp_path / "list.txt"
    listing.write_text("x/a.png\n")
    frames = list(only(open_sources([str(listing)], root=str(root))))
    assert [f.path for f in frames] == [str(a)]


def test_glob_pattern(tmp_path: Path) -> None:
    for name in ("s10.png", "s2.png", "s1.png", "t1.png"):
        write(tmp_path / "d" / name, noise(4, 4, 0))
    write(tmp_path / "d" / "deeper" / "s3.png", noise(4, 4, 0))
    (tmp_path / "d" / "s5.txt").write_text("x")

    flat = only(open_sources([str(tmp_path / "d" / "s*")]))
    assert [f.name for f in flat] == ["s1.png", "s2.png", "s10.png"]
    assert flat.name == str(tmp_path / "d" / "s*") and flat.errors == []

    deep = only(open_sources([str(tmp_path / "d" / "**" / "s*.png")]))
    assert sorted(f.name for f in deep) == ["s1.png", "s10.png", "s2.png", "s3.png"]


def test_glob_with_images_and_videos(tmp_path: Path) -> None:
    write(tmp_path / "m" / "a.png", noise(4, 4, 0))
    video = write_avi(tmp_path / "m" / "b.avi")
    sources = open_sources([str(tmp_path / "m" / "*")])
    assert [type(s) for s in sources] == [ImageSource, VideoSource]
    assert sources[1].name == str(video) and sources[1].total == VIDEO_FRAMES


def _missing(tmp_path: Path) -> tuple[str, str]:
    return str(tmp_path / "missing.jpg"), "missing"


def _empty_folder(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "empty").mkdir()
    return str(tmp_path / "empty"), "empty folder"


def _folder_without_images(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.md").write_text("hi")
    return str(tmp_path / "docs"), "no image or video files (1 other files skipped)"


def _empty_list(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "list.txt").write_text("\n# only a comment\n")
    return str(tmp_path / "list.txt"), "empty list file"


def _binary_list(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "list.txt").write_bytes(b"\xff\xfe\x00bad")
    return str(tmp_path / "list.txt"), "unreadable list file"


def _pattern_without_match(tmp_path: Path) -> tuple[str, str]:
    return str(tmp_path / "*.png"), "pattern matches no image or video files"


def _unsupported(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "model.onnx").write_bytes(b"x")
    return str(tmp_path / "model.onnx"), "unsupported file type '.onnx'"


def _unopenable_video(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "junk.mp4").write_bytes(np.random.default_rng(0).bytes(2000))
    return str(tmp_path / "junk.mp4"), "cannot open video"


def _empty_string(tmp_path: Path) -> tuple[str, str]:
    return "  ", "empty input"


def _negative_camera(tmp_path: Path) -> tuple[int, str]:
    return -1, "invalid camera index"


@pytest.mark.parametrize("make", [_missing, _empty_folder, _folder_without_images, _empty_list,
                                  _binary_list, _pattern_without_match, _unsupported,
                                  _unopenable_video, _empty_string, _negative_camera],
                         ids=["missing", "empty-folder", "no-images", "empty-list", "binary-list",
                              "no-match", "unsupported", "unopenable-video", "empty-string",
                              "negative-camera"])
def test_bad_input_becomes_a_source_with_an_error(tmp_path: Path, make) -> None:
    item, problem = make(tmp_path)
    source = only(open_sources([item]))  # never raises for a bad individual input
    assert list(source) == []
    error = only(source.errors)
    assert problem in error.message
    assert str(item).strip() in str(error)
    assert source.frames_read == 0


def test_bad_input_does_not_stop_the_others(tmp_path: Path) -> None:
    good = write(tmp_path / "ok.png", noise(4, 4, 0))
    sources = open_sources([str(tmp_path / "nope"), str(good)])
    assert isinstance(sources[0], FailedSource)
    assert [f.name for f in sources[1]] == ["ok.png"]


@pytest.mark.parametrize("bad", ["a.jpg", Path("a.jpg")], ids=["str", "path"])
def test_open_sources_wants_a_sequence(bad) -> None:
    with pytest.raises(TypeError, match="wrap it in a list"):
        open_sources(bad)


@pytest.mark.parametrize("bad", [3.5, None, True], ids=["float", "none", "bool"])
def test_open_sources_rejects_input_types(bad) -> None:
    with pytest.raises(TypeError, match="expected a path string"):
        open_sources([bad])


# --- video files -----------------------------------------------------------------------------

def test_video_frames(tmp_path: Path) -> None:
    path = write_avi(tmp_path / "clip.avi")
    source = only(open_sources([str(path)]))
    assert isinstance(source, VideoSource)
    assert source.total == VIDEO_FRAMES and source.fps == VIDEO_FPS

    frames = list(source)

    assert [f.index for f in frames] == list(range(VIDEO_FRAMES))
    assert [f.name for f in frames] == [f"{i}.jpg" for i in range(VIDEO_FRAMES)]
    assert all(f.path == str(path) and f.source == str(path) for f in frames)
    np.testing.assert_allclose([f.timestamp for f in frames],
                               np.arange(VIDEO_FRAMES) / VIDEO_FPS, atol=1e-6)
    for i, frame in enumerate(frames):  # right frame in the right place (MJPG is lossy)
        assert frame.image.shape == (VIDEO_SIZE[1], VIDEO_SIZE[0], 3)
        assert abs(frame.image.mean() - video_frame(i).mean()) < 2.0
    assert source.errors == [] and source.frames_read == VIDEO_FRAMES


def test_truncated_video(tmp_path: Path) -> None:
    data = write_avi(tmp_path / "full.avi").read_bytes()
    path = tmp_path / "cut.avi"
    path.write_bytes(data[: len(data) // 2])
    source = VideoSource(path)
    if source.total != VIDEO_FRAMES:
        pytest.skip(f"this OpenCV backend does not open a half AVI (total={source.total})")
    frames = list(source)
    assert 0 < len(frames) < VIDEO_FRAMES - 2
    for i, frame in enumerate(frames):
        assert abs(frame.image.mean() - video_frame(i).mean()) < 2.0
    message = str(only(source.errors))
    assert "cut.avi" in message
    assert f"truncated: read {len(frames)} of {VIDEO_FRAMES} frames" in message


def test_video_short_by_tolerance_is_fine() -> None:
    camera = FakeCamera(frames=8, frame_count=10.0)
    source = VideoSource("v.mp4", opener=Opener(camera), truncation_tolerance=2)
    assert len(list(source)) == 8 and source.errors == [] and camera.released


def test_video_short_beyond_tolerance() -> None:
    source = VideoSource("v.mp4", opener=Opener(FakeCamera(frames=7, frame_count=10.0)))
    assert len(list(source)) == 7
    assert str(only(source.errors)) == "v.mp4: truncated: read 7 of 10 frames"


def test_video_timestamp_falls_back_to_index_over_fps() -> None:
    # FakeCamera reports POS_MSEC = 0 for every frame, which is unusable after frame 0.
    frames = list(VideoSource("v.mp4", opener=Opener(FakeCamera(frames=4, frame_count=4.0))))
    np.testing.assert_allclose([f.timestamp for f in frames], np.arange(4) / 30.0)


# --- cameras and streams ---------------------------------------------------------------------

@pytest.mark.parametrize("item", [99, "99", "webcam:99"], ids=["int", "digits", "prefixed"])
def test_missing_camera_is_an_error_not_a_crash(item) -> None:
    source = only(open_sources([item]))
    assert isinstance(source, WebcamSource) and source.name == "webcam:99"
    assert source.total is None
    assert list(source) == []
    message = str(only(source.errors))
    assert "webcam:99" in message and "cannot open camera" in message


def test_camera_disconnect() -> None:
    camera = FakeCamera(frames=3)
    opener = Opener(camera)
    source = only(open_sources(["webcam:2"], opener=opener))
    frames = list(source)
    assert opener.targets == [2]
    assert [(f.index, f.name, f.path, f.source) for f in frames] == [
        (i, f"{i}.jpg", None, "webcam:2") for i in range(3)]
    stamps = [f.timestamp for f in frames]
    assert stamps[0] == 0.0 and stamps == sorted(stamps)
    np.testing.assert_array_equal(frames[0].image, camera.image)
    assert str(only(source.errors)) == "webcam:2: disconnected after 3 frames"
    assert camera.released


def test_camera_that_delivers_nothing() -> None:
    source = WebcamSource(0, opener=Opener(FakeCamera(frames=0)))
    assert list(source) == []
    assert "opened but delivered no frames" in str(only(source.errors))


def test_camera_that_does_not_open_is_released() -> None:
    camera = FakeCamera(frames=5, opened=False)
    source = WebcamSource("1", opener=Opener(camera))
    assert list(source) == [] and camera.released and camera.reads == 0
    assert "cannot open camera" in str(only(source.errors))


def test_stopping_early_releases_the_camera() -> None:
    camera = FakeCamera(frames=100)
    iterator = iter(WebcamSource(0, opener=Opener(camera)))
    next(iterator), next(iterator)
    iterator.close()
    assert camera.released and camera.reads == 2


def test_camera_gray_frames_become_bgr() -> None:
    gray = np.arange(20, dtype=np.uint8).reshape(4, 5)
    frame = next(iter(WebcamSource(0, opener=Opener(FakeCamera(frames=1, image=gray)))))
    np.testing.assert_array_equal(frame.image, np.repeat(gray[:, :, None], 3, axis=2))


def test_finite_stream_ending_at_its_count_is_not_a_disconnect() -> None:
    source = WebcamSource("http://host/clip.mp4",
                          opener=Opener(FakeCamera(frames=3, frame_count=3.0)))
    assert len(list(source)) == 3 and source.errors == [] and source.total == 3


@pytest.mark.parametrize("item, target, name", [
    (0, 0, "webcam:0"),
    ("0", 0, "webcam:0"),
    ("webcam:3", 3, "webcam:3"),
    ("webcam", 0, "webcam:0"),
    ("rtsp://cam.local:554/live", "rtsp://cam.local:554/live", "rtsp://cam.local:554/live"),
    ("rtsp://admin:s3cret@cam/live", "rtsp://admin:s3cret@cam/live", "rtsp://admin:***@cam/live"),
    ("udp://0.0.0.0:5000", "udp://0.0.0.0:5000", "udp://0.0.0.0:5000"),
    ("https://example.com/a.m3u8?x=1", "https://example.com/a.m3u8?x=1",
     "https://example.com/a.m3u8?x=1"),
], ids=["int", "digits", "prefixed", "bare-webcam", "rtsp", "rtsp-password", "udp", "https-query"])
def test_camera_and_stream_classification(item, target, name) -> None:
    opener = Opener(FakeCamera(frames=1))
    source = only(open_sources([item], opener=opener))
    assert isinstance(source, WebcamSource) and source.name == name
    assert opener.targets == []  # nothing is opened before iteration
    frame = only(list(source))
    assert opener.targets == [target] and frame.source == name


def test_existing_path_named_like_a_camera_is_a_path(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "0" / "a.png", noise(4, 4, 0))
    monkeypatch.chdir(tmp_path)
    source = only(open_sources(["0"]))
    assert isinstance(source, ImageSource) and [f.name for f in source] == ["a.png"]


@pytest.mark.parametrize("bad", [-1, "", True], ids=["negative", "empty", "bool"])
def test_webcam_source_rejects_bad_devices(bad) -> None:
    with pytest.raises(ValueError, match="invalid device"):
        WebcamSource(bad)


def test_folder_with_videos_gives_its_images_then_each_video(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    write(folder / "photo.png", noise(20, 24, 1))
    for name, frames in (("clip10.avi", 2), ("clip2.avi", 3)):
        writer = cv2.VideoWriter(str(folder / name), cv2.VideoWriter_fourcc(*"MJPG"), 5, (32, 24))
        for i in range(frames):
            writer.write(noise(24, 32, i))
        writer.release()
    (folder / "notes.md").write_text("neither")
    sources = open_sources([str(folder)])
    assert [type(s).__name__ for s in sources] == ["ImageSource", "VideoSource", "VideoSource"]
    assert [Path(str(s.name)).name for s in sources[1:]] == ["clip2.avi", "clip10.avi"]
    assert [len(list(s)) for s in sources] == [1, 3, 2]
    videos_only = tmp_path / "videos"
    videos_only.mkdir()
    (folder / "clip2.avi").rename(videos_only / "clip2.avi")
    (only,) = open_sources([str(videos_only)])
    assert isinstance(only, VideoSource) and len(list(only)) == 3 and not only.errors
