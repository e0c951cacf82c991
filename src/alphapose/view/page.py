"""Build the results page: one self-contained HTML file (script, styles and data inline).

The page's script and styles are the package files ``view/assets/view.{js,css,html}``. The data
goes in two kinds of inline ``<script>`` elements the browser does not run:

* ``view-data`` (JSON): layout, colours, media, per-run summaries (people per frame, mean score
  per part, presence segments and confidence per part of every track), compare differences.
* ``chunk-R-C`` (base64 of deflate-compressed bytes): the people of run ``R``'s frames in chunk
  ``C``, decoded by the page only when it shows a frame of that chunk (lazy loading: a page of a
  30-minute video opens without parsing its results).

Chunk bytes, little-endian, in this order (each array aligned to its item size)::

    int32   header[4]    frames F, people P, keypoints K, coordinate scale S
    int32   ids[P]       track ids (-1 untracked)
    float32 boxes[P*4]   x1 y1 x2 y2 (NaN: none)
    float32 scores[P]    person scores
    uint8   xy_hi[2*P*K] high bytes, then
    uint8   xy_lo[2*P*K] low bytes of int16 values: all x then all y, in pixels * S (rounded)
    uint16  counts[F]    people per frame
    uint8   conf[P*K]    keypoint scores * 254 (rounded, clipped to [0, 1])

A tracked person's ``xy`` and ``conf`` are differences from the same track's previous person in
the chunk (modulo 2**16 and 2**8, so they wrap exactly); untracked people and a track's first
person in the chunk hold values. Differences over time and the split into high and low bytes
make the chunk compress to about 60 % of what the plain arrays do.

A run with 3D keypoints (``--world``) has, per chunk, a ``chunk3d-R-C`` element too (base64 of
deflate-compressed bytes, the same frames): ``int16 xyz[3*P*K3]``, all x then all y then all z
of the chunk's people, in millimetres (``-32768``: absent), for the first ``K3`` keypoints of the
layout (``run_summary``'s ``k3``: up to the last one any person has in 3D).
"""

from __future__ import annotations

import base64
import html
import json
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from alphapose.skeletons import get_layout
from alphapose.view.media import Media, browser_playable, transcode
from alphapose.view.results import Run

__all__ = ["COMPARE_COLORS", "GROUPS", "build_html", "chunk3d_bytes", "chunk_bytes",
           "compare_differences", "keypoints_3d_count", "run_summary", "write_page"]

#: keypoint groups the page toggles and plots (both hands are one group)
GROUPS: tuple[str, ...] = ("body", "foot", "face", "hand")
_GROUP_OF_PART = {"body": "body", "foot": "foot", "face": "face", "left_hand": "hand",
                  "right_hand": "hand"}
#: run colours of a compare page (BGR): A, B
COMPARE_COLORS: tuple[tuple[int, int, int], ...] = ((0, 140, 255), (255, 255, 0))
_CHUNK_BYTES = 1 << 19   # raw bytes per chunk (before compression), about
_TIME_BINS = 800         # bins of the run-wide plots
_TRACK_BINS = 200        # bins of one track's confidence plot, at most
_NO_DATA = 255           # uint8 plot value: no people in the bin
_XY_LIMIT = 8000.0       # |coordinate| that still fits int16 at scale 4
_SWITCH_FRAMES = 12      # a track starting this soon after another ended nearby: a switch?
_ABSENT_3D = -32768      # int16 millimetres of an absent 3D keypoint


# ------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------


