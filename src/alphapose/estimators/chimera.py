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
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from alphapose.estimators.blaze_body import BLAZE_TO_COCO17, BodyResult
from alphapose.tasks import URGENT, Tasks, gather
from alphapose.transforms import RotatedRect

__all__ = ["HEAD", "chimera_suspects", "head_elsewhere", "head_on", "separate_chimeras",
           "tight_box_body"]

#: COCO-17 head and shoulders: nose, eyes, ears, shoulders
HEAD = slice(0, 7)
#: box-score factor of a suspect whose second estimate still shares its head
CONTESTED = 0.5


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


def tight_box_body(models: Any, image: np.ndarray, box: np.ndarray) -> BodyResult:
    """The body passes of a box-path person from an upright square of the box's long side
    (``models``: a :class:`~alphapose.estimators.blaze.BlazeWholeBody`; the placing pass plus
    ``config.passes``, as the box path's first try)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 1.0)
    rect = RotatedRect((x1 + x2) / 2, (y1 + y2) / 2, side, side, 0.0)
    return models.estimate_body(image, rect, passes=models.config.passes + 1)


def separate_chimeras(people: Future, image: np.ndarray, tasks: Tasks,
                      finish: Callable[[list[Any]], list[Any]]) -> Future:
    """A future of ``finish(people)`` after every chimera suspect was estimated again (one
    :data:`~alphapose.tasks.URGENT` task each, :func:`tight_box_body`); a suspect takes the new
    body when its head is no placed person's. Nothing waits: the tasks are queued when
    ``people`` is done."""
    out: Future = Future()

    def forward(done: Future) -> None:
        try:
            out.set_result(done.result())
        except BaseException as error:  # noqa: BLE001 - delivered through the future
            out.set_exception(error)

    def second(source: Future) -> None:
        try:
            kept = source.result()
            suspects = chimera_suspects(kept)
        except BaseException as error:  # noqa: BLE001 - delivered through the future
            out.set_exception(error)
            return
        retries = [tasks.submit(partial(tight_box_body, image=image, box=kept[n].box), URGENT)
                   for n in suspects]

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

        gather(retries, take).add_done_callback(forward)

    people.add_done_callback(second)
    return out
