"""Box-path bodies that sit partly on another person (chimeras), and their second estimate.

A body estimated from a plain box (a box detector's, no alignment points) starts from an
upright square 1.25 times the box's long side. When another person stands behind or in front,
that crop holds both, and the landmark passes can settle on a mixture: the legs of the box's
person under the head and shoulders of the other. Measured on the shared COCO image
000000197388.jpg (two skiers, one behind the other): the front skier's body from NanoDet's box
had the rear skier's head and shoulders (OKS 0.58 with BlazePose-heavy on the last pass), and
the parametric pose NMS then removed the rear skier as that body's duplicate.

Such a body is recognised by its head: its COCO-17 head and shoulder points (0-6) lie on those
of another body of the frame (:func:`head_on`; placed by the alignment detector, or another
box's). It is estimated again from a square exactly the box's long side (less of the neighbour
in the crop: OKS 0.84 on that skier) and the new body is kept when its head is nobody else's
(compared with the first estimates: of two box-path bodies on one head, the one whose head it
is finds it again and keeps its first body). A suspect that keeps sharing its head gets its box
score times :data:`CONTESTED`: a head two estimates claim is less certain, and AP ranks people
by score. Measured on the 4 shared COCO images (`bench/accuracy.py`), body AP end to end /
with ground-truth boxes (there both skiers are box-path people): balanced (full x 2) 0.563 /
0.584 -> 0.586 / 0.608; with BlazePose-heavy on the refining pass 0.608 / 0.607 -> 0.681 /
0.677 (0.637 without the contested score: the rear skier, OKS 0.45, moves from 5th to last);
performance 0.600 / 0.617 -> 0.638 / 0.658. No change on the 3 labelled PoseTrack18 frames, in
`bench/detector.py` (fused: recall / precision 0.923 / 0.923) nor on the MOT17-02 crowd (43/43
kept).

With full x 2 (balanced) the step cannot settle that pair: the full model puts the rear
skier's placed body and the front skier's box-path body on one head whatever the crop (blue
0.44, red 0.06 after pose NMS). So before it, a placed person and a box-path person on one head
(:func:`head_conflicts`) get their refining pass once more with a better model, on the crop it
ran on (:func:`settle_conflicts`; ``BlazeWholeBodyConfig.conflict_body_model``, heavy in
balanced), and so does the tight-box re-estimate of a suspect. Measured (balanced,
`bench/accuracy.py` and `bench/accuracy_people.py`): shared COCO images body AP 0.586 -> 0.646
end to end (the skiers: blue 0.44 -> 0.83, red 0.06 -> 0.56; elsewhere one person moves,
0.81 -> 0.77), 0.608 with ground-truth boxes (unchanged: there both skiers come from boxes); PoseTrack18 0.358 -> 0.359 (mean
OKS 0.633 -> 0.634); MOT17-02 crowd 43/43. Only such pairs pay, on detection frames (tracked
people are all placed): counted model invocations, 40 frames of ``openpose/video.avi``: 21
heavy beside 2509 full (about +2% of the model time), 10 frames of ``mmpose/demo/demo.mp4``:
10 heavy beside 262 full (about +7%).

Performance (heavy x 2 with the flip test) cannot settle the skiers that way: its refining model
is already heavy, and heavy on the same crop gives the same bodies (full there: body AP 0.631,
the skiers 0.47 / 0.06). There the crops are what went wrong, so a pair in a head conflict is
estimated again from its first crops with another model on the placing passes
(:func:`settle_conflicts_afresh`, ``BlazeWholeBodyConfig.conflict_placing_model``, full), and a
box-path suspect on a placed head is re-estimated from its tight box with that placing model
too. Measured (`bench/accuracy.py --mode performance`, `bench/accuracy_people.py`): the skiers
0.47 / 0.02 -> 0.87 / 0.51, body AP 0.638 -> 0.709 end to end, 0.685 -> 0.710 with ground-truth
boxes, PoseTrack18 0.301 unchanged, MOT17-02 crowd 43/43. Full placing for every person reaches
0.714 on the COCO images but PoseTrack18 0.274 (two people of one frame merge).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from alphapose.estimators.blaze_body import (
    BLAZE_TO_COCO17,
    BodyResult,
    body33_to_halpe26,
    body_box,
)
from alphapose.tasks import URGENT, Tasks, gather
from alphapose.transforms import RotatedRect

__all__ = ["HEAD", "chimera_suspects", "estimate_afresh", "first_rect", "head_conflicts",
           "head_elsewhere", "head_on", "person_box", "refine_again", "separate_chimeras",
           "settle_conflicts", "settle_conflicts_afresh", "tight_box_body", "with_placing"]

#: COCO-17 head and shoulders: nose, eyes, ears, shoulders
HEAD = slice(0, 7)
#: box-score factor of a suspect whose second estimate still shares its head
CONTESTED = 0.5
_UNAVAILABLE: list[str] = []  # conflict models that failed to load (warned once)


def head_on(body: BodyResult, other: BodyResult, box: np.ndarray,
            fraction: float = 0.12) -> bool:
    """Whether the head and shoulders of ``body`` lie on those of ``other``: their mean distance
    is below ``fraction`` of the long side of ``box`` (``body``'s person box, ``(4,)`` xyxy).

    Measured on the two skiers (box long side 275 px): bodies whose head was the other skier's
    were 2-24 px from it, bodies with their own head 34-59 px.
    """
    a = body.points[BLAZE_TO_COCO17][HEAD]
    b = other.points[BLAZE_TO_COCO17][HEAD]
    side = max(float(box[2] - box[0]), float(box[3] - box[1]), 1.0)
    return float(np.linalg.norm(a - b, axis=1).mean()) < fraction * side


def head_elsewhere(body: BodyResult, box: np.ndarray, people: list[Any], me: int) -> bool:
    """Whether ``body`` (person ``me``'s, from ``box``) has the head of one of the other
    ``people``."""
    return any(head_on(body, other.body, box) for n, other in enumerate(people) if n != me)


def chimera_suspects(people: list[Any]) -> list[int]:
    """Indices of the box-path people (``placed`` false) whose head is another person's.

    Args:
        people: :class:`~alphapose.estimators.blaze.Person` objects (``placed``, ``body``,
            ``box``).
    """
    return [n for n, p in enumerate(people)
            if not p.placed and head_elsewhere(p.body, p.box, people, n)]


def with_placing(models: Any, placing_model: str | None) -> Any:
    """``models`` (a :class:`~alphapose.estimators.blaze.BlazeWholeBody`) with
    ``placing_model`` on every pass but the last (which keeps its model, and the flip test);
    the interpreters are shared. ``models`` itself when ``placing_model`` is None."""
    if placing_model is None:
        return models
    alternative = copy.copy(models)
    alternative.config = replace(models.config,
                                 body_models=(placing_model, models.config.body_models[-1]))
    return alternative


def tight_box_body(models: Any, image: np.ndarray, box: np.ndarray,
                   refine_model: str | None = None,
                   placing_model: str | None = None) -> BodyResult:
    """The body passes of a box-path person from an upright square of the box's long side
    (``models``: a :class:`~alphapose.estimators.blaze.BlazeWholeBody`; the placing pass plus
    ``config.passes``, as the box path's first try; the placing ones with ``placing_model``
    when given, :func:`with_placing`), the last once more with ``refine_model`` when given
    (:func:`refine_again`)."""
    models = with_placing(models, placing_model)
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 1.0)
    rect = RotatedRect((x1 + x2) / 2, (y1 + y2) / 2, side, side, 0.0)
    body = models.estimate_body(image, rect, passes=models.config.passes + 1)
    if refine_model is not None:
        body = refine_again(models, image, body.rect, refine_model) or body
    return body


def person_box(person: Any, image_shape: tuple[int, ...]) -> np.ndarray:
    """The ``(4,)`` xyxy box that sizes a person's head test: its box for a box-path person, the
    extent of its body (:func:`~alphapose.estimators.blaze_body.body_box`) for a placed one (whose
    box is the detector's crop square)."""
    if not person.placed:
        return person.box
    return body_box(*body33_to_halpe26(person.body.points, person.body.visibility), image_shape)


def head_conflicts(people: list[Any], image_shape: tuple[int, ...],
                   fraction: float = 0.12) -> list[int]:
    """Indices of the people in a pair of one placed and one box-path person whose heads and
    shoulders coincide: the test of :func:`head_on` (mean distance below ``fraction`` of a
    person's :func:`person_box` long side) in either direction, for every pair at once.

    The two detectors disagree there: BlazePose placed a person by their face, and a box crop,
    which holds whoever stands in it, gave a body with that head. (Two placed people on one
    head are one person found twice, which the duplicate check settles; pairs of box-path
    bodies are left to :func:`separate_chimeras`: in a street crowd of small people they are
    8-9 of 21-27 people per detection frame, where a heavy pass each cost 13% of the persons/s
    of ``openpose/video.avi``.)"""
    placed = np.array([p.placed for p in people])
    if placed.all() or not placed.any():
        return []
    heads = np.stack([p.body.points[BLAZE_TO_COCO17][HEAD] for p in people])  # (N, 7, 2)
    boxes = np.stack([person_box(p, image_shape) for p in people]).astype(np.float64)
    sides = np.maximum((boxes[:, 2:] - boxes[:, :2]).max(1), 1.0)
    apart = np.linalg.norm(heads[:, None] - heads[None], axis=-1).mean(-1)  # (N, N)
    limit = fraction * np.maximum(sides[:, None], sides[None, :])
    apart[placed[:, None] == placed[None, :]] = np.inf  # one placed, one from a box
    np.fill_diagonal(apart, np.inf)
    return np.flatnonzero((apart < limit).any(1)).tolist()


def refine_again(models: Any, image: np.ndarray, rect: RotatedRect,
                 model: str) -> BodyResult | None:
    """The refining pass once more, on the crop it ran on (``rect``), with ``model``; None (and
    one warning) when that model cannot be had (e.g. no npm and no tarball for its package)."""
    try:
        return models.estimate_body(image, rect, passes=1, model=model)
    except (RuntimeError, OSError) as error:
        if not _UNAVAILABLE:
            _UNAVAILABLE.append(model)
            logging.getLogger("alphapose").warning(
                "body model %r unavailable (%s): people who share a head keep their first "
                "bodies", model, str(error).splitlines()[0] if str(error) else error)
        return None


def settle_conflicts(people: Future, image: np.ndarray, tasks: Tasks, model: str) -> Future:
    """A future of ``people`` where every person in a head conflict (:func:`head_conflicts`)
    has the body of :func:`refine_again` with ``model`` (one :data:`~alphapose.tasks.URGENT`
    task each): the refining pass's crop already holds the person, a more exact model tells
    whose head is whose. Nothing waits.

    Args:
        people: future of :class:`~alphapose.estimators.blaze.Person` objects.
        image: ``(H, W, 3)`` uint8 BGR.
        tasks: where the passes run.
        model: body model name (``"heavy"``).
    """
    return _redo_conflicts(people, image, tasks, lambda person: partial(
        refine_again, image=image, rect=person.body.rect, model=model))


def _redo_conflicts(people: Future, image: np.ndarray, tasks: Tasks,
                    work: Callable[[Any], Callable[[Any], BodyResult | None]]) -> Future:
    """A future of ``people`` where every person in a head conflict (:func:`head_conflicts`)
    has the body ``work(person)`` gives (one :data:`~alphapose.tasks.URGENT` task each; None
    keeps the body it had)."""
    def plan(kept: list[Any]) -> tuple[list[Future], Callable[[list[Any]], list[Any]]]:
        conflicted = head_conflicts(kept, image.shape)
        retries = [tasks.submit(work(kept[n]), URGENT) for n in conflicted]

        def take(bodies: list[BodyResult | None]) -> list[Any]:
            out = list(kept)
            for n, body in zip(conflicted, bodies):
                if body is not None:
                    out[n] = replace(kept[n], body=body)
            return out

        return retries, take

    return _then_tasks(people, plan)


def first_rect(models: Any, person: Any, detections: Any) -> RotatedRect | None:
    """The crop a detected person's body passes started from: the one its alignment points
    place (a placed person), or the upright square around its box (a box-path person), found
    by its box among ``detections``; None for a person no detection gave (a tracked one)."""
    rows = np.flatnonzero((np.asarray(detections.xyxy) == person.box).all(1))
    if not len(rows):
        return None
    keypoints = None if detections.keypoints is None else detections.keypoints[rows[0]]
    if not person.placed or keypoints is None or not np.isfinite(keypoints[:2]).all():
        keypoints = None
    return models.initial_rect(person.box, keypoints)


def estimate_afresh(models: Any, image: np.ndarray, person: Any, rect: RotatedRect,
                    placing_model: str) -> BodyResult:
    """All body passes of ``person`` again from its first crop ``rect``, the placing ones with
    ``placing_model`` (:func:`with_placing`): the box path (with its masked retry) for a
    box-path person."""
    models = with_placing(models, placing_model)
    if not person.placed:
        return models.estimate_from_box(image, person.box)
    return models.estimate_body(image, rect)


def settle_conflicts_afresh(people: Future, image: np.ndarray, tasks: Tasks, detections: Any,
                            placing_model: str) -> Future:
    """A future of ``people`` where every person in a head conflict (:func:`head_conflicts`)
    has all its body passes again from its first crop (:func:`first_rect`), the placing ones
    with ``placing_model`` and the refining one with the usual model (:func:`estimate_afresh`;
    one :data:`~alphapose.tasks.URGENT` task each). For a refining model that already ran on
    both passes (performance: heavy x 2), running it again on the same crop gives the same
    body; the crop is what went wrong, and another model places another crop.

    Measured on the shared COCO skiers (performance, heavy x 2 with the flip test; the placed
    rear skier had OKS 0.24 and the box-path front skier's body his head): with full placing
    0.51 and, after the tight-box step with the same placing model
    (:func:`separate_chimeras`), 0.87 (see ``BlazeWholeBodyConfig.conflict_placing_model``).
    """
    return _redo_conflicts(people, image, tasks, lambda person: partial(
        _afresh_task, image=image, person=person, detections=detections,
        placing_model=placing_model))


def _afresh_task(models: Any, image: np.ndarray, person: Any, detections: Any,
                 placing_model: str) -> BodyResult:
    rect = first_rect(models, person, detections)
    if rect is None:  # a tracked person: no first crop to start from
        return person.body
    return estimate_afresh(models, image, person, rect, placing_model)


def separate_chimeras(people: Future, image: np.ndarray, tasks: Tasks,
                      finish: Callable[[list[Any]], list[Any]],
                      refine_model: str | None = None,
                      placing_model: str | None = None) -> Future:
    """A future of ``finish(people)`` after every chimera suspect was estimated again (one
    :data:`~alphapose.tasks.URGENT` task each, :func:`tight_box_body`); a suspect takes the new
    body when its head is no placed person's. A suspect on a placed person's head (a conflict)
    ends with ``refine_model`` and places with ``placing_model`` (each when given). Nothing
    waits: the tasks are queued when ``people`` is done."""
    def plan(kept: list[Any]) -> tuple[list[Future], Callable[[list[Any]], list[Any]]]:
        suspects = chimera_suspects(kept)
        # a suspect on a placed person's head (a conflict, :func:`head_conflicts`) ends
        # with ``refine_model`` too
        on_placed = [any(p.placed and head_on(kept[n].body, p.body, kept[n].box) for p in kept)
                     for n in suspects]
        retries = [tasks.submit(partial(
            tight_box_body, image=image, box=kept[n].box,
            refine_model=refine_model if conflict else None,
            placing_model=placing_model if conflict else None), URGENT)
            for n, conflict in zip(suspects, on_placed)]

        def take(bodies: list[BodyResult]) -> list[Any]:
            people = list(kept)
            for n, body in zip(suspects, bodies):
                # against the first estimates: of two box-path people on one head, the one
                # whose head it is finds it again
                if not head_elsewhere(body, kept[n].box, kept, n):
                    people[n] = replace(kept[n], body=body)
                else:  # still sharing its head: a less certain person
                    people[n] = replace(kept[n], box_score=kept[n].box_score * CONTESTED)
            return finish(people)

        return retries, take

    return _then_tasks(people, plan)


def _then_tasks(people: Future, plan: Callable[[list[Any]], tuple[list[Future], Callable]]
                ) -> Future:
    """A future of ``take(results)``, where ``(futures, take) = plan(people's result)`` runs
    once ``people`` is done and ``results`` are those futures' results. Nothing waits; an
    error anywhere reaches the returned future."""
    out: Future = Future()

    def forward(done: Future) -> None:
        try:
            out.set_result(done.result())
        except BaseException as error:  # noqa: BLE001 - delivered through the future
            out.set_exception(error)

    def start(source: Future) -> None:
        try:
            futures, take = plan(source.result())
        except BaseException as error:  # noqa: BLE001 - delivered through the future
            out.set_exception(error)
            return
        gather(futures, take).add_done_callback(forward)

    people.add_done_callback(start)
    return out
