"""``alphapose view``: the results page, its data, and the page itself in a headless Chromium.

The browser tests run a real ``alphapose run`` over the first frames of the shared video and two
shared images, write the pages, and drive Debian's Chromium over the DevTools protocol
(``tests/chromium_cdp.py``; installed with apt-get when missing and root, else skipped). They
check what a person would look at: no console errors, skeleton pixels on the canvas where the
results put people, one lane per track id, scrubbing changes the frame. Screenshots are kept in
the test's tmp folder and copied to ``out/view-screenshots/`` (git-ignored).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from alphapose.overlays import project_3d
from alphapose.render import id_color, layout_colors
from alphapose.skeletons import get_layout
from alphapose.structures import Frame, Poses
from alphapose.view import compare, load_run, view
from alphapose.view.media import browser_playable, find_media
from alphapose.view.page import chunk3d_bytes, chunk_bytes, compare_differences, run_summary
from alphapose.view.server import PageServer, linked_files
from alphapose.writers import AlphaPoseJsonWriter, JsonLinesWriter

#: headless Chromium: `make test` runs them, `make quick` does not
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "out" / "view-screenshots"
CLIP_FRAMES = 4


# ------------------------------------------------------------------------------------------------
# data (no browser)
# ------------------------------------------------------------------------------------------------


def _poses(rng: np.random.Generator, n: int, track_ids: list[int]) -> Poses:
    keypoints = rng.uniform(20, 300, (n, 136, 2)).astype(np.float32)
    scores = rng.uniform(0, 1, (n, 136)).astype(np.float32)
    xyxy = np.concatenate([keypoints.min(1), keypoints.max(1)], 1)
    return Poses(keypoints=keypoints, keypoint_scores=scores, xyxy=xyxy,
                 box_scores=np.full(n, 0.9, np.float32), scores=np.full(n, 2.5, np.float32),
                 track_ids=np.array(track_ids, np.int64), layout="halpe136")


@pytest.fixture
def written_run(tmp_path) -> tuple[Path, list[Poses]]:
    """A run of 5 video frames written by our JSON and JSON-lines writers; frame 2 is empty."""
    rng = np.random.default_rng(7)
    per_frame = [_poses(rng, 2, [3, 5]), _poses(rng, 1, [5]), _poses(rng, 0, []),
                 _poses(rng, 2, [5, 9]), _poses(rng, 1, [3])]
    image = np.zeros((320, 320, 3), np.uint8)
    with AlphaPoseJsonWriter(tmp_path / "alphapose-results.json") as a, \
            JsonLinesWriter(tmp_path / "alphapose-results.jsonl") as b:
        for i, poses in enumerate(per_frame):
            frame = Frame(image=image, index=i, name=f"{i}.jpg", timestamp=i / 25)
            a.write(frame, poses)
            b.write(frame, poses)
    return tmp_path, per_frame


@pytest.mark.parametrize("results_file", ["alphapose-results.json", "alphapose-results.jsonl"])
def test_load_run_reads_our_files(written_run, results_file):
    folder, per_frame = written_run
    run = load_run(folder / results_file)
    assert run.frame_names == [f"{i}.jpg" for i in range(5)]
    assert run.counts.tolist() == [2, 1, 0, 2, 1]
    assert run.layout == "halpe136"
    expected = np.concatenate([p.keypoints for p in per_frame])
    np.testing.assert_array_equal(run.keypoints, expected)
    np.testing.assert_array_equal(run.keypoint_scores,
                                  np.concatenate([p.keypoint_scores for p in per_frame]))
    np.testing.assert_allclose(run.xyxy, np.concatenate([p.xyxy for p in per_frame]), atol=1e-3)
    assert run.track_ids.tolist() == [3, 5, 5, 5, 9, 3]


def test_load_run_official_layout(tmp_path):
    """The official list: box as x, y, w, h; idx as [0.0], [[0.0], [0.0]] (untracked), an
    int (--pose_track), a float list (JDE ids); image ids of images, no empty frames."""
    rng = np.random.default_rng(1)
    triples = lambda: np.round(rng.uniform(0, 100, 51), 3).tolist()
    entries = [
        {"image_id": "a.jpg", "category_id": 1, "keypoints": triples(), "score": 2.7,
         "box": [10.0, 20.0, 30.0, 40.0], "idx": [0.0]},
        {"image_id": "a.jpg", "category_id": 1, "keypoints": triples(), "score": 1.9,
         "box": [0.0, 0.0, 5.0, 5.0], "idx": [[0.0], [0.0]]},
        {"image_id": "b.jpg", "category_id": 1, "keypoints": triples(), "score": 3.1,
         "box": [1.0, 2.0, 3.0, 4.0], "idx": 4},
        {"image_id": "b.jpg", "category_id": 1, "keypoints": triples(), "score": 3.1,
         "idx": [[7.0], [2.0]]},
    ]
    (tmp_path / "alphapose-results.json").write_text(json.dumps(entries))
    run = load_run(tmp_path)
    assert run.frame_names == ["a.jpg", "b.jpg"]
    assert not run.video_frames
    assert run.layout == "coco17"
    assert run.track_ids.tolist() == [-1, -1, 4, 2]
    np.testing.assert_allclose(run.xyxy[0], [10, 20, 40, 60])
    assert np.isnan(run.xyxy[3]).all()
    np.testing.assert_allclose(run.keypoints[1].ravel(),
                               np.asarray(entries[1]["keypoints"]).reshape(-1, 3)[:, :2].ravel(),
                               atol=1e-4)


def test_official_integer_image_ids_find_their_images(tmp_path):
    """``--eval`` output files people under the integer parsed from the image name."""
    images = tmp_path / "images"
    images.mkdir()
    for name in ("000000000785.jpg", "COCO_val2014_000000000042.jpg", "other.jpg"):
        cv2.imwrite(str(images / name), np.zeros((8, 8, 3), np.uint8))
    entries = [{"image_id": i, "category_id": 1, "keypoints": [1.0, 2.0, 0.9] * 17,
                "score": 1.0, "idx": [0.0]} for i in (42, 785, 785)]
    (tmp_path / "alphapose-results.json").write_text(json.dumps(entries))
    page = view(tmp_path, media=images, quiet=True)
    text = page.read_text(encoding="utf-8")
    data = json.loads(text.split('id="view-data">', 1)[1].split("</script>", 1)[0])
    assert data["names"] == ["000000000785.jpg", "COCO_val2014_000000000042.jpg", "other.jpg"]
    assert data["media"]["srcs"] == [f"images/{n}" for n in data["names"]]
    assert base64.b64decode(data["runs"][0]["counts"]) == \
        np.array([2, 1, 0], np.uint16).tobytes()


def test_tracks_starting_where_one_ended_are_marked(tmp_path):
    """Id 9 appears 2 frames after id 5 vanished, at its place: a likely id switch; id 7 starts
    as far away as it can: not one."""
    rng = np.random.default_rng(3)
    shape = rng.normal(0, 1, (136, 2)).astype(np.float32) * np.array([20, 50], np.float32)

    def people(where: dict[int, tuple[float, float]]) -> Poses:
        keypoints = np.stack([shape + np.array(c, np.float32) for c in where.values()]) \
            if where else np.zeros((0, 136, 2), np.float32)
        n = len(where)
        return Poses(keypoints=keypoints, keypoint_scores=np.ones((n, 136), np.float32),
                     xyxy=np.concatenate([keypoints.min(1), keypoints.max(1)], 1),
                     box_scores=np.ones(n, np.float32), scores=np.ones(n, np.float32),
                     track_ids=np.array(list(where), np.int64), layout="halpe136")

    frames = [{5: (100, 200)}, {5: (104, 200)}, {}, {9: (112, 202)}, {9: (116, 202), 7: (600, 200)}]
    with JsonLinesWriter(tmp_path / "alphapose-results.jsonl") as sink:
        for i, where in enumerate(frames):
            sink.write(Frame(image=np.zeros((4, 4, 3), np.uint8), index=i, name=f"{i}.jpg"),
                       people(where))
    tracks = {t["id"]: t for t in run_summary(load_run(tmp_path))["tracks"]}
    assert tracks[9]["after"] == {"id": 5, "gap": 2}
    assert tracks[7]["after"] is None and tracks[5]["after"] is None


def _decode_chunk(raw: bytes) -> dict[str, np.ndarray]:
    """The chunk layout of alphapose/view/page.py, read back with numpy (as the page does)."""
    f, p, k, scale = np.frombuffer(raw, "<i4", 4)
    o = 16
    out = {}
    for name, dtype, count in (("ids", "<i4", p), ("boxes", "<f4", 4 * p),
                               ("scores", "<f4", p), ("high", "u1", 2 * p * k),
                               ("low", "u1", 2 * p * k), ("counts", "<u2", f),
                               ("conf", "u1", p * k)):
        item = np.dtype(dtype).itemsize
        assert o % item == 0  # the page builds typed arrays on these offsets
        out[name] = np.frombuffer(raw, dtype, count, o)
        o += item * count
    assert o == len(raw)
    words = (out["high"].astype(np.uint16) << 8 | out["low"]).view(np.int16).reshape(2, p, k)
    xy, conf = words.astype(np.int64), out["conf"].reshape(p, k).astype(np.int64)
    last: dict[int, int] = {}
    for i, track in enumerate(out["ids"].tolist()):  # differences from the track's last person
        if track >= 0 and track in last:
            xy[:, i] = (xy[:, i] + xy[:, last[track]] + 2**15) % 2**16 - 2**15
            conf[i] = (conf[i] + conf[last[track]]) % 256
        if track >= 0:
            last[track] = i
    out["xy"] = xy.transpose(1, 2, 0) / scale
    out["conf"] = conf / 254
    return out


def test_chunk_bytes_round_trip(written_run):
    folder, _ = written_run
    run = load_run(folder)
    chunk = _decode_chunk(chunk_bytes(run, 1, 5))
    assert chunk["counts"].tolist() == [1, 0, 2, 1]
    np.testing.assert_allclose(chunk["xy"], run.keypoints[2:], atol=0.125 + 1e-6)
    np.testing.assert_allclose(chunk["conf"], run.keypoint_scores[2:], atol=0.5 / 254 + 1e-6)
    assert chunk["ids"].tolist() == [5, 5, 9, 3]
    # differences over time wrap exactly: a track jumping across the whole int16 range
    run.keypoints[:, :, 0] = np.where(np.arange(len(run.keypoints))[:, None] % 2, -7999, 7999)
    run.keypoint_scores[:] = np.where(np.arange(len(run.keypoints))[:, None] % 2, 0.0, 1.0)
    chunk = _decode_chunk(chunk_bytes(run, 0, 5))
    np.testing.assert_allclose(chunk["xy"], run.keypoints, atol=0.125 + 1e-6)
    np.testing.assert_allclose(chunk["conf"], run.keypoint_scores, atol=0.5 / 254 + 1e-6)


def test_keypoints_3d_read_and_chunked(tmp_path):
    """``--world`` results: both our files give the 3D keypoints back (NaN where absent, and
    for a person written without them); the page's 3D chunk holds them in millimetres for the
    layout's first keypoints up to the last one anybody has."""
    rng = np.random.default_rng(3)
    per_frame = []
    for n in (2, 0, 1):
        poses = _poses(rng, n, list(range(n)))
        points = rng.uniform(-0.9, 0.9, (n, 136, 3)).astype(np.float32)
        points[:, 26:] = np.nan
        points[:, 22] = np.nan  # a small toe: absent
        per_frame.append(Poses(**{**poses.__dict__, "keypoints_3d": points}))
    plain = _poses(rng, 1, [7])  # a frame whose people have no 3D keypoints
    with AlphaPoseJsonWriter(tmp_path / "alphapose-results.json") as a, \
            JsonLinesWriter(tmp_path / "alphapose-results.jsonl") as b:
        for i, poses in enumerate([*per_frame, plain]):
            frame = Frame(image=np.zeros((320, 320, 3), np.uint8), index=i, name=f"{i}.jpg")
            a.write(frame, poses)
            b.write(frame, poses)
    expected = np.concatenate([p.keypoints_3d for p in per_frame]
                              + [np.full((1, 136, 3), np.nan, np.float32)])
    for name in ("alphapose-results.json", "alphapose-results.jsonl"):
        run = load_run(tmp_path / name)
        np.testing.assert_allclose(run.keypoints_3d, expected, atol=5e-5, equal_nan=True)
    summary = run_summary(run)
    assert summary["k3"] == 26
    raw = chunk3d_bytes(run, 0, run.num_frames)
    millimetres = np.frombuffer(raw, "<i2").reshape(3, len(expected), 26).transpose(1, 2, 0)
    absent = millimetres == -32768
    np.testing.assert_array_equal(absent, np.isnan(expected[:, :26]))
    np.testing.assert_allclose(millimetres[~absent] / 1000, expected[:, :26][~absent],
                               atol=5e-4 + 5e-5)
    bad = json.loads((tmp_path / "alphapose-results.json").read_text())
    bad[0]["keypoints_3d"] = bad[0]["keypoints_3d"][:-1]
    (tmp_path / "alphapose-results.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"entry 1: 'keypoints_3d' must hold 136 x, y, z"):
        load_run(tmp_path / "alphapose-results.json")


def test_compare_differences_measure_the_shift(written_run, tmp_path):
    folder, _ = written_run
    a = load_run(folder)
    b = load_run(folder)
    b.keypoints = b.keypoints + np.array([3.0, 4.0], np.float32)  # 5 px away
    diff = compare_differences(a, b, threshold=0.3)
    distance = np.frombuffer(base64.b64decode(diff["distance"]), "<f4")
    matched = np.frombuffer(base64.b64decode(diff["matched"]), "<u2")
    assert matched.tolist() == [2, 1, 0, 2, 1]
    np.testing.assert_allclose(distance[[0, 1, 3, 4]], 5.0, atol=1e-3)
    assert np.isnan(distance[2])


def test_view_writes_one_self_contained_page(written_run):
    folder, _ = written_run
    page = view(folder, quiet=True)
    assert page == folder / "view.html"
    text = page.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text  # no network, no CDN
    assert "<script src" not in text
    assert re.findall(r"<link[^>]*>", text) == ['<link rel="icon" href="data:,">']
    data = json.loads(text.split('id="view-data">', 1)[1].split("</script>", 1)[0])
    assert data["frames"] == 5 and data["media"]["kind"] == "none"
    layout = get_layout("halpe136")
    assert data["layout"]["edges"] == [list(e) for e in layout.edges]
    assert [t["id"] for t in data["runs"][0]["tracks"]] == [3, 5, 9]
    b, g, r = id_color(9)
    assert data["runs"][0]["tracks"][2]["color"] == f"#{r:02x}{g:02x}{b:02x}"
    assert data["runs"][0]["empty_frames"] == 1


def test_view_of_a_run_that_found_nobody(tmp_path):
    image = np.zeros((48, 64, 3), np.uint8)
    with JsonLinesWriter(tmp_path / "alphapose-results.jsonl") as sink:
        for i in range(3):
            sink.write(Frame(image=image, index=i, name=f"{i}.jpg"), _poses(
                np.random.default_rng(i), 0, []))
    run = load_run(tmp_path)
    assert run.layout == "halpe136" and run.keypoints.shape == (0, 136, 2)
    text = view(tmp_path, quiet=True).read_text(encoding="utf-8")
    data = json.loads(text.split('id="view-data">', 1)[1].split("</script>", 1)[0])
    assert data["frames"] == 3 and data["runs"][0]["empty_frames"] == 3
    assert data["runs"][0]["tracks"] == []


def test_view_cli_bad_input_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "alphapose", "view", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "no results file" in done.stderr and "Traceback" not in done.stderr


def test_server_serves_only_the_page_and_its_media(written_run, tmp_path):
    folder, _ = written_run
    media = folder / "0.jpg"  # the image of frame 0
    cv2.imwrite(str(media), np.zeros((4, 4, 3), np.uint8))
    page = view(folder, media=media, quiet=True)
    assert linked_files(page) == [media.resolve()]
    with PageServer(folder, [page, media]) as server:
        assert server.url(page).startswith("http://127.0.0.1:")
        assert server.httpd.server_address[0] == "127.0.0.1"
        with urllib.request.urlopen(server.url(page), timeout=10) as reply:
            assert reply.read().startswith(b"<!doctype html>")
        with urllib.request.urlopen(server.url(media), timeout=10) as reply:
            assert reply.read()[:2] == b"\xff\xd8"
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(server.url(folder / "alphapose-results.json"), timeout=10)
        assert error.value.code == 404


def test_view_cli_writes_a_page_per_video_folder(written_run, tmp_path_factory):
    """``alphapose run`` over several videos writes a folder per video: one page each."""
    folder, _ = written_run
    out = tmp_path_factory.mktemp("videos")
    for name in ("walk", "run"):
        shutil.copytree(folder, out / name)
    done = subprocess.run([sys.executable, "-m", "alphapose", "view", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert (out / "walk" / "view.html").is_file() and (out / "run" / "view.html").is_file()
    assert done.stdout.count("alphapose view: wrote ") == 2


def test_view_cli_compare(written_run, tmp_path_factory):
    folder, _ = written_run
    other = tmp_path_factory.mktemp("other") / "run_b"
    shutil.copytree(folder, other)
    done = subprocess.run([sys.executable, "-m", "alphapose", "view", "--compare", str(folder),
                           str(other), "--quiet"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    text = (folder / "view-compare.html").read_text(encoding="utf-8")
    data = json.loads(text.split('id="view-data">', 1)[1].split("</script>", 1)[0])
    assert data["compare"] and len(data["runs"]) == 2
    distance = np.frombuffer(base64.b64decode(data["diff"]["distance"]), "<f4")
    assert np.nanmax(distance) == 0.0 and np.isnan(distance[2])  # the same results; frame 2 empty


@pytest.mark.parametrize(("suffix", "fourcc", "playable"), [
    (".webm", "VP80", True), (".mp4", "mp4v", False), (".avi", "MJPG", False)])
def test_browser_playable(tmp_path, suffix, fourcc, playable):
    path = tmp_path / f"clip{suffix}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (32, 32))
    if not writer.isOpened():
        pytest.skip(f"OpenCV cannot write {fourcc} here")
    for i in range(3):
        writer.write(np.full((32, 32, 3), 60 * i, np.uint8))
    writer.release()
    assert browser_playable(path) is playable


def test_media_errors_name_the_input(written_run, tmp_path):
    folder, _ = written_run
    run = load_run(folder)
    with pytest.raises(FileNotFoundError, match="no such video, image or folder"):
        find_media(run, tmp_path / "missing.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        find_media(run, tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("not a video")
    with pytest.raises(ValueError, match="not a video OpenCV can read"):
        find_media(run, tmp_path / "notes.txt")


def test_view_cli_serve(written_run):
    """``alphapose view OUT --serve`` writes the page and serves it on 127.0.0.1 until stopped."""
    folder, _ = written_run
    process = subprocess.Popen([sys.executable, "-m", "alphapose", "view", str(folder),
                                "--serve", "--port", "0", "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(2)]  # wrote ..., serving ... at URL
        assert lines[0].startswith("alphapose view: wrote ") and "view.html" in lines[0]
        url = lines[1].split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/view.html")
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert reply.read() == (folder / "view.html").read_bytes()
    finally:
        process.terminate()
        process.communicate(timeout=30)


# ------------------------------------------------------------------------------------------------
# a real run, in a real browser
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    from chromium_cdp import ensure_chromium

    executable, reason = ensure_chromium()
    if executable is None:
        pytest.skip(reason)
    return executable


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, shared_data, embedded_models) -> dict[str, Path]:
    """``alphapose run --pose-track --world`` over the first frames of the shared video (an AVI
    clip) and two shared images, in one run (the video gets its own folder)."""
    root = tmp_path_factory.mktemp("view_run")
    capture = cv2.VideoCapture(str(shared_data / "openpose" / "video.avi"))
    fps = capture.get(cv2.CAP_PROP_FPS)
    clip = root / "clip.avi"
    writer = None
    for _ in range(CLIP_FRAMES):
        ok, image = capture.read()
        assert ok
        if writer is None:
            writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), fps,
                                     (image.shape[1], image.shape[0]))
        writer.write(image)
    capture.release()
    writer.release()
    images = root / "images"
    images.mkdir()
    for name in ("alphapose/3.jpg", "openpose/COCO_val2014_000000000536.jpg"):
        shutil.copy(shared_data / name, images)
    out = root / "out"
    done = subprocess.run([sys.executable, "-m", "alphapose", "run", str(clip), str(images),
                           "-o", str(out), "--pose-track", "--format", "alphapose,jsonl",
                           "--world", "--quiet"], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return {"root": root, "video_out": out / "clip", "image_out": out, "images": images,
            "clip": clip}


@pytest.fixture(scope="module")
def browser(chromium):
    from chromium_cdp import Chromium

    with Chromium.start(chromium, width=1400, height=1000) as b:
        yield b


def _keep(browser, tmp_path: Path, name: str) -> Path:
    shot = browser.screenshot(tmp_path / name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SCREENSHOTS / name)
    return shot


def _open(browser, url: str) -> None:
    browser.console.clear()
    browser.exceptions.clear()
    browser.logs.clear()
    browser.open(url)
    browser.evaluate("alphaposeView.ready")


_OVERLAY_DIGEST = """
(() => {
  const c = document.getElementById('overlay');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] + 7 * d[i + 3] + i) | 0;
  return h;
})()
"""

_OVERLAY_PIXELS = """
(() => {
  const c = document.getElementById('overlay');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  return JSON.stringify(%s.map(([x, y]) => {
    const i = 4 * (Math.round(y) * c.width + Math.round(x));
    return [d[i], d[i + 1], d[i + 2], d[i + 3]];
  }));
})()
"""


def _inside(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The points that fall on the canvas (keypoints may lie outside the image)."""
    points = np.asarray(points, np.float32).reshape(-1, 2)
    keep = (points >= 0).all(1) & (points[:, 0] < size[0] - 0.5) & (points[:, 1] < size[1] - 0.5)
    return points[keep]


def _pixels(browser, points) -> np.ndarray:
    points = [[float(x), float(y)] for x, y in points]
    return np.array(json.loads(browser.evaluate(_OVERLAY_PIXELS % json.dumps(points))))


def _visible_points(run, frame: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints drawn in ``frame`` (score above threshold) and the RGB colour of their person."""
    lo, hi = run.offsets[frame], run.offsets[frame + 1]
    points, colors = [], []
    for p in range(lo, hi):
        seen = run.keypoint_scores[p] > threshold
        b, g, r = id_color(int(run.track_ids[p]))
        points.extend(run.keypoints[p][seen])
        colors.extend([(r, g, b)] * int(seen.sum()))
    return np.array(points), np.array(colors)


def _far_points(run, frame: int, size: tuple[int, int], gap: float) -> np.ndarray:
    """Grid points at least ``gap`` pixels from every keypoint and box of ``frame``."""
    lo, hi = run.offsets[frame], run.offsets[frame + 1]
    xs, ys = np.meshgrid(np.arange(8, size[0] - 8, 40), np.arange(8, size[1] - 8, 40))
    grid = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
    things = [run.keypoints[lo:hi].reshape(-1, 2), run.xyxy[lo:hi, :2],
              run.xyxy[lo:hi, 2:]]
    near = np.concatenate([t[np.isfinite(t).all(1)] for t in things])
    distance = np.linalg.norm(grid[:, None] - near[None], axis=-1).min(1)
    return grid[distance > gap]


def _check_skeleton_pixels(browser, run, frame: int, size: tuple[int, int]) -> None:
    points, colors = _visible_points(run, frame, 0.3)
    on_canvas = ((points >= 0).all(1) & (points[:, 0] < size[0] - 0.5)
                 & (points[:, 1] < size[1] - 0.5))
    points, colors = points[on_canvas], colors[on_canvas]
    assert len(points) > 20
    pixels = _pixels(browser, points)
    opaque = pixels[:, 3] == 255
    same = (np.abs(pixels[:, :3].astype(int) - colors).max(1) <= 2) & opaque
    any_person = np.zeros(len(points), bool)  # overlapping people: another person's colour
    palette = np.unique(colors, axis=0)
    for color in palette:
        any_person |= (np.abs(pixels[:, :3].astype(int) - color).max(1) <= 2) & opaque
    assert opaque.mean() > 0.97, f"{(~opaque).sum()} of {len(points)} keypoints not drawn"
    assert same.mean() > 0.8 and any_person.mean() > 0.9, (same.mean(), any_person.mean())
    far = _far_points(run, frame, size, gap=60)
    assert len(far) > 20
    assert (_pixels(browser, far)[:, 3] == 0).all(), "drawing where nobody is"


@pytest.mark.models
def test_page_of_a_real_video_run(browser, real_run, tmp_path):
    page = view(real_run["video_out"], quiet=True)
    run = load_run(real_run["video_out"])
    assert run.num_frames == CLIP_FRAMES and run.counts.min() > 0
    media = (page.parent / "view-media" / "clip.webm")
    assert media.is_file()  # the AVI, copied for the browser
    _open(browser, page.as_uri())
    assert browser.evaluate("document.getElementById('video').error") is None
    browser.evaluate("new Promise(r => { const v = document.getElementById('video');"
                     " v.readyState >= 2 ? r() : v.addEventListener('loadeddata', r); })")
    size = (browser.evaluate("document.getElementById('overlay').width"),
            browser.evaluate("document.getElementById('overlay').height"))
    assert size == (1280, 720)
    _check_skeleton_pixels(browser, run, 0, size)

    # one lane per track id, with the track's colour; clicking a lane jumps to its frame
    ids = sorted(set(run.track_ids.tolist()) - {-1})
    lanes = browser.evaluate("[...document.querySelectorAll('#lanes .lane')]"
                             ".map(l => Number(l.dataset.track))")
    assert lanes == ids
    _keep(browser, tmp_path, "video-frame1.png")

    # scrubbing changes the frame: label, video time and the pixels drawn
    before = browser.evaluate(_OVERLAY_DIGEST)
    browser.evaluate("(() => { const s = document.getElementById('scrub'); s.value = 3;"
                     " s.dispatchEvent(new Event('input')); })()")
    browser.evaluate("new Promise(r => { const t = () => alphaposeView.state.drawn === 3 ? r()"
                     " : setTimeout(t, 20); t(); })")
    assert browser.evaluate("document.getElementById('frame-label').textContent") \
        .startswith(f"frame 4 / {CLIP_FRAMES}")
    fps = browser.evaluate("alphaposeView.data.media.fps")
    assert abs(browser.evaluate("document.getElementById('video').currentTime") - 3.5 / fps) \
        < 0.5 / fps
    assert browser.evaluate(_OVERLAY_DIGEST) != before
    _check_skeleton_pixels(browser, run, 3, size)
    _keep(browser, tmp_path, "video-frame4.png")

    # part toggles: with only "foot" on (and the id labels off: a label sits at the top-left
    # corner of its person's box, possibly over another person's body), foot keypoints are
    # drawn and body keypoints away from any foot keypoint are not
    browser.evaluate("document.getElementById('show-ids').click()")
    layout = get_layout(run.layout)
    lo, hi = run.offsets[3], run.offsets[4]
    seen = run.keypoint_scores[lo:hi] > 0.3
    foot = np.zeros(layout.num_keypoints, bool)
    foot[layout.parts["foot"]] = True
    foot_points = _inside(run.keypoints[lo:hi][seen & foot], size)
    body_points = _inside(run.keypoints[lo:hi][seen & ~foot], size)
    gap = np.linalg.norm(body_points[:, None] - foot_points[None], axis=-1).min(1)
    browser.evaluate("document.querySelectorAll('#group-toggles input').forEach(box => {"
                     " if ((box.dataset.group === 'foot') !== box.checked) box.click(); })")
    assert (_pixels(browser, foot_points)[:, 3] > 0).mean() > 0.97
    assert (_pixels(browser, body_points[gap > 15])[:, 3] == 0).all()
    browser.evaluate("document.querySelectorAll('#group-toggles input').forEach(box => {"
                     " if (!box.checked) box.click(); })")
    browser.evaluate("document.getElementById('show-ids').click()")
    assert (_pixels(browser, body_points)[:, 3] > 0).mean() > 0.97

    # the score slider hides keypoints below it
    browser.evaluate("(() => { const t = document.getElementById('threshold'); t.value = 1;"
                     " t.dispatchEvent(new Event('input')); })()")
    assert (_pixels(browser, _visible_points(run, 3, 0.3)[0])[:, 3] == 0).all()
    browser.evaluate("(() => { const t = document.getElementById('threshold'); t.value = 0.3;"
                     " t.dispatchEvent(new Event('input')); })()")

    # clicking a lane jumps to the frame under the pointer
    browser.evaluate("(() => { const bar = document.querySelector('#lanes .lane .bar');"
                     " const r = bar.getBoundingClientRect(); bar.dispatchEvent(new MouseEvent("
                     "'click', {clientX: r.left + 0.6 * r.width, clientY: r.top + 2,"
                     " bubbles: true})); })()")
    jumped = int(0.6 * CLIP_FRAMES)
    browser.evaluate(f"new Promise(r => {{ const t = () => alphaposeView.state.drawn === {jumped}"
                     " ? r() : setTimeout(t, 20); t(); })")
    assert browser.evaluate("alphaposeView.state.frame") == jumped

    # play runs the video to its end and stops on the last frame
    browser.evaluate("document.getElementById('play').click()")
    browser.evaluate("new Promise(r => { const t = () => alphaposeView.state.playing ?"
                     " setTimeout(t, 20) : r(); t(); })", timeout=60)
    assert browser.evaluate("alphaposeView.state.frame") == CLIP_FRAMES - 1
    assert browser.errors() == []


def test_h264_video_is_linked_as_it_is(browser, written_run, shared_data):
    """An MP4 / H.264 video (the shared mmpose demo) is linked relative to the page, not copied,
    and plays in Chromium."""
    folder, _ = written_run
    video = shared_data / "mmpose" / "demo" / "demo.mp4"
    page = view(folder, media=video, quiet=True)
    assert not (folder / "view-media").exists()
    assert linked_files(page) == [video.resolve()]
    _open(browser, page.as_uri())
    browser.evaluate("new Promise((r, e) => { const v = document.getElementById('video');"
                     " v.readyState >= 2 ? r() : (v.addEventListener('loadeddata', r),"
                     " v.addEventListener('error', () => e(new Error('video error')))); })")
    assert browser.evaluate("[document.getElementById('video').videoWidth,"
                            " document.getElementById('video').videoHeight]") == [960, 540]
    browser.evaluate("alphaposeView.show(4)")
    assert browser.evaluate("document.getElementById('video').currentTime") == \
        pytest.approx(4.5 / 5.0, abs=0.1)
    assert browser.errors() == []


@pytest.mark.models
def test_page_of_official_results_over_images(browser, real_run, tmp_path):
    """Results in the official tool's layout (idx lists, image ids, no empty frames listed) over
    shared images: skeletons where the people are, no lanes (untracked), no errors."""
    ours = json.loads((real_run["image_out"] / "alphapose-results.json").read_text())
    official_dir = tmp_path / "official"
    official_dir.mkdir()
    entries = [{"image_id": e["image_id"], "category_id": 1, "keypoints": e["keypoints"],
                "score": e["score"], "box": e["box"],
                "idx": [0.0] if i % 2 else [[0.0], [0.0]]} for i, e in enumerate(ours)]
    (official_dir / "alphapose-results.json").write_text(json.dumps(entries))
    page = view(official_dir, media=real_run["images"], quiet=True)
    run = load_run(official_dir)
    assert run.frame_names == ["3.jpg", "COCO_val2014_000000000536.jpg"]
    assert (run.track_ids == -1).all()
    _open(browser, page.as_uri())
    assert browser.evaluate("document.querySelectorAll('#lanes .lane').length") == 0
    assert browser.evaluate("document.getElementById('pose3d-section').hidden")  # no 3D here
    for frame, name in enumerate(run.frame_names):
        browser.evaluate(f"alphaposeView.show({frame})")
        image = cv2.imread(str(real_run["images"] / name))
        size = (browser.evaluate("document.getElementById('overlay').width"),
                browser.evaluate("document.getElementById('overlay').height"))
        assert size == (image.shape[1], image.shape[0])
        lo, hi = run.offsets[frame], run.offsets[frame + 1]
        seen = run.keypoint_scores[lo:hi] > 0.3
        drawn = _pixels(browser, _inside(run.keypoints[lo:hi][seen], size))
        assert (drawn[:, 3] > 0).mean() > 0.97  # thin face / hand points: partly covered
        # untracked people take render.py's part colours: every drawn colour is one of them
        layout = get_layout(run.layout)
        palette = np.array([c[::-1] for c in layout_colors(layout)["point_colors"]
                            + layout_colors(layout)["edge_colors"]], int)
        opaque = drawn[drawn[:, 3] == 255, :3].astype(int)
        nearest = np.abs(opaque[:, None] - palette[None]).max(-1).min(1)
        # the rest are anti-aliased blends where a face's or hand's points crowd
        assert (nearest <= 3).mean() > 0.85, (nearest <= 3).mean()
        far = _far_points(run, frame, size, gap=60)
        assert (_pixels(browser, far)[:, 3] == 0).all()
        _keep(browser, tmp_path, f"official-{Path(name).stem}.png")
    browser.evaluate("alphaposeView.show(0)")
    browser.evaluate("document.getElementById('play').click()")  # images: steps at 10 fps
    browser.evaluate("new Promise(r => { const t = () => alphaposeView.state.playing ?"
                     " setTimeout(t, 20) : r(); t(); })", timeout=60)
    last = len(run.frame_names) - 1
    browser.evaluate(f"new Promise(r => {{ const t = () => alphaposeView.state.drawn === {last}"
                     " ? r() : setTimeout(t, 20); t(); })", timeout=60)
    assert browser.evaluate("alphaposeView.state.frame") == last
    assert browser.errors() == []


@pytest.mark.models
def test_compare_page_and_served_page(browser, real_run, tmp_path):
    """Two runs in two colours with their per-frame distance; the page served on 127.0.0.1."""
    a = real_run["video_out"]
    b = tmp_path / "shifted"
    b.mkdir()
    entries = json.loads((a / "alphapose-results.json").read_text())
    for e in entries:
        e["keypoints"] = [v + 6.0 if i % 3 == 0 else v + 8.0 if i % 3 == 1 else v
                          for i, v in enumerate(e["keypoints"])]
    (b / "alphapose-results.json").write_text(json.dumps(entries))
    page = compare(a, b, media=real_run["clip"], page=tmp_path / "compare.html", quiet=True)
    files = [page, *linked_files(page)]
    root = Path(os.path.commonpath([str(f.parent) for f in files]))
    with PageServer(root, files) as server:
        _open(browser, server.url(page))
        browser.evaluate("new Promise(r => { const v = document.getElementById('video');"
                         " v.readyState >= 2 ? r() : v.addEventListener('loadeddata', r); })")
        info = browser.evaluate("document.getElementById('frame-info').textContent")
        assert "mean distance 10.0 px" in info  # sqrt(6^2 + 8^2)
        colors = browser.evaluate("alphaposeView.data.runs.map(r => r.color)")
        run = load_run(a)
        lo, hi = run.offsets[0], run.offsets[1]
        seen = run.keypoint_scores[lo:hi] > 0.3
        pts = run.keypoints[lo:hi][seen]
        rgb = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in colors]
        for shift, color in (((0, 0), rgb[0]), ((6, 8), rgb[1])):
            px = _pixels(browser, pts + np.array(shift, np.float32))
            match = (np.abs(px[:, :3].astype(int) - color).max(1) <= 2) & (px[:, 3] == 255)
            assert match.mean() > 0.6, (shift, match.mean())
        lanes = browser.evaluate("document.querySelectorAll('#lanes .lane').length")
        assert lanes == 2 * len(set(run.track_ids.tolist()) - {-1})
        _keep(browser, tmp_path, "compare.png")
        assert browser.errors() == []


_POSE3D_PIXELS = """
(() => {
  const c = document.getElementById('pose3d');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  return JSON.stringify(%s.map(([x, y]) => {
    const i = 4 * (Math.round(y) * c.width + Math.round(x));
    return [d[i], d[i + 1], d[i + 2], d[i + 3]];
  }));
})()
"""


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each of ``points`` (N, 2) to each segment ``a[j]-b[j]``: (N, J)."""
    ab = b - a
    t = np.clip(((points[:, None] - a[None]) * ab[None]).sum(-1)
                / np.maximum((ab ** 2).sum(-1), 1e-9)[None], 0, 1)
    return np.linalg.norm(points[:, None] - (a[None] + t[..., None] * ab[None]), axis=-1)


def _check_pose3d_pixels(browser, run, row: int, yaw: float, pitch: float) -> None:
    """The 3D panel shows person ``row``: the middle of each of its bones in the bone's layout
    colour (most of them: a nearer bone may cross), nothing of those colours far from them."""
    side = browser.evaluate("document.getElementById('pose3d').width")
    layout = get_layout(run.layout)
    colors = layout_colors(layout)
    points = np.round(run.keypoints_3d[row].astype(np.float64) * 1000) / 1000  # the page's mm
    present = np.isfinite(points).all(1)
    view = project_3d(np.where(present[:, None], points, 0.0), yaw, pitch) * side / 2.2 + side / 2
    edges = [(a, b, e) for e, (a, b) in enumerate(layout.edges)
             if present[a] and present[b] and not colors["edge_thin"][e]
             and np.linalg.norm(view[a] - view[b]) > 8]
    assert len(edges) >= 10
    middles = np.array([(view[a] + view[b]) / 2 for a, b, _ in edges])
    want = np.array([colors["edge_colors"][e][::-1] for _, _, e in edges], int)
    pixels = np.array(json.loads(browser.evaluate(
        _POSE3D_PIXELS % json.dumps(middles.tolist()))))
    match = (np.abs(pixels[:, :3].astype(int) - want).max(1) <= 3) & (pixels[:, 3] == 255)
    assert match.mean() > 0.8, match.mean()
    # away from every bone and joint: only the panel's background and floor grid
    xs, ys = np.meshgrid(np.arange(4, side - 4, 9), np.arange(4, side - 4, 9))
    grid = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    shown = np.array([[a, b] for a, b, _ in edges]).T
    away = grid[(_segment_distance(grid, view[shown[0]], view[shown[1]]).min(1) > 12)
                & (np.linalg.norm(grid[:, None] - view[present][None], axis=-1).min(1) > 12)]
    assert len(away) > 200
    pixels = np.array(json.loads(browser.evaluate(_POSE3D_PIXELS % json.dumps(away.tolist()))))
    palette = np.unique(np.array([c[::-1] for c in colors["edge_colors"]
                                  + colors["point_colors"]], int), axis=0)
    skeleton_like = (np.abs(pixels[:, None, :3].astype(int) - palette[None]).max(-1) <= 3).any(1)
    assert not skeleton_like.any(), f"{skeleton_like.sum()} skeleton-coloured pixels away from it"


@pytest.mark.models
def test_3d_panel_of_a_real_run(browser, real_run, tmp_path):
    """A run with --world: the 3D panel shows the person under the pointer (else the selected
    track's, else the frame's best), from the fixed viewpoint, in the layout colours, and turns
    when dragged."""
    page = view(real_run["video_out"], quiet=True)
    run = load_run(real_run["video_out"])
    assert run.keypoints_3d is not None
    _open(browser, page.as_uri())
    assert not browser.evaluate("document.getElementById('pose3d-section').hidden")
    frame = 1
    browser.evaluate(f"alphaposeView.show({frame})")
    lo, hi = run.offsets[frame], run.offsets[frame + 1]
    boxes = run.xyxy[lo:hi]
    # without a pointer: the frame's highest-scoring person
    best = int(np.argmax(run.scores[lo:hi]))
    assert json.loads(browser.evaluate("JSON.stringify(alphaposeView.pose3d.shown)")) == \
        {"run": 0, "frame": frame, "index": best}
    _check_pose3d_pixels(browser, run, lo + best, -30.0, 15.0)
    # the pointer over a person (the centre of a tall box no other box holds) shows them
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    inside = ((centres[:, None] >= boxes[None, :, :2]) & (centres[:, None] <= boxes[None, :, 2:]))
    alone = [i for i in np.argsort(-(boxes[:, 3] - boxes[:, 1]))
             if inside[i].all(-1).sum() == 1 and i != best]
    target = int(alone[0])
    x, y = (float(v) for v in centres[target])
    browser.evaluate("(() => { const o = document.getElementById('overlay');"
                     " const r = o.getBoundingClientRect(); o.dispatchEvent(new MouseEvent("
                     f"'mousemove', {{clientX: r.left + {x} * r.width / o.width,"
                     f" clientY: r.top + {y} * r.height / o.height, bubbles: true}})); }})()")
    assert json.loads(browser.evaluate("JSON.stringify(alphaposeView.pose3d.shown)")) == \
        {"run": 0, "frame": frame, "index": target}
    _check_pose3d_pixels(browser, run, lo + target, -30.0, 15.0)
    assert f"id {run.track_ids[lo + target]}" in browser.evaluate(
        "document.getElementById('pose3d-who').textContent")
    _keep(browser, tmp_path, "pose3d-hover.png")
    # the pointer stays where it is on the next frame: whoever's box holds it now
    browser.evaluate(f"alphaposeView.show({frame + 1})")
    lo2, hi2 = run.offsets[frame + 1], run.offsets[frame + 2]
    boxes2 = run.xyxy[lo2:hi2]
    holds = (boxes2[:, 0] <= x) & (x <= boxes2[:, 2]) & (boxes2[:, 1] <= y) & (y <= boxes2[:, 3])
    areas = np.where(holds, (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1]), np.inf)
    now = int(np.argmin(areas)) if holds.any() else int(np.argmax(run.scores[lo2:hi2]))
    assert json.loads(browser.evaluate("JSON.stringify(alphaposeView.pose3d.shown)")) == \
        {"run": 0, "frame": frame + 1, "index": now}
    browser.evaluate(f"alphaposeView.show({frame})")
    # dragging turns the view by 0.6 degrees per pixel; a double-click turns it back
    browser.evaluate("(() => { const c = document.getElementById('pose3d');"
                     " const r = c.getBoundingClientRect();"
                     " const at = (type, dx) => c.dispatchEvent(new PointerEvent(type, {"
                     " clientX: r.left + 100 + dx, clientY: r.top + 100, pointerId: 1,"
                     " bubbles: true}));"
                     " at('pointerdown', 0); at('pointermove', 100); at('pointerup', 100); })()")
    assert browser.evaluate("alphaposeView.pose3d.view.yaw") == pytest.approx(30.0)
    _check_pose3d_pixels(browser, run, lo + target, 30.0, 15.0)
    browser.evaluate("document.getElementById('pose3d').dispatchEvent("
                     "new MouseEvent('dblclick', {bubbles: true}))")
    assert browser.evaluate("alphaposeView.pose3d.view.yaw") == pytest.approx(-30.0)
    # the pointer leaves: back to the frame's best person
    browser.evaluate("document.getElementById('overlay').dispatchEvent("
                     "new MouseEvent('mouseleave'))")
    assert json.loads(browser.evaluate("JSON.stringify(alphaposeView.pose3d.shown)"))["index"] \
        == best
    assert browser.errors() == []