def _hex(bgr: Sequence[int]) -> str:
    b, g, r = (int(v) for v in bgr)
    return f"#{r:02x}{g:02x}{b:02x}"


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def layout_data(layout_name: str | None, num_keypoints: int) -> dict[str, Any]:
    """Edges, colours and parts of a layout as the page draws them (from
    :mod:`alphapose.skeletons` and :func:`alphapose.render.layout_colors`)."""
    from alphapose.render import layout_colors, part_color

    group_colors = {"body": _hex(part_color("body", "right")),
                    "foot": _hex(part_color("foot", "left")),
                    "face": _hex(part_color("face")), "hand": _hex(part_color("left_hand"))}
    if layout_name is None:
        return {"name": None, "num_keypoints": num_keypoints, "edges": [], "edge_colors": [],
                "edge_thin": [], "point_colors": ["#ffffff"] * num_keypoints,
                "point_thin": [False] * num_keypoints, "groups": ["body"],
                "point_group": [0] * num_keypoints, "group_colors": group_colors}
    layout = get_layout(layout_name)
    colors = layout_colors(layout)
    groups = [g for g in GROUPS
              if any(_GROUP_OF_PART[p] == g for p in layout.keypoint_parts)]
    return {
        "name": layout.name, "num_keypoints": layout.num_keypoints,
        "edges": [list(e) for e in layout.edges],
        "edge_colors": [_hex(c) for c in colors["edge_colors"]],
        "edge_thin": list(colors["edge_thin"]),
        "point_colors": [_hex(c) for c in colors["point_colors"]],
        "point_thin": list(colors["point_thin"]),
        "groups": groups,
        "point_group": [groups.index(_GROUP_OF_PART[p]) for p in layout.keypoint_parts],
        "group_colors": group_colors,
    }


def _group_index(run: Run) -> tuple[list[str], np.ndarray]:
    if run.layout is None:
        return ["body"], np.zeros(run.num_keypoints, np.int64)
    layout = layout_data(run.layout, run.num_keypoints)
    return layout["groups"], np.asarray(layout["point_group"], np.int64)


def _person_group_means(run: Run) -> tuple[list[str], np.ndarray]:
    """``(P, G)`` mean keypoint score per person and group."""
    groups, index = _group_index(run)
    scores = np.clip(run.keypoint_scores.astype(np.float64), 0.0, 1.0)
    means = np.zeros((len(scores), len(groups)))
    for g in range(len(groups)):
        means[:, g] = scores[:, index == g].mean(axis=1) if (index == g).any() else 0.0
    return groups, means


def _binned(values: np.ndarray, positions: np.ndarray, first: int, span: int,
            bins: int) -> np.ndarray:
    """``(bins, G)`` uint8 means of ``values`` ``(N, G)`` in [0, 1] by frame bin (255: empty)."""
    which = ((positions - first) * bins // max(span, 1)).clip(0, bins - 1)
    sums = np.zeros((bins, values.shape[1]))
    np.add.at(sums, which, values)
    counts = np.bincount(which, minlength=bins)[:, None]
    out = np.full((bins, values.shape[1]), _NO_DATA, np.uint8)
    filled = counts[:, 0] > 0
    out[filled] = np.round(sums[filled] / counts[filled] * 254).astype(np.uint8)
    return out


def _segments(positions: np.ndarray) -> list[list[int]]:
    """Runs of consecutive frame positions as ``[first, last]`` pairs."""
    if not len(positions):
        return []
    breaks = np.flatnonzero(np.diff(positions) > 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(positions) - 1]])
    return [[int(positions[s]), int(positions[e])] for s, e in zip(starts, ends, strict=True)]


def _where(run: Run, row: int) -> tuple[np.ndarray, float] | None:
    """Centre and size (box diagonal, pixels) of person ``row``: its box, else its keypoints."""
    box = run.xyxy[row]
    if not np.isfinite(box).all():
        seen = run.keypoints[row][run.keypoint_scores[row] > 0]
        if len(seen) < 2:
            return None
        box = np.concatenate([seen.min(0), seen.max(0)])
    return (box[:2] + box[2:]) / 2, float(np.linalg.norm(box[2:] - box[:2]))


