"""Synthetic tracking scenes: walking skeletons with distinct clothes rendered into real pixels.

Used by the tests and ``bench/tracking.py`` to measure a tracker where the truth is known. Each
:class:`Scenario` is a list of people (clothes, height, a path over the frames) on a textured
background, optionally with occluding pillars and a panning camera. :meth:`Scenario.frames`
renders frame by frame (nothing is kept in memory) and yields, per frame:

* the :class:`~alphapose.structures.Frame` (BGR pixels, so appearance cues see real colours);
* the ground truth (:class:`~alphapose.evaluate.tracking.TrackFrame`: identities, boxes of the
  visible body, COCO-17 keypoints converted to PoseTrack order, head boxes) of the people who are
  at least partly visible (>= ``min_visible`` of their 17 keypoints);
* the observations a pose estimator would give (:class:`~alphapose.structures.Poses`, layout
  ``coco17``): the visible people's keypoints with Gaussian noise, score 0.9 where a keypoint is
  visible and 0.02 where it is hidden, boxes around the visible keypoints, minus the scheduled
  detector dropouts.

People are drawn far to near (by the foot's image row), so people occlude each other where they
cross; pillars stand in front of everyone. Everything follows from the scenario's seed.

Example:
    >>> for frame, gt, observed in crossing().frames():
    ...     tracked = tracker.update(frame, observed)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from alphapose.evaluate.tracking import TrackFrame, to_posetrack_keypoints
from alphapose.structures import Frame, Poses

__all__ = [
    "SCENARIOS",
    "Pillar",
    "Scenario",
    "SyntheticPerson",
    "camera_pan",
    "crossing",
    "crowd",
    "enter_leave",
    "occlusion",
    "skeleton_coco17",
]

BGR = tuple[int, int, int]

_SHIRTS: tuple[BGR, ...] = ((40, 40, 220), (220, 90, 30), (40, 170, 40), (30, 220, 230),
                            (200, 40, 200), (210, 210, 40), (20, 130, 250), (140, 30, 110),
                            (235, 235, 235), (30, 30, 30), (120, 180, 250), (90, 60, 20))
_TROUSERS: tuple[BGR, ...] = ((90, 40, 10), (25, 25, 25), (130, 130, 130), (30, 60, 100),
                              (150, 190, 210), (40, 110, 90), (200, 200, 200), (60, 20, 80))
_SKINS: tuple[BGR, ...] = ((150, 180, 230), (90, 130, 180), (60, 90, 130), (170, 200, 240))


@dataclass(frozen=True)
class SyntheticPerson:
    """One person: looks and path.

    Attributes:
        person_id: ground-truth identity.
        shirt, trousers, skin: BGR colours; stripes: colour of horizontal shirt stripes or None.
        height: standing height in pixels.
        path: ``(F, 2)`` world position of the point between the feet per frame, NaN where the
            person is not in the scene.
    """

    person_id: int
    shirt: BGR
    trousers: BGR
    skin: BGR
    stripes: BGR | None
    height: float
    path: np.ndarray


@dataclass(frozen=True)
class Pillar:
    """An occluder in world coordinates, in front of everyone: ``x1, y1, x2, y2`` and colour."""

    xyxy: tuple[float, float, float, float]
    color: BGR = (70, 70, 70)


def skeleton_coco17(x: float, y: float, height: float, phase: float) -> np.ndarray:
    """COCO-17 keypoints ``(17, 2)`` of a walking person whose feet are centred at ``(x, y)``.

    ``phase`` (radians) drives the gait: arms and legs swing in opposition.
    """
    h = height
    swing = 0.45 * np.sin(phase)
    pts = np.zeros((17, 2))
    head = np.array([x, y - 0.91 * h])
    pts[0] = head + [0, 0.01 * h]                    # nose
    pts[1], pts[2] = head + [0.025 * h, -0.015 * h], head + [-0.025 * h, -0.015 * h]
    pts[3], pts[4] = head + [0.045 * h, 0], head + [-0.045 * h, 0]
    shoulder_y, hip_y = y - 0.80 * h, y - 0.50 * h
    pts[5], pts[6] = [x + 0.12 * h, shoulder_y], [x - 0.12 * h, shoulder_y]
    pts[11], pts[12] = [x + 0.08 * h, hip_y], [x - 0.08 * h, hip_y]
    for side, sign in ((0, 1.0), (1, -1.0)):          # left (+x), right (-x)
        arm = sign * swing
        elbow = pts[5 + side] + 0.16 * h * np.array([np.sin(arm) + 0.15 * sign, np.cos(arm)])
        pts[7 + side] = elbow
        pts[9 + side] = elbow + 0.15 * h * np.array([np.sin(arm + 0.3 * sign), np.cos(arm)])
        leg = -sign * swing
        knee = pts[11 + side] + 0.25 * h * np.array([np.sin(leg), np.cos(leg)])
        pts[13 + side] = knee
        pts[15 + side] = knee + 0.24 * h * np.array([np.sin(leg * 0.7), np.cos(leg * 0.7)])
    return pts


@dataclass
class Scenario:
    """A synthetic scene; see the module docstring.

    Attributes:
        name: scenario name.
        people: the people.
        num_frames: frames.
        size: ``(width, height)`` of the frames.
        pillars: occluders (world coordinates).
        pan: ``(F,)`` camera x offset per frame (world x of the image's left edge).
        dropouts: ``(person_id, first frame, length)`` detector misses while visible.
        noise: keypoint noise standard deviation as a fraction of the person's height.
        min_visible: keypoints that must be visible for a person to count as present.
        seed: seed of the background and the noise.
    """

    name: str
    people: list[SyntheticPerson]
    num_frames: int
    size: tuple[int, int] = (640, 360)
    pillars: list[Pillar] = field(default_factory=list)
    pan: np.ndarray | None = None
    dropouts: list[tuple[int, int, int]] = field(default_factory=list)
    noise: float = 0.008
    min_visible: int = 6
    seed: int = 0

    def _background(self) -> np.ndarray:
        w, h = self.size
        extra = 0 if self.pan is None else int(np.ceil(np.nanmax(self.pan))) + 2
        rng = np.random.default_rng(self.seed + 1000)
        world_w = w + extra
        small = rng.integers(60, 200, (h // 24 + 2, world_w // 24 + 2, 3)).astype(np.uint8)
        bg = cv2.resize(small, (world_w, h), interpolation=cv2.INTER_CUBIC)
        for _ in range(world_w // 30):
            x, y = int(rng.integers(0, world_w)), int(rng.integers(0, h))
            color = tuple(int(c) for c in rng.integers(40, 220, 3))
            cv2.rectangle(bg, (x, y), (x + int(rng.integers(5, 40)), y + int(rng.integers(5, 40))),
                          color, -1)
        noise = rng.normal(0, 8, bg.shape)
        return np.clip(bg + noise, 0, 255).astype(np.uint8)

    def gaps(self, min_length: int = 1) -> list[tuple[int, int, int]]:
        """Runs of frames a person is not observed between two observed frames.

        Returns:
            ``(person_id, first missing frame, length)`` for every gap of at least
            ``min_length`` frames (computed by rendering the scenario's visibility only).
        """
        observed: dict[int, list[int]] = {}
        for index, (_, _, obs, ids) in enumerate(self._iterate(render=False)):
            for pid in ids:
                observed.setdefault(int(pid), []).append(index)
        gaps = []
        for pid, frames in observed.items():
            for a, b in itertools.pairwise(frames):
                if b - a - 1 >= min_length:
                    gaps.append((pid, a + 1, b - a - 1))
        return gaps

    def frames(self) -> Iterator[tuple[Frame, TrackFrame, Poses]]:
        """Yield ``(frame, ground truth, observations)`` for every frame."""
        for frame, gt, obs, _ in self._iterate(render=True):
            yield frame, gt, obs

    def _iterate(self, render: bool) -> Iterator[tuple[Frame | None, TrackFrame, Poses, list]]:
        w, h = self.size
        background = self._background()
        rng = np.random.default_rng(self.seed)
        dropped = {(pid, f) for pid, start, length in self.dropouts
                   for f in range(start, start + length)}
        for t in range(self.num_frames):
            offset = 0.0 if self.pan is None else float(self.pan[t])
            ox = int(np.floor(offset))
            canvas = background[:, ox:ox + w].copy()
            labels = np.full((h, w), -1, np.int16)
            shift = offset - ox   # sub-pixel part of the pan, applied to people and pillars
            present = []
            for person in self.people:
                pos = person.path[t]
                if not np.isfinite(pos).all():
                    continue
                travelled = np.nansum(np.abs(np.diff(person.path[:t + 1, 0])))
                phase = travelled / (0.32 * person.height) * np.pi
                kp = skeleton_coco17(pos[0] - offset, pos[1], person.height, phase)
                present.append((pos[1], person, kp))
            present.sort(key=lambda item: item[0])
            for index, (_, person, kp) in enumerate(present):
                _draw_person(canvas, labels, index, person, kp)
            for pillar in self.pillars:
                x1, y1, x2, y2 = pillar.xyxy
                p1 = (int(round(x1 - offset)), int(round(y1)))
                p2 = (int(round(x2 - offset)), int(round(y2)))
                cv2.rectangle(canvas, p1, p2, pillar.color, -1)
                cv2.rectangle(labels, p1, p2, -2, -1)
            del shift
            gt_rows, obs_rows = [], []
            for index, (_, person, kp) in enumerate(present):
                xi = np.round(kp[:, 0]).astype(int)
                yi = np.round(kp[:, 1]).astype(int)
                inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
                visible = np.zeros(17, bool)
                visible[inside] = labels[yi[inside], xi[inside]] == index
                if visible.sum() < self.min_visible:
                    continue
                pad = 0.06 * person.height
                vis_kp = kp[visible]
                box = np.array([*(vis_kp.min(0) - pad), *(vis_kp.max(0) + pad)])
                head_c = kp[0] + [0, -0.01 * person.height]
                head = np.array([*(head_c - 0.07 * person.height),
                                 *(head_c + 0.07 * person.height)])
                gt_rows.append((person.person_id, box, kp, visible, head))
                if (person.person_id, t) in dropped:
                    continue
                noisy = kp + rng.normal(0, self.noise * person.height, kp.shape)
                noisy[~visible] += rng.normal(0, 0.04 * person.height, ((~visible).sum(), 2))
                scores = np.where(visible, 0.9, 0.02)
                vis_noisy = noisy[visible]
                obs_box = np.array([*(vis_noisy.min(0) - pad), *(vis_noisy.max(0) + pad)])
                obs_rows.append((person.person_id, noisy, scores, obs_box))
            if gt_rows:
                kp17 = np.stack([r[2] for r in gt_rows])
                vis17 = np.stack([r[3] for r in gt_rows]).astype(np.float64)
                pt_kp, pt_vis = to_posetrack_keypoints(kp17, vis17, "coco17")
                gt = TrackFrame([r[0] for r in gt_rows], np.stack([r[1] for r in gt_rows]),
                                pt_kp, pt_vis, np.stack([r[4] for r in gt_rows]))
            else:
                gt = TrackFrame.empty()
            if obs_rows:
                obs = Poses(np.stack([r[1] for r in obs_rows]),
                            np.stack([r[2] for r in obs_rows]),
                            np.stack([r[3] for r in obs_rows]),
                            np.full(len(obs_rows), 0.9, np.float32), layout="coco17")
            else:
                obs = Poses.empty(17, "coco17")
            # shuffle the observation order: a tracker must not rely on it
            order = rng.permutation(len(obs))
            obs = obs[order]
            ids = [obs_rows[i][0] for i in order]
            frame = Frame(canvas, t, f"{t}.jpg", source=f"synthetic:{self.name}") if render \
                else None
            yield frame, gt, obs, ids


_EDGES = ((13, 15), (14, 16), (11, 13), (12, 14))   # legs: thighs, shins
_ARMS = ((5, 7), (7, 9), (6, 8), (8, 10))


def _draw_person(canvas: np.ndarray, labels: np.ndarray, index: int, person: SyntheticPerson,
                 kp: np.ndarray) -> None:
    h = person.height
    pts = [(int(round(x * 16)), int(round(y * 16))) for x, y in kp]
    leg_w = max(2, int(round(0.075 * h)))
    arm_w = max(2, int(round(0.05 * h)))
    for target, value_of in ((canvas, None), (labels, index)):
        def col(c: BGR, value_of: int | None = value_of) -> BGR | int:
            return c if value_of is None else value_of

        for a, b in _EDGES:
            cv2.line(target, pts[a], pts[b], col(person.trousers), leg_w, cv2.LINE_8, 4)
        hips = (pts[11], pts[12])
        cv2.line(target, hips[0], hips[1], col(person.trousers), leg_w, cv2.LINE_8, 4)
        torso = np.array([pts[5], pts[6], pts[12], pts[11]], np.int32)
        grow = np.array([[0.03, -0.01], [-0.03, -0.01], [-0.02, 0.02], [0.02, 0.02]]) * h * 16
        torso = (torso + grow).astype(np.int32)
        cv2.fillPoly(target, [torso], col(person.shirt), cv2.LINE_8, 4)
        if value_of is None and person.stripes is not None:
            mask = np.zeros(canvas.shape[:2], np.uint8)
            cv2.fillPoly(mask, [torso], 255, cv2.LINE_8, 4)
            ys = np.arange(canvas.shape[0])
            stripe_rows = ((ys // max(2, int(0.03 * h))) % 2 == 0)[:, None]
            canvas[(mask > 0) & stripe_rows] = person.stripes
        for a, b in _ARMS:
            cv2.line(target, pts[a], pts[b], col(person.shirt if a in (5, 6) else person.skin),
                     arm_w, cv2.LINE_8, 4)
        head_c = ((pts[3][0] + pts[4][0]) // 2, (pts[3][1] + pts[4][1]) // 2)
        cv2.circle(target, head_c, int(0.07 * h * 16), col(person.skin), -1, cv2.LINE_8, 4)
        if value_of is None:
            hair = (30, 40, 60) if index % 2 else (20, 20, 20)
            cv2.ellipse(canvas, (head_c[0], head_c[1] - int(0.03 * h * 16)),
                        (int(0.07 * h * 16), int(0.045 * h * 16)), 0, 180, 360, hair, -1,
                        cv2.LINE_8, 4)


# ------------------------------------------------------------------------------------------------
# scenario builders
# ------------------------------------------------------------------------------------------------


def _bounce_path(start_x: float, y: float, vx: float, frames: int, lo: float, hi: float,
                 first: int = 0, last: int | None = None, bounce: bool = True) -> np.ndarray:
    path = np.full((frames, 2), np.nan)
    x, v = start_x, vx
    last = frames if last is None else last
    for t in range(first, last):
        path[t] = (x, y)
        x += v
        if bounce and (x < lo or x > hi):
            v = -v
            x += 2 * v
    return path


def _person(pid: int, path: np.ndarray, height: float, rng: np.random.Generator,
            look: int | None = None) -> SyntheticPerson:
    k = pid if look is None else look
    stripes = (245, 245, 245) if k % 3 == 1 else ((10, 10, 10) if k % 5 == 2 else None)
    return SyntheticPerson(pid, _SHIRTS[k % len(_SHIRTS)], _TROUSERS[(k * 3) % len(_TROUSERS)],
                           _SKINS[k % len(_SKINS)], stripes, float(height), path)


def crossing(seed: int = 0, num_frames: int = 160) -> Scenario:
    """Four people in two lanes walk towards each other and cross repeatedly, occluding each
    other as they pass (the nearer lane in front)."""
    rng = np.random.default_rng(seed)
    spec = [(60, 300, 3.2, 150), (580, 306, -3.0, 140), (110, 250, 2.6, 118), (530, 256, -2.8, 124)]
    people = [_person(i, _bounce_path(x, y, v + rng.normal(0, 0.1), num_frames, 40, 600),
                      hgt, rng) for i, (x, y, v, hgt) in enumerate(spec)]
    return Scenario("crossing", people, num_frames, seed=seed)


def occlusion(seed: int = 0, num_frames: int = 240) -> Scenario:
    """Four people walk back and forth behind two pillars (gaps of several to 30 frames) and
    are missed by the detector for scheduled 5-30-frame stretches."""
    rng = np.random.default_rng(seed)
    spec = [(60, 330, 2.2, 150), (560, 280, -3.0, 130), (200, 230, 4.0, 110), (400, 200, -1.6, 96)]
    people = [_person(i + 10, _bounce_path(x, y, v, num_frames, 30, 610), hgt, rng, look=i)
              for i, (x, y, v, hgt) in enumerate(spec)]
    pillars = [Pillar((185, 0, 235, 360), (70, 70, 70)), Pillar((405, 0, 470, 360), (60, 90, 90))]
    dropouts = []
    for p in people:
        starts = rng.choice(np.arange(10, num_frames - 40), size=2, replace=False)
        for s in sorted(starts):
            dropouts.append((p.person_id, int(s), int(rng.integers(5, 31))))
    return Scenario("occlusion", people, num_frames, pillars=pillars, dropouts=dropouts, seed=seed)


def enter_leave(seed: int = 0, num_frames: int = 240) -> Scenario:
    """Seven people enter from the left and right edges at staggered times, cross the frame
    (passing each other) and leave."""
    rng = np.random.default_rng(seed)
    people = []
    for i in range(7):
        from_left = i % 2 == 0
        start = int(i * 28 + rng.integers(0, 8))
        speed = float(rng.uniform(2.5, 4.5))
        height = float(rng.uniform(100, 150))
        y = float(rng.uniform(200, 330))
        x0 = -40.0 if from_left else 680.0
        v = speed if from_left else -speed
        last = min(num_frames, start + int(740 / speed))
        people.append(_person(i + 20, _bounce_path(x0, y, v, num_frames, -1e9, 1e9, start, last,
                                                   bounce=False), height, rng, look=i))
    return Scenario("enter_leave", people, num_frames, seed=seed)


def camera_pan(seed: int = 0, num_frames: int = 200) -> Scenario:
    """The camera pans 3 px/frame while four people walk (and cross) in the world; a pillar
    fixed in the world slides through the view."""
    rng = np.random.default_rng(seed)
    pan = np.arange(num_frames) * 3.0
    spec = [(100, 320, 2.0, 145), (500, 300, -1.5, 135), (300, 250, 3.0, 115), (700, 240, -2.5, 110)]
    people = [_person(i + 30, _bounce_path(x, y, v, num_frames, 20, 1200), hgt, rng, look=i + 4)
              for i, (x, y, v, hgt) in enumerate(spec)]
    pillars = [Pillar((520, 0, 565, 360), (80, 60, 60))]
    return Scenario("camera_pan", people, num_frames, pillars=pillars, pan=pan, seed=seed)


def crowd(seed: int = 0, num_frames: int = 120, num_people: int = 10) -> Scenario:
    """``num_people`` people walking back and forth in lanes across a 960 x 540 frame."""
    rng = np.random.default_rng(seed)
    people = []
    for i in range(num_people):
        y = 200 + 330 * (i + 0.5) / num_people
        v = float(rng.uniform(1.5, 4.0)) * (1 if i % 2 else -1)
        people.append(_person(i + 40, _bounce_path(float(rng.uniform(60, 900)), y, v, num_frames,
                                                   40, 920), 80 + 0.25 * (y - 200) + 40, rng,
                              look=i))
    return Scenario("crowd", people, num_frames, size=(960, 540), seed=seed)


#: name -> builder ``(seed) -> Scenario``.
SCENARIOS = {"crossing": crossing, "occlusion": occlusion, "enter_leave": enter_leave,
             "camera_pan": camera_pan, "crowd": crowd}
