"""The video fast path of the embedded estimator: hands and faces followed from frame to frame.

On a video frame without detection the embedded estimator follows each person of the previous
frame with one body pass (:class:`~alphapose.estimators.blaze.BlazeWholeBody`). With
``BlazeWholeBodyConfig(fast_video=True)`` their hands and face are followed too, as MediaPipe
tracks a hand or a face:

* a part found in the previous frame (presence >= :data:`MIN_PRESENCE`) is cropped where its own
  landmarks put it (:func:`~alphapose.estimators.face_hand.hand_rect_from_landmarks`,
  :func:`~alphapose.estimators.face_hand.face_rect_from_mesh`), moved by how far its body
  anchor moved (wrist for a hand, nose for the face); a second pass runs only when the crop
  the first pass's landmarks place is not within :data:`TOLERANCE` of the one it ran on
  (:func:`converged`);
* a part not found in the previous frame is looked for again where the body puts it (the
  full path), unless the body puts it in a crop smaller than any in which the part models
  found one on the shared data (:data:`MIN_SEARCH_SIDE`: hands under 10 px, faces under
  12 px): then its previous points are carried, moved with its anchor, until a detection
  frame or a larger crop looks again. Measured with the full path (balanced): on the shared
  stills (COCO, OpenPose, AlphaPose, OpenPifPaf, PoseTrack images) the smallest hand crop
  with presence >= 0.5 is 9.7 px (1 of 77 under 10 px; 4 of 123 under 16 px, 26 of 155 from
  16 to 60 px), the smallest face crop 12.7 px (none of 27 under 12 px); on 5 frames of
  ``mmpose/demo/demo.mp4`` 11.6 and 13.7 px; on 20 frames of the shared street video none of
  727 hand crops under 20 px (442 are under 10 px) and no face crop at all. Small hands and
  faces in crowds have presence < 0.5 most of the time, so without this gate most parts in a
  crowd of small people take the full path and the fast path saves little (balanced: hand
  invokes 1937 vs 1940, 13 vs 12 hands found). Carrying
  every part not found instead (no invoke) lost 4 of the 5 hands the full path finds there;
  one search pass instead of two found 7 of 12 at 0.62x the hand invokes;
* a person not followed (detection frames, still images) gets the full path: crops placed from
  the body, the configured passes (the same results as without the fast path).

So a followed person costs about one body, two hand and one face invoke, as in MediaPipe
Holistic, instead of one body, four hand and two face invokes. The next frame waits for this
frame's parts only through futures (:func:`after`), never in a worker.

Figures (README "Modes"; ``bench/video_fast.py``): keypoint drift between the fast and the full
path on the shared videos, and persons/s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from alphapose.tasks import LATER, Tasks, resolved, then
from alphapose.transforms import RotatedRect, normalize_angle

__all__ = ["BODY_TOLERANCE", "MIN_PRESENCE", "TOLERANCE", "PartTrack", "after", "converged", "submit_parts"]

#: a part whose presence is below this in one frame is not followed into the next (MediaPipe's
#: hand and face presence threshold)
MIN_PRESENCE = 0.5
#: a crop is re-placed by a second pass only when the first pass's landmarks move it by more
#: than this fraction of its side (centre, side or rotation, see :func:`converged`)
TOLERANCE = 0.1
#: the same for a body pass (stricter: the body's points place the hands and face too)
BODY_TOLERANCE = 0.05
#: a part not found in the previous frame is looked for again only when the body places it in a
#: crop at least this wide (pixels): below it the part models almost never find it
MIN_SEARCH_SIDE = {"hand": 10.0, "face": 12.0}
#: BlazePose point each part moves with, by the part's first Halpe-136 index (face 26: nose;
#: left hand 94: left wrist; right hand 115: right wrist)
ANCHORS = {26: 0, 94: 15, 115: 16}


@dataclass(frozen=True)
class PartTrack:
    """What the next frame needs of one hand or face of one person.

    Attributes:
        presence: the part's presence probability.
        rect: the crop its landmarks place (MediaPipe's tracking rule).
        anchor: ``(2,)`` the body point the part moves with, image pixels, in this frame.
        points: ``(K, 2)`` the part's points output in this frame.
        scores: ``(K,)`` their scores.
    """

    presence: float
    rect: RotatedRect
    anchor: np.ndarray
    points: np.ndarray
    scores: np.ndarray


def converged(before: RotatedRect, after: RotatedRect, tolerance: float = TOLERANCE) -> bool:
    """Whether ``after`` is within ``tolerance`` of ``before``: centre shift, change of side and
    rotation (as the arc it moves a corner-free point at half the side), each over ``before``'s
    side.

    Example:
        >>> converged(RotatedRect(0, 0, 100, 100), RotatedRect(5, 0, 104, 104))
        True
    """
    side = max(before.width, before.height, 1e-6)
    shift = math.hypot(after.cx - before.cx, after.cy - before.cy) / side
    size = abs(max(after.width, after.height) - side) / side
    turn = 0.5 * abs(normalize_angle(after.rotation - before.rotation))
    return max(shift, size, turn) <= tolerance


def after(future: Future, make: Callable[[Any], Future],
          on_error: Callable[[BaseException], Any] | None = None) -> Future:
    """A future of the future ``make(future.result())`` gives, flattened: ``make`` runs when
    ``future`` is done (with ``on_error(error)``'s value instead when it failed and
    ``on_error`` is given), no thread waits."""
    out: Future = Future()

    def relay(inner: Future) -> None:
        try:
            out.set_result(inner.result())
        except BaseException as error:  # noqa: BLE001 - delivered through ``out``
            out.set_exception(error)

    def start(source: Future) -> None:
        try:
            try:
                value = source.result()
            except BaseException as error:
                if on_error is None:
                    raise
                value = on_error(error)
            inner = make(value)
        except BaseException as error:  # noqa: BLE001 - delivered through ``out``
            out.set_exception(error)
            return
        inner.add_done_callback(relay)

    future.add_done_callback(start)
    return out


def _hand_passes(models: Any, image: np.ndarray, rect: RotatedRect, passes: int,
                 tolerance: float | None) -> tuple[np.ndarray, float, RotatedRect]:
    """``(points (21, 2), presence, next crop)``: up to ``passes`` landmark passes, the second
    skipped when ``tolerance`` is given and the first converged."""
    from alphapose.estimators.face_hand import hand_rect_from_landmarks

    hand = models.hand
    if hand.refine == "recrop":  # the re-crop model's own chain, unchanged
        result = hand(image, rect)
        return result.points, result.presence, hand_rect_from_landmarks(result.points)
    points, presence, placed = _passes(partial(hand._run, image), hand_rect_from_landmarks,
                                       rect, passes, tolerance)
    return points.astype(np.float32), presence, placed


def _face_passes(models: Any, image: np.ndarray, rect: RotatedRect, passes: int,
                 tolerance: float | None) -> tuple[np.ndarray, float, RotatedRect]:
    """``(points68 (68, 2), presence, next crop)``, as :func:`_hand_passes`."""
    from alphapose.estimators.face_hand import FACE_MESH_TO_68, face_rect_from_mesh

    mesh, presence, placed = _passes(partial(models.face._run, image), face_rect_from_mesh,
                                     rect, passes, tolerance)
    return mesh[FACE_MESH_TO_68].mean(axis=1).astype(np.float32), presence, placed


def _passes(run: Callable[[RotatedRect], tuple[np.ndarray, float]],
            place: Callable[[np.ndarray], RotatedRect], rect: RotatedRect, passes: int,
            tolerance: float | None) -> tuple[np.ndarray, float, RotatedRect]:
    """``(points, presence, next crop)`` of up to ``passes`` landmark passes (``run`` on a crop),
    each on the crop the previous one's points ``place``; a pass is skipped when ``tolerance``
    is given and the crop converged (:func:`converged`)."""
    points, presence = run(rect)
    placed = place(points)
    for _ in range(passes - 1):
        if tolerance is not None and converged(rect, placed, tolerance):
            break
        rect = placed
        points, presence = run(rect)
        placed = place(points)
    return points, presence, placed


def part_task(models: Any, image: np.ndarray, kind: str, rect: RotatedRect,
              anchor: np.ndarray, followed: bool
              ) -> tuple[np.ndarray, np.ndarray, PartTrack]:
    """One hand or face: ``(points, scores, track)``. A ``followed`` crop (placed from the
    previous frame's landmarks) skips its second pass when the first converged; a body-placed
    one runs the configured passes (skipped the same way with ``skip_converged``)."""
    tolerance = TOLERANCE if followed or models.config.skip_converged else None
    if kind == "hand":
        passes = 2 if models.hand.refine in ("landmarks", "ensemble") else 1
        points, presence, placed = _hand_passes(models, image, rect, passes, tolerance)
    else:
        passes = 2 if models.face.refine else 1
        points, presence, placed = _face_passes(models, image, rect, passes, tolerance)
    scores = np.full(len(points), presence, np.float32)
    return points, scores, PartTrack(float(presence), placed, anchor, points, scores)


def _carried(track: PartTrack, anchor: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, PartTrack]:
    """A part not looked for in this frame: its previous points and scores moved with its
    anchor, as :func:`part_task` returns them."""
    shift = (anchor - track.anchor).astype(np.float32)
    points = (track.points + shift).astype(np.float32)
    return points, track.scores, PartTrack(track.presence, _moved(track.rect, shift), anchor,
                                           points, track.scores)


def _moved(rect: RotatedRect, shift: np.ndarray) -> RotatedRect:
    return RotatedRect(rect.cx + float(shift[0]), rect.cy + float(shift[1]), rect.width,
                       rect.height, rect.rotation)


def submit_parts(estimator: Any, image: np.ndarray, people: list, tasks: Tasks
                 ) -> list[list[tuple[slice, Future]]]:
    """Queue the hands and face of ``people`` (:class:`~alphapose.estimators.blaze.Person`)
    with the fast path; each person's ``tracks`` future gets what the next frame needs.

    Returns:
        Per person, ``(slot in Halpe-136, future of (points, scores))`` for each part.
    """
    queued = []
    for person in people:
        previous, person.previous = person.previous, None  # no chain of frames in memory
        parts: list[tuple[slice, Future]] = []
        tracks: dict[int, Future] = {}
        try:
            _submit_person(estimator, image, person, previous, tasks, parts, tracks)
        finally:  # the next frame waits on this: always set (missing parts: the full path)
            person.tracks.set_result(tracks)
        queued.append(parts)
    return queued


def _submit_person(estimator: Any, image: np.ndarray, person: Any, previous: Any,
                   tasks: Tasks, parts: list, tracks: dict) -> None:
    """Queue one person's parts into ``parts`` (for the output) and ``tracks`` (for the next
    frame): followed from ``previous`` (the same person in the previous frame) when given."""
    for target, kind, body_rect in estimator.part_crops(person.body):
        anchor = person.body.points[ANCHORS[target.start]].astype(np.float32)
        full = partial(part_task, image=image, kind=kind, rect=body_rect, anchor=anchor,
                       followed=False)

        def start(track: PartTrack | None, kind: str = kind, anchor: np.ndarray = anchor,
                  full: partial = full, body_rect: RotatedRect = body_rect) -> Future:
            # a part the previous frame did not look for has no track: the full path
            if track is None:  # not followed: the full path
                return tasks.submit(full, LATER)
            if track.presence < MIN_PRESENCE:
                if max(body_rect.width, body_rect.height) < MIN_SEARCH_SIDE[kind]:
                    # too small to be found: carried until a detection frame or a larger crop
                    return resolved(_carried(track, anchor))
                return tasks.submit(full, LATER)  # lost: looked for again from the body
            rect = _moved(track.rect, anchor - track.anchor)
            return tasks.submit(partial(part_task, image=image, kind=kind, rect=rect,
                                        anchor=anchor, followed=True), LATER)

        if previous is None or not estimator.config.fast_video:
            task = tasks.submit(full, LATER)
        else:
            key = target.start
            track = after(previous.tracks, lambda known, key=key: known.get(key)
                          or resolved(None), on_error=lambda _: {})
            task = after(track, start, on_error=lambda _: None)
        parts.append((target, then(task, lambda result: result[:2])))
        tracks[target.start] = then(task, lambda result: result[2])