def _mark_switches(run: Run, tracks: list[dict[str, Any]]) -> None:
    """Mark each track that starts where another ended just before (within
    ``_SWITCH_FRAMES`` frames, centres closer than half the person's size): a likely id switch.
    Sets ``after`` ({"id", "gap"}: the track it may continue) or None on every track."""
    import bisect

    by_last = sorted(tracks, key=lambda t: t["last"])
    lasts = [t["last"] for t in by_last]
    for track in tracks:
        track["after"] = None
        start = _where(run, track["_first_row"])
        if start is None or track["first"] == 0:
            continue
        best = None
        lo = bisect.bisect_left(lasts, track["first"] - _SWITCH_FRAMES)
        hi = bisect.bisect_left(lasts, track["first"])
        for other in by_last[lo:hi]:  # ended 1 to _SWITCH_FRAMES frames before it starts
            gap = track["first"] - other["last"]
            end = _where(run, other["_last_row"])
            if end is None:
                continue
            distance = float(np.linalg.norm(start[0] - end[0]))
            if distance < 0.5 * max(start[1], end[1]) and (best is None or distance < best[0]):
                best = (distance, other["id"], gap)
        if best is not None:
            track["after"] = {"id": best[1], "gap": best[2]}
    for track in tracks:
        del track["_first_row"], track["_last_row"]


def run_summary(run: Run) -> dict[str, Any]:
    """The run-wide figures of the page (all computed here, none by the page)."""
    from alphapose.render import id_color

    groups, means = _person_group_means(run)
    frame = run.frame_of_person()
    num_frames = max(run.num_frames, 1)
    bins = min(num_frames, _TIME_BINS)
    tracks = []
    ids = run.track_ids
    order = np.argsort(ids, kind="stable")  # rows of each track together, in frame order
    track_ids, starts = np.unique(ids[order], return_index=True)
    rows_of_track = np.split(order, starts[1:]) if len(ids) else []
    for track_id, rows in zip(track_ids, rows_of_track, strict=True):
        if track_id < 0:
            continue
        positions = np.unique(frame[rows])
        first, last = int(positions[0]), int(positions[-1])
        span = last - first + 1
        track_bins = min(span, _TRACK_BINS)
        tracks.append({
            "id": int(track_id), "color": _hex(id_color(int(track_id))),
            "segments": _segments(positions), "frames": len(positions),
            "first": first, "last": last, "bins": track_bins,
            "conf": _b64(_binned(means[rows], frame[rows], first, span, track_bins)),
            "_first_row": int(rows[0]), "_last_row": int(rows[-1]),
        })
    _mark_switches(run, tracks)
    kp = np.clip(run.keypoint_scores, 0, 1)
    _, index = _group_index(run)
    part_means = {g: (round(float(kp[:, index == i].mean()), 4) if len(kp) else None)
                  for i, g in enumerate(groups)}
    return {
        "name": run.name,
        "people": len(run.scores),
        "counts": _b64(run.counts.astype(np.uint16)),
        "max_count": int(run.counts.max()) if len(run.counts) else 0,
        "empty_frames": int((run.counts == 0).sum()),
        "groups": groups,
        "part_means": part_means,
        "conf_bins": bins,
        "conf_time": _b64(_binned(means, frame, 0, num_frames, bins)) if len(frame) else "",
        "tracks": tracks,
        "untracked": int((ids < 0).sum()),
        "settings": run.settings,
        "k3": keypoints_3d_count(run),
    }


def _previous_of_track(track_ids: np.ndarray) -> np.ndarray:
    """``(P,)`` row of the same track's previous person (-1: none, or untracked)."""
    if not len(track_ids):
        return np.zeros(0, np.int64)
    rows = np.arange(len(track_ids))
    order = np.lexsort((rows, track_ids))
    same = np.r_[False, track_ids[order][1:] == track_ids[order][:-1]]
    previous = np.full(len(track_ids), -1, np.int64)
    previous[order[same]] = order[np.flatnonzero(same) - 1]
    previous[track_ids < 0] = -1
    return previous


def chunk_bytes(run: Run, first: int, last: int) -> bytes:
    """The raw (uncompressed) bytes of frames ``first:last`` (layout in the module doc)."""
    offsets = run.offsets
    lo, hi = int(offsets[first]), int(offsets[last])
    k = run.num_keypoints
    ids = run.track_ids[lo:hi]
    xy = run.keypoints[lo:hi]
    finite = np.isfinite(xy)
    scale = 4 if not finite.any() or np.abs(xy[finite]).max() < _XY_LIMIT else 1
    xy = np.where(finite, xy, 0.0) * scale
    values = np.clip(np.round(xy.transpose(2, 0, 1)), -32767, 32767).astype(np.int32)
    conf = np.round(np.clip(np.nan_to_num(run.keypoint_scores[lo:hi]), 0, 1) * 254)
    conf = conf.astype(np.int32)
    previous = _previous_of_track(ids)
    has = previous >= 0
    values[:, has] -= values[:, previous[has]]
    conf[has] -= conf[previous[has]]
    words = (values & 0xFFFF).astype(np.uint16)
    parts = [
        np.array([last - first, hi - lo, k, scale], "<i4"),
        ids.astype("<i4"),
        run.xyxy[lo:hi].astype("<f4"),
        run.scores[lo:hi].astype("<f4"),
        (words >> 8).astype(np.uint8),
        (words & 0xFF).astype(np.uint8),
        run.counts[first:last].astype("<u2"),
        (conf & 0xFF).astype(np.uint8),
    ]
    return b"".join(np.ascontiguousarray(p).tobytes() for p in parts)


def keypoints_3d_count(run: Run) -> int:
    """How many of the layout's first keypoints the page gets in 3D: up to the last one any
    person has (0: the run has no 3D keypoints)."""
    if run.keypoints_3d is None:
        return 0
    present = np.isfinite(run.keypoints_3d).all(-1).any(0)
    return int(np.flatnonzero(present)[-1]) + 1 if present.any() else 0


def chunk3d_bytes(run: Run, first: int, last: int) -> bytes:
    """The raw bytes of the 3D keypoints of frames ``first:last`` (module doc), or b"" when
    the run has none."""
    k3 = keypoints_3d_count(run)
    if not k3 or run.keypoints_3d is None:
        return b""
    offsets = run.offsets
    points = run.keypoints_3d[int(offsets[first]):int(offsets[last]), :k3].astype(np.float64)
    millimetres = np.round(np.clip(np.nan_to_num(points, nan=0.0), -32.7, 32.7) * 1000)
    values = np.where(np.isfinite(points), millimetres, _ABSENT_3D).astype("<i2")
    return np.ascontiguousarray(values.transpose(2, 0, 1)).tobytes()


def _chunk_bounds(run: Run) -> list[tuple[int, int]]:
    """Frame ranges of about ``_CHUNK_BYTES`` raw bytes each."""
    per_person = 28 + run.num_keypoints * 5 + keypoints_3d_count(run) * 6
    cost = run.counts.astype(np.int64) * per_person + 2
    bounds, start, total = [], 0, 0
    for f, c in enumerate(cost):
        total += int(c)
        if total >= _CHUNK_BYTES:
            bounds.append((start, f + 1))
            start, total = f + 1, 0
    if start < run.num_frames or not bounds:
        bounds.append((start, run.num_frames))
    return bounds


def _chunks(run: Run, r: int) -> tuple[list[dict[str, int]], Iterator[tuple[str, str]]]:
    bounds = _chunk_bounds(run)
    table = [{"first": a, "last": b} for a, b in bounds]

    def encoded() -> Iterator[tuple[str, str]]:
        for c, (a, b) in enumerate(bounds):
            data = zlib.compress(chunk_bytes(run, a, b), 6)
            yield f"chunk-{r}-{c}", base64.b64encode(data).decode("ascii")
            extra = chunk3d_bytes(run, a, b)
            if extra:
                yield f"chunk3d-{r}-{c}", base64.b64encode(zlib.compress(extra, 6)).decode("ascii")

    return table, encoded()


# ------------------------------------------------------------------------------------------------
# frames shared by the runs of a page
# ------------------------------------------------------------------------------------------------


def align(run: Run, names: list[str]) -> Run:
    """``run`` with its frames re-ordered onto ``names`` (frames it lacks are empty)."""
    if run.frame_names == names:
        return run
    where = {n: i for i, n in enumerate(run.frame_names)}
    offsets = run.offsets
    rows: list[np.ndarray] = []
    counts = np.zeros(len(names), np.int32)
    for f, name in enumerate(names):
        i = where.get(name)
        if i is not None:
            rows.append(np.arange(offsets[i], offsets[i + 1]))
            counts[f] = run.counts[i]
    take = np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64)
    stamps = None
    if run.timestamps is not None:
        stamps = np.array([run.timestamps[where[n]] if n in where else np.nan for n in names])
    return replace(run, frame_names=list(names), counts=counts, keypoints=run.keypoints[take],
                   keypoint_scores=run.keypoint_scores[take], xyxy=run.xyxy[take],
                   scores=run.scores[take], track_ids=run.track_ids[take], timestamps=stamps,
                   keypoints_3d=None if run.keypoints_3d is None else run.keypoints_3d[take])


def _named_by_image(run: Run, media: Media) -> Run:
    """``run`` with integer image ids (the official ``--eval`` output) renamed to the media's
    image files they were parsed from (``785`` -> ``000000000785.jpg``)."""
    from alphapose.formats import image_id_from_name

    if media.kind != "images" or not media.images or run.video_frames or \
            not all(n.isdigit() for n in run.frame_names):
        return run
    by_id: dict[str, str] = {}
    for name in media.images:
        try:
            by_id.setdefault(str(image_id_from_name(name)), name)
        except ValueError:
            continue
    if not any(n in by_id and n not in media.images for n in run.frame_names):
        return run
    return replace(run, frame_names=[by_id.get(n, n) for n in run.frame_names])


def frame_names_for(runs: Sequence[Run], media: Media) -> list[str]:
    """The page's frames: the video's frames, or the media's images, or the runs' frames in
    order (a run's frames missing from the media are kept, at the end)."""
    names: list[str] = []
    seen: set[str] = set()

    def add(items: Sequence[str]) -> None:
        for n in items:
            if n not in seen:
                seen.add(n)
                names.append(n)

    if all(r.video_frames for r in runs):
        total = max([r.num_frames for r in runs] + [media.frames if media.kind == "video" else 0])
        return [f"{i}.jpg" for i in range(total)]
    if media.kind == "images" and media.images:
        add(list(media.images))
    for run in runs:
        add(run.frame_names)
    return names


def compare_differences(a: Run, b: Run, threshold: float) -> dict[str, Any]:
    """Per frame: people in each run, people matched, and the mean keypoint distance (pixels)
    of matched people over keypoints both see above ``threshold``.

    People are matched greedily by that distance (closest pairs first), only when their boxes
    (or keypoint extents) overlap.
    """
    oa, ob = a.offsets, b.offsets
    distance = np.full(a.num_frames, np.nan, np.float32)
    matched = np.zeros(a.num_frames, np.int32)
    for f in range(a.num_frames):
        pa = slice(oa[f], oa[f + 1])
        pb = slice(ob[f], ob[f + 1])
        na, nb = oa[f + 1] - oa[f], ob[f + 1] - ob[f]
        if not na or not nb:
            continue
        ka, kb = a.keypoints[pa], b.keypoints[pb]
        both = (a.keypoint_scores[pa][:, None] > threshold) & \
               (b.keypoint_scores[pb][None] > threshold)
        gap = np.linalg.norm(ka[:, None] - kb[None], axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(both, gap, 0).sum(-1) / both.sum(-1)
        mean[~np.isfinite(mean)] = np.inf
        sizes = np.maximum(_person_size(ka, a.keypoint_scores[pa] > threshold)[:, None],
                           _person_size(kb, b.keypoint_scores[pb] > threshold)[None])
        mean[mean > sizes] = np.inf  # farther than the person is big: not the same person
        pairs = []
        while np.isfinite(mean).any():
            i, j = np.unravel_index(np.argmin(mean), mean.shape)
            pairs.append(float(mean[i, j]))
            mean[i, :] = np.inf
            mean[:, j] = np.inf
        matched[f] = len(pairs)
        if pairs:
            distance[f] = float(np.mean(pairs))
    return {"matched": _b64(matched.astype(np.uint16)), "distance": _b64(distance),
            "threshold": threshold}


def _person_size(keypoints: np.ndarray, seen: np.ndarray) -> np.ndarray:
    out = np.zeros(len(keypoints))
    for i in range(len(keypoints)):
        pts = keypoints[i][seen[i]]
        if len(pts) >= 2:
            out[i] = float(np.linalg.norm(pts.max(0) - pts.min(0)))
    return out


# ------------------------------------------------------------------------------------------------
# the page
# ------------------------------------------------------------------------------------------------


def _asset(name: str) -> str:
    return resources.files("alphapose.view").joinpath("assets", name).read_text("utf-8")


def _media_data(media: Media, page_dir: Path, names: list[str],
                video_src: Path | None) -> dict[str, Any]:
    def rel(path: Path) -> str:
        return Path(os.path.relpath(path.resolve(), page_dir.resolve())).as_posix()

    if media.kind == "video":
        assert video_src is not None  # set with kind video
        return {"kind": "video", "src": rel(video_src), "fps": media.fps,
                "width": media.size[0] if media.size else 0,
                "height": media.size[1] if media.size else 0}
    if media.kind == "images":
        images = media.images or {}
        return {"kind": "images", "srcs": [rel(images[n]) if n in images else None
                                           for n in names]}
    width, height = media.size or (640, 480)
    return {"kind": "none", "width": width, "height": height}


def build_html(runs: Sequence[Run], media: Media, page: Path, *, title: str,
               threshold: float = 0.3, video_src: Path | None = None,
               compare: bool = False) -> Iterator[str]:
    """The page's text, in pieces (written one after the other: a large run is never one
    string). ``runs`` must share their frames (:func:`align`)."""
    page_dir = page.parent
    names = runs[0].frame_names
    layout_name = next((r.layout for r in runs if r.layout), None)
    k = max(r.num_keypoints for r in runs)
    data: dict[str, Any] = {
        "version": 1, "title": title,
        "layout": layout_data(layout_name, k),
        "threshold": threshold,
        "frames": len(names),
        "names": None if runs[0].video_frames else names,
        "media": _media_data(media, page_dir, names, video_src),
        "compare": compare,
        "runs": [],
    }
    chunk_streams = []
    for r, run in enumerate(runs):
        summary = run_summary(run)
        table, stream = _chunks(run, r)
        summary["chunks"] = table
        if compare:
            summary["color"] = _hex(COMPARE_COLORS[r % len(COMPARE_COLORS)])
        data["runs"].append(summary)
        chunk_streams.append(stream)
    if compare and len(runs) == 2:
        data["diff"] = compare_differences(runs[0], runs[1], threshold)
    text = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    template = _asset("view.html")
    head, tail = template.split("<!--DATA-->")
    yield (head.replace("/*STYLE*/", _asset("view.css"))
           .replace("<!--TITLE-->", html.escape(title)))
    yield f'<script type="application/json" id="view-data">{text}</script>\n'
    for stream in chunk_streams:
        for chunk_id, encoded in stream:
            yield f'<script type="application/octet-stream" id="{chunk_id}">{encoded}</script>\n'
    yield tail.replace("/*SCRIPT*/", _asset("view.js"))


def write_page(runs: Sequence[Run], media: Media, page: str | os.PathLike[str], *,
               title: str, threshold: float = 0.3, transcode_video: bool = True,
               compare: bool = False, quiet: bool = False) -> Path:
    """Write the page of ``runs`` (one run, or two for a compare page) to ``page``.

    The video is linked relative to the page; one browsers cannot play (AVI, MPEG-4 part 2)
    is first copied next to the page as WebM (``view-media/<stem>.webm``), unless
    ``transcode_video`` is False.

    Returns:
        The page's path.
    """
    page = Path(page)
    runs = [_named_by_image(r, media) for r in runs]
    names = frame_names_for(runs, media)
    runs = [align(r, names) for r in runs]
    video_src = media.video
    if media.kind == "video" and media.video is not None and transcode_video \
            and not browser_playable(media.video):
        target = page.parent / "view-media" / f"{media.video.stem}.webm"
        if not target.is_file() or target.stat().st_mtime < media.video.stat().st_mtime:
            transcode(media.video, target, media.fps, quiet=quiet)
        video_src = target
    page.parent.mkdir(parents=True, exist_ok=True)
    tmp = page.with_name(f".{page.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as file:
        file.writelines(build_html(runs, media, page, title=title, threshold=threshold,
                                   video_src=video_src, compare=compare))
    tmp.replace(page)
    return page
