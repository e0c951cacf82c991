"""The embedded default whole-body estimator: Halpe-136 from the bundled BlazePose models.

Top-down, per person box:

1. body: BlazePose-full on a rotated crop placed from the detector's alignment keypoints (or, for a
   plain box, a square around it), then once more on a crop re-placed from the model's own
   auxiliary landmarks (the second pass fixes size and rotation); candidates whose pose
   probability is below ``min_pose_score`` are dropped (removes most false detections);
2. hands: the hand landmark model on rotation-aligned crops placed from the body's wrist, index
   and pinky knuckles; left / right come from the body side, not the model's handedness;
3. face: the face-mesh model on a crop placed from the body's eyes, ears, nose and mouth, mapped
   468 -> 68 points;
4. assembly into Halpe-136 (convertible with :mod:`alphapose.skeletons`).

Mapping from BlazePose-33 (documented here because it is a modelling choice):

* COCO-17 = BlazePose ``[0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]``;
* Halpe head (top of head) = eye midpoint + 2 x (eye midpoint - mouth midpoint);
  neck = shoulder midpoint; hip = hip midpoint; scores = the minimum of their sources;
* heels = 29 / 30; big toes = foot index 31 / 32;
* small toes have no BlazePose point: estimated at 80% of the heel -> toe line, displaced
  sideways (away from the body's midline) by 30% of the foot length; score = half the minimum
  of the heel and toe scores, since it is a guess.

Keypoint scores are probabilities in [0, 1]: body points use the model's visibility
probability, face and hand points the face / hand presence probability (hands optionally
calibrated: ``BlazeWholeBodyConfig.calibrated_hand_scores``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np

from alphapose.estimators.blaze_body import (
    BLAZE_TO_COCO17,
    BlazeBody,
    BodyResult,
    body33_to_halpe26,
    body_box,
    roi_from_alignment_points,
)
from alphapose.estimators.body_extras import WORLD_HEIGHT, person_extras
from alphapose.estimators.video_parts import BODY_TOLERANCE, converged
from alphapose.structures import Detections, Poses
from alphapose.tasks import LATER, URGENT, InlineTasks, Tasks, gather, resolved, then
from alphapose.transforms import RotatedRect

__all__ = [
    "BLAZE_TO_COCO17",
    "BlazeWholeBody",
    "BlazeWholeBodyConfig",
    "Person",
    "TrackedPeople",
    "body33_to_halpe26",
    "body_box",
]

#: left/right pairs of the 33 named BlazePose points (for the flip test)
BLAZE_FLIP_PAIRS = ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16),
                    (17, 18), (19, 20), (21, 22), (23, 24), (25, 26), (27, 28), (29, 30), (31, 32))
NUM_KEYPOINTS = 136
#: BlazePose auxiliary landmarks that place the next crop: body centre and body-circle point
AUX_CENTER, AUX_SCALE = 33, 34
FACE = slice(26, 94)
LEFT_HAND = slice(94, 115)
RIGHT_HAND = slice(115, 136)


@dataclass(frozen=True)
class BlazeWholeBodyConfig:
    """Settings of the embedded whole-body estimator.

    Attributes:
        decoding: body landmark decoding, see :data:`alphapose.estimators.blaze_body.DECODINGS`.
        passes: body passes per person (the second re-crops from the first's landmarks).
        body_models: the body landmark model (``"lite"``, ``"full"``, ``"heavy"``) of each
            pass: one name for all passes, or one per pass. The last pass (whose landmarks
            are kept) takes the last name, earlier passes (which only place the next crop)
            the earlier ones; a box's extra placing pass takes the first. E.g.
            ``("full", "heavy")``: heavy only on the refining pass (measured, fused detector,
            shared COCO images: body AP end to end 0.608, between full / full 0.563 and
            heavy / heavy 0.619, at about 60% of heavy / heavy's body cost).
        tracking_body_model: the model of the single pass that re-estimates a tracked person
            on a video frame without detection (``None``: the last pass's model).
        conflict_body_model: when a placed and a box-path person have one head
            (:func:`~alphapose.estimators.chimera.head_conflicts`), each gets its refining
            pass again with this model, on the same crop, and so does a box-path body
            estimated again from its tight box (``None``: neither; see
            :func:`~alphapose.estimators.chimera.settle_conflicts`). Loaded on first use.
        conflict_placing_model: when a placed and a box-path person have one head, each is
            estimated again from its first crop with this model on the placing passes (the
            refining pass keeps its model), and so is a box-path body estimated again from its
            tight box (``None``: neither; see
            :func:`~alphapose.estimators.chimera.settle_conflicts_afresh`; for a mode whose
            refining model is already the better one, as performance's heavy x 2).
        box_scale: crop side / long box side for boxes that come without alignment keypoints.
        min_pose_score: drop people whose pose probability is below this.
        hands: estimate hands.
        face: estimate the face.
        hand_model: ``"lite"`` (default: about 35% faster end to end, which keeps 4 people at
            8 fps on 2 cores) or ``"full"`` (more accurate on large hands: FreiHAND PCK@0.2
            0.88 vs 0.79; the same hand AP on the COCO-WholeBody samples).
        refine_hands: how each hand crop is re-placed (see
            :data:`alphapose.estimators.face_hand.HAND_REFINE_MODES`): ``"landmarks"`` (or
            ``True``) a second hand pass on a crop re-placed from the first pass's landmarks,
            ``"recrop"`` MediaPipe holistic's hand re-crop model then one pass, ``"none"`` (or
            ``False``) one pass.
        hand_crop_forearm: where the crop a hand's knuckles place is shorter than this times
            the body's forearm (elbow to wrist), the hand is also estimated on a crop that
            long (enlarged about the wrist) and the more present result is kept
            (:meth:`~alphapose.estimators.face_hand.HandLandmarker.most_present`; 0: never).
            A hand is about 0.7 forearms long and the knuckle crop nominally 1.8 hands, but
            the body's index / pinky points on small hands often lie too close to the wrist
            (crop over forearm on the COCO and PoseTrack18 images: median 1.1, a third under
            1.0). Measured, performance (``bench/hands.py --causes``), off / 1.0: two of the
            10 COCO-WholeBody hands move (crossed arms 0.41 -> 0.78, a 10.6 px hand 0.30 ->
            0.28), mean hand OKS 0.536 -> 0.572, Halpe labels of the same images 0.505 ->
            0.544. The larger crop alone, without the choice, gives the same on these hands
            but lowers the mean presence of the 110 hands it enlarges on 36 unlabelled and
            labelled shared images (0.119 -> 0.097; 8 -> 6 hands at presence >= 0.5), so it is
            kept only where the model is surer. Off in balanced and lightweight (a plain
            floor there: hand AP unchanged, mean OKS 0.283 -> 0.284 and 0.304 -> 0.293).
        refine_face: the same for the face.
        flip: flip test on the last body pass (averages with the mirrored crop; twice the cost).
        duplicate_oks: bodies whose COCO-17 OKS to a more probable one exceeds this are the
            same person found twice and are dropped before hands and face (1 = keep all).
        box_duplicate_oks: the same when either body came from a plain box: a detector's
            box (:meth:`for_detector_boxes`: 0.5) gives a less exact crop, so its body can be
            the same person as a placed one at a lower OKS; given boxes are the user's people
            (0.8, as placed ones).
        box_min_agreement: a body estimated from a box without alignment keypoints (given
            boxes, other detectors) should agree with it (:func:`box_agreement`, the IoU of
            the box and the body's extent) at least this much, else it is estimated again with
            the pixels outside the box greyed out (see :meth:`BlazeWholeBody.estimate_from_box`).
        box_retry_unmasked: the masked retry of the box path ends with one pass on the real
            pixels, from the crop the masked estimate places (a third candidate); False keeps
            the masked estimate itself (one pass fewer; lightweight).
        box_min_pose_score: ``min_pose_score`` for people from plain boxes.
        box_keep_agreement: people from plain boxes whose body agrees with their box less
            than this (:func:`box_agreement`) are dropped. Given boxes keep everyone (0); a
            detector's boxes use :meth:`for_detector_boxes`.
        min_body_aspect: people whose confident body points are less than this long along
            their body axis as across it are dropped (:func:`body_aspect`: things dressed as
            a person, e.g. an upright "body" wider than tall).
        num_threads: interpreter threads per model.
        calibrated_hand_scores: hand points scored by
            :func:`~alphapose.estimators.face_hand.hand_keypoint_scores` (presence calibrated
            to the chance a point is right, times the wrist's visibility) instead of the raw
            presence. Off by default: measured (``bench/calibration.py``) ECE on the COCO hands
            0.29 -> 0.18 in balanced, 0.50 -> 0.42 in performance (where the map alone gives
            0.27: the wrist factor does not always help), AP unchanged in lightweight and
            performance, but in balanced the pose
            NMS (which ranks by the mean of all keypoint scores) keeps another of two
            overlapping people: body 0.563 -> 0.580, foot 0.564 -> 0.480, whole 0.303 -> 0.314.
        fast_video: the video fast path (:mod:`alphapose.estimators.video_parts`): on frames
            without detection, each followed person's hands and face found in the previous
            frame (presence >= 0.5) are cropped from their own landmarks there, and their
            second passes run only where the first did not converge; parts not found are
            looked for again from the body. Stills and detection frames unchanged.
        skip_converged: a second (or later) pass of the body, a hand or the face is skipped
            when the crop the previous pass's landmarks place is within
            :data:`~alphapose.estimators.video_parts.TOLERANCE` (body:
            ``BODY_TOLERANCE``) of the one it ran on (the next pass would see nearly the same
            pixels); everywhere, stills included.
        world: per person 3D keypoints in metres from the kept body pass
            (``Poses.keypoints_3d``, see :mod:`alphapose.estimators.body_extras`).
        world_height: the 3D keypoints are scaled per person to a person this tall
            (metres, :func:`~alphapose.estimators.body_extras.scale_to_height`); 0 or None:
            the body model's own metres.
        masks: per person the body model's segmentation, warped to the image
            (``Poses.masks``, COCO RLE).
        mask_resolution: who takes a pixel two masks cover (``"score"``: the higher person
            score; ``"logit"``: the more certain map).
    """

    decoding: str = "heatmap"
    passes: int = 2
    body_models: tuple[str, ...] = ("full",)
    tracking_body_model: str | None = None
    conflict_body_model: str | None = None
    conflict_placing_model: str | None = None
    box_scale: float = 1.25
    min_pose_score: float = 0.5
    hands: bool = True
    face: bool = True
    hand_model: str = "lite"
    refine_hands: bool | str = True
    hand_crop_forearm: float = 0.0
    refine_face: bool = True
    flip: bool = False
    duplicate_oks: float = 0.8
    box_duplicate_oks: float = 0.8
    box_min_agreement: float = 0.5
    box_retry_unmasked: bool = True
    box_min_pose_score: float = 0.5
    box_keep_agreement: float = 0.0
    min_body_aspect: float = 0.6
    num_threads: int = 2
    calibrated_hand_scores: bool = False
    fast_video: bool = False
    skip_converged: bool = False
    world: bool = False
    world_height: float | None = WORLD_HEIGHT
    masks: bool = False
    mask_resolution: str = "score"

    def for_detector_boxes(self) -> BlazeWholeBodyConfig:
        """These settings for plain boxes that come from a person detector (NanoDet, fused)
        rather than from the user: a box-path body must reach pose probability 0.55, agree
        with its box at least 0.2, and is a duplicate of another body from OKS 0.5. Measured
        end to end over the 39 labelled people of ``bench/detector.py``: fused detector,
        recall / precision 0.974 / 0.776 without this, 0.923 / 0.923 with it; NanoDet alone
        0.974 / 0.809 -> 0.923 / 0.973. (The thresholds were chosen on those same images, from
        a grid of 4 x 4 x 4 settings: read them as a first calibration.)"""
        return replace(self, box_min_pose_score=max(self.box_min_pose_score, 0.55),
                       box_keep_agreement=max(self.box_keep_agreement, 0.2),
                       box_duplicate_oks=min(self.box_duplicate_oks, 0.5))

    def pass_models(self, passes: int) -> list[str]:
        """The body model of each of ``passes`` passes: the last pass takes the last of
        ``body_models``, earlier ones the earlier names (the last but one repeated when a box's
        extra placing pass makes more passes than names); a single pass is a last pass.

        Example:
            >>> BlazeWholeBodyConfig(body_models=("full", "heavy")).pass_models(3)
            ['full', 'full', 'heavy']
        """
        names = self.body_models
        return [names[-1] if n == passes - 1 else names[min(n, max(len(names) - 2, 0))]
                for n in range(passes)]

    def __post_init__(self) -> None:
        if self.passes < 1:
            raise ValueError(f"passes must be >= 1, got {self.passes}")
        from alphapose.estimators.blaze_body import BODY_MODELS

        if isinstance(self.body_models, str):  # one name for every pass
            object.__setattr__(self, "body_models", (self.body_models,))
        object.__setattr__(self, "body_models", tuple(self.body_models))
        if len(self.body_models) not in (1, self.passes):
            raise ValueError(f"body_models: expected 1 or passes ({self.passes}) names, got "
                             f"{len(self.body_models)}: {self.body_models}")
        for name in (*self.body_models, self.tracking_body_model, self.conflict_body_model,
                     self.conflict_placing_model):
            if name is not None and name not in BODY_MODELS:
                raise ValueError(f"body model {name!r} is not one of {list(BODY_MODELS)}")
        if self.hand_model not in ("full", "lite"):
            raise ValueError(f"hand_model must be 'full' or 'lite', got {self.hand_model!r}")
        from alphapose.estimators.face_hand import HAND_REFINE_MODES

        if not (isinstance(self.refine_hands, bool) or self.refine_hands in HAND_REFINE_MODES):
            raise ValueError(f"refine_hands must be True, False or one of "
                             f"{list(HAND_REFINE_MODES)}, got {self.refine_hands!r}")
        from alphapose.estimators.body_extras import MASK_RESOLUTIONS

        if self.world_height is not None and not (
                isinstance(self.world_height, (int, float)) and 0 <= self.world_height < 3):
            raise ValueError(f"world_height must be a person's height in metres (0: the model's "
                             f"scale), got {self.world_height!r}")
        if self.mask_resolution not in MASK_RESOLUTIONS:
            raise ValueError(f"mask_resolution must be one of {list(MASK_RESOLUTIONS)}, got "
                             f"{self.mask_resolution!r}")


class BlazeWholeBody:
    """Whole-body Halpe-136 estimator on the embedded BlazePose models.

    Args:
        config: settings; defaults measure best on the COCO-WholeBody samples.

    Example:
        >>> estimator = BlazeWholeBody()                           # doctest: +SKIP
        >>> poses = estimator(image, detections)                    # doctest: +SKIP
        >>> poses.keypoints.shape                                   # doctest: +SKIP
        (2, 136, 2)
    """

    layout = "halpe136"

    def __init__(self, config: BlazeWholeBodyConfig | None = None) -> None:
        self.config = config or BlazeWholeBodyConfig()
        # one interpreter per distinct model (BlazeBody holds one model)
        self.bodies = {name: BlazeBody(self.config.decoding, num_threads=self.config.num_threads,
                                       model=name, world=self.config.world,
                                       segmentation=self.config.masks)
                       for name in dict.fromkeys((*self.config.body_models,
                                                  self.config.tracking_body_model))
                       if name is not None}
        self.body = self.bodies[self.config.body_models[-1]]
        self.hand = None
        self.face = None
        if self.config.hands:
            from alphapose.estimators.face_hand import HandLandmarker

            self.hand = HandLandmarker(variant=self.config.hand_model,
                                       num_threads=self.config.num_threads,
                                       refine=self.config.refine_hands)
        if self.config.face:
            from alphapose.estimators.face_hand import FaceLandmarker

            self.face = FaceLandmarker(num_threads=self.config.num_threads,
                                       refine=self.config.refine_face)

    # -- body ---------------------------------------------------------------------------------
    def initial_rect(self, box: np.ndarray, keypoints: np.ndarray | None) -> RotatedRect:
        """The first body crop for one detection."""
        if keypoints is not None and len(keypoints) >= 2:
            return roi_from_alignment_points(keypoints[0], keypoints[1])
        x1, y1, x2, y2 = [float(v) for v in box]
        side = max(x2 - x1, y2 - y1) * self.config.box_scale
        return RotatedRect((x1 + x2) / 2, (y1 + y2) / 2, max(side, 1.0), max(side, 1.0), 0.0)

    def estimate_from_box(self, image: np.ndarray, box: np.ndarray) -> BodyResult:
        """All body passes on the person of a box that came without alignment keypoints.

        A box says where a person is but not where their hips are or how they lean, which the
        landmark model's crop needs (the detector path gets both from its alignment
        keypoints). So the first pass, on an upright square around the box, only places the
        crop; ``config.passes`` more follow, each re-cropped from the previous landmarks. In
        a crowd the crop often holds a neighbour too and the passes may settle on them: when
        the body does not agree with the box (:func:`box_agreement` below
        ``config.box_min_agreement``), it is estimated once more with the pixels outside the
        box greyed out (then, with ``config.box_retry_unmasked``, one pass on the real pixels
        from there), and the body agreeing best with the box is kept.

        Args:
            image: ``(H, W, 3)`` uint8 BGR.
            box: ``(4,)`` xyxy person box in image pixels.
        """
        upright = self.initial_rect(box, None)
        body = self.estimate_body(image, upright, passes=self.config.passes + 1)
        if box_agreement(body, box) >= self.config.box_min_agreement:
            return body
        masked = self.estimate_body(masked_outside(image, box, upright), upright,
                                    passes=self.config.passes)
        candidates = [body, masked]
        if self.config.box_retry_unmasked:
            candidates.insert(1, self.estimate_body(image, BlazeBody.next_rect(masked), passes=1))
        return max(candidates,
                   key=lambda candidate: (box_agreement(candidate, box), candidate.pose_score))

    def body_for(self, name: str) -> BlazeBody:
        """The body landmark model ``name``; one the settings use only now and then
        (``conflict_body_model``) is loaded on first use."""
        body = self.bodies.get(name)
        if body is None:
            body = self.bodies[name] = BlazeBody(
                self.config.decoding, num_threads=self.config.num_threads, model=name,
                world=self.config.world, segmentation=self.config.masks)
        return body

    def estimate_body(self, image: np.ndarray, rect: RotatedRect,
                      passes: int | None = None, model: str | None = None) -> BodyResult:
        """All body passes on one person (``config.passes`` unless given), each with its model
        (:meth:`pass_models`; ``model`` for every pass when given); the last one optionally
        flip-tested."""
        models = self.config.pass_models(self.config.passes if passes is None else passes)
        if model is not None:
            models = [model] * len(models)
        result = self.body_for(models[0])(image, rect)
        for name in models[1:]:
            rect = BlazeBody.next_rect(result)
            if rect.width < 2 or (self.config.skip_converged
                                  and converged(result.rect, rect, BODY_TOLERANCE)):
                break
            result = self.body_for(name)(image, rect)
        if self.config.flip:
            result = self._flip_average(image, result)
        return result

    def _flip_average(self, image: np.ndarray, result: BodyResult) -> BodyResult:
        # Mirror the image about the crop centre's column, run, mirror points back, swap sides.
        width = image.shape[1]
        mirrored = np.ascontiguousarray(image[:, ::-1])
        rect = result.rect
        mirrored_rect = RotatedRect(width - 1 - rect.cx, rect.cy, rect.width, rect.height,
                                    -rect.rotation)
        # the model of the pass it averages with (the last pass's)
        flipped = self.bodies[self.config.body_models[-1]](mirrored, mirrored_rect)
        order = np.arange(flipped.points.shape[0])
        for a, b in BLAZE_FLIP_PAIRS:
            order[a], order[b] = b, a
        points = flipped.points[order].copy()
        points[:, 0] = width - 1 - points[:, 0]
        return BodyResult(points=(result.points + points) / 2,
                          visibility=(result.visibility + flipped.visibility[order]) / 2,
                          presence=(result.presence + flipped.presence[order]) / 2,
                          pose_score=(result.pose_score + flipped.pose_score) / 2,
                          rect=result.rect, world=result.world,
                          segmentation=result.segmentation)

    # -- whole body ---------------------------------------------------------------------------
    def replicate(self, num_threads: int = 1) -> BlazeWholeBody:
        """A copy with its own interpreters (``num_threads`` each), for another worker thread."""
        return BlazeWholeBody(replace(self.config, num_threads=num_threads))

    def part_crops(self, body: BodyResult) -> list[tuple[slice, str, RotatedRect]]:
        """Where the hands and face of ``body`` are: ``(slot in Halpe-136, "hand" | "face",
        crop)`` for each part the settings ask for and the body places."""
        crops: list[tuple[slice, str, RotatedRect]] = []
        p = body.points
        if self.hand is not None:
            from alphapose.estimators.face_hand import HandCrop, hand_rect_from_body

            # the re-crop model wants MediaPipe holistic's wider seed crop (measured: hand PCK
            # on the small COCO hands 0.28 vs 0.20 with the landmark model's seed)
            seed = ({"scale": 2.7, "shift": -0.1} if self.hand.refine == "recrop" else {})
            # the side comes from the body model (the hand model's handedness assumes selfies)
            for target, (wrist, index, pinky, elbow) in ((LEFT_HAND, (15, 19, 17, 13)),
                                                         (RIGHT_HAND, (16, 20, 18, 14))):
                floor = self.config.hand_crop_forearm * float(np.hypot(*(p[wrist] - p[elbow])))
                try:
                    hand_rect = hand_rect_from_body(p[wrist], p[index], p[pinky], **seed)
                except ValueError:  # wrist on the knuckles: no hand direction
                    continue
                if floor > hand_rect.width:  # also a forearm-long crop, the more present kept
                    larger = hand_rect_from_body(p[wrist], p[index], p[pinky], **seed,
                                                 min_side=floor)
                    hand_rect = HandCrop(**vars(hand_rect), larger=larger)
                if hand_rect.width >= 2:
                    crops.append((target, "hand", hand_rect))
        if self.face is not None:
            from alphapose.estimators.face_hand import face_rect_from_points

            face_rect = face_rect_from_points(left_eye=p[2], right_eye=p[5], nose=p[0],
                                              mouth_left=p[9], mouth_right=p[10],
                                              left_ear=p[7], right_ear=p[8])
            if face_rect.width >= 2:
                crops.append((FACE, "face", face_rect))
        return crops

    def estimate_part(self, image: np.ndarray, kind: str,
                      rect: RotatedRect) -> tuple[np.ndarray, np.ndarray]:
        """``(points, scores)`` of one hand (21 points, ``kind="hand"``) or face (68,
        ``kind="face"``) on its crop."""
        if kind == "hand":
            larger = getattr(rect, "larger", None)  # a HandCrop: two candidate crops
            hand = (self.hand(image, rect) if larger is None
                    else self.hand.most_present(image, [rect, larger]))
            return hand.points, hand.scores
        face = self.face(image, rect)
        return face.points68, face.scores

    #: the pipeline may pass ``tracked`` people (see :meth:`__call__`)
    supports_tracking = True

    @property
    def num_threads(self) -> int:
        """Interpreter threads of each model."""
        return int(self.config.num_threads)

    @property
    def extra_outputs(self) -> frozenset[str]:
        """Per-person outputs beyond keypoints this estimator gives (``"world"``,
        ``"masks"``), as :class:`alphapose.stages.EstimatorInfo` reads them."""
        return frozenset(name for name in ("world", "masks") if getattr(self.config, name))
    #: the person score uses body and feet only: face and hand scores are one presence
    #: probability per part, all or nothing (see :class:`alphapose.pipeline.Pipeline`)
    person_score_parts = ("body", "foot")

    def find_people(self, image: np.ndarray, detections: Detections,
                    tracked: TrackedPeople | None = None,
                    tasks: Tasks | None = None) -> Future:
        """The bodies of one frame: every detection and tracked person estimated (one
        :data:`~alphapose.tasks.URGENT` task each), improbable ones and duplicates dropped.
        Nothing waits here: the result is a future, so frames that do not follow each other
        (still images, detection frames) overlap.

        Args:
            image, detections, tracked: as :meth:`__call__`.
            tasks: where the body tasks run (default: in line, on this estimator).

        Returns:
            A future of the people kept (``list[Person]``), detections first, then tracked
            people, each in input order.
        """
        tasks = tasks or InlineTasks(self)
        heads, futures = [], []
        for i in range(len(detections)):
            keypoints = None if detections.keypoints is None else detections.keypoints[i]
            # rows without alignment points (NaN: a box detector's, see detection.fused)
            if keypoints is not None and (len(keypoints) < 2
                                          or not np.isfinite(keypoints[:2]).all()):
                keypoints = None
            heads.append((detections.xyxy[i], float(detections.scores[i]), keypoints is not None))
            if keypoints is None:
                work = partial(_box_task, image=image, box=detections.xyxy[i])
            else:
                work = partial(_body_task, image=image,
                               rect=self.initial_rect(detections.xyxy[i], keypoints), passes=None)
            futures.append(tasks.submit(work, URGENT))
        if tracked is not None and tracked.roi_points is not None:
            for i in range(len(tracked)):
                rect = roi_from_alignment_points(tracked.roi_points[i][0],
                                                 tracked.roi_points[i][1])
                if rect.width >= 2:
                    # only the fast path reads (and then clears) it: no chain of frames
                    previous = (getattr(tracked, "people", None) if self.config.fast_video
                                else None)
                    heads.append((tracked.xyxy[i], float(tracked.box_scores[i]), True,
                                  None if previous is None else previous[i]))
                    futures.append(tasks.submit(
                        partial(_body_task, image=image, rect=rect, passes=1,
                                model=self.config.tracking_body_model), URGENT))

        def select(bodies: list[BodyResult]) -> list[Person]:
            people = [Person(box, score, placed, body, *previous)
                      for (box, score, placed, *previous), body in zip(heads, bodies)]
            return [p for p in people if probable(p, self.config)]

        def distinct(people: list[Person]) -> list[Person]:
            return _distinct_bodies(people, self.config.duplicate_oks,
                                    self.config.box_duplicate_oks)

        found = gather(futures, select)
        # people from plain boxes (no alignment keypoints): the head and chimera checks
        from_boxes = not all(placed for _, _, placed, *_ in heads)
        refine_model = self.config.conflict_body_model
        if refine_model == self.config.body_models[-1]:
            refine_model = None
        if refine_model is not None and from_boxes:
            # a placed and a box-path person on one head: refining passes with a better model
            from alphapose.estimators.chimera import settle_conflicts

            found = settle_conflicts(found, image, tasks, refine_model)
        placing_model = self.config.conflict_placing_model
        if placing_model is not None and from_boxes:
            # the same, all passes again from the first crop with another placing model
            from alphapose.estimators.chimera import settle_conflicts_afresh

            found = settle_conflicts_afresh(found, image, tasks, detections, placing_model)
        if not from_boxes:
            return then(found, distinct)
        # box-path bodies on another person's head are estimated again first (chimeras)
        from alphapose.estimators.chimera import separate_chimeras

        return separate_chimeras(found, image, tasks, distinct, refine_model, placing_model)

    @staticmethod
    def tracked_people(people: Future | list[Person]) -> TrackedPeople:
        """Where each of ``people`` (or of the future's people) is looked for in the next video
        frame; a future is waited for only when the next frame asks (and a frame that failed
        has nobody to follow: the next one runs the detector)."""
        if isinstance(people, Future):
            return TrackedPeople.later(people)
        return TrackedPeople.of(people)

    @staticmethod
    def same_people(before: TrackedPeople, after: TrackedPeople, min_iou: float = 0.5) -> bool:
        """Whether two frames' people are the same people: as many, and each of ``after`` on
        its own one of ``before`` (IoU of the boxes around their 17 COCO body points at least
        ``min_iou``, matched greedily one to one). The pipeline spaces out detection frames
        while this holds (a detection frame that finds exactly the people it followed in).

        All 17 points, not only the visible ones: in a crowd the visible set of a small person
        changes from frame to frame (MOT17-02, the same 8 pedestrians a frame apart: IoU
        0.55-0.96 with all points, down to 0.38 with the visible ones; COCO-17 OKS down to
        0.12)."""
        old, new = before.people, after.people
        if old is None or new is None or len(old) != len(new):
            return False
        if not new:
            return True
        from alphapose.detection.nms import box_iou

        def extents(people: list[Person]) -> np.ndarray:
            points = np.stack([p.body.points[BLAZE_TO_COCO17] for p in people])
            return np.concatenate([points.min(1), points.max(1)], axis=1).astype(np.float64)

        overlap = box_iou(extents(new), extents(old))
        for _ in range(len(new)):
            row, column = np.unravel_index(np.argmax(overlap), overlap.shape)
            if overlap[row, column] < min_iou:
                return False
            overlap[row, :], overlap[:, column] = -1.0, -1.0
        return True

    def start_parts(self, image: np.ndarray, people: Future | list[Person],
                    tasks: Tasks | None = None) -> Callable[[], Poses]:
        """Queue the hands and face of ``people`` (one :data:`~alphapose.tasks.LATER` task
        each) as soon as the bodies are known; the returned function waits for them and gives
        the Halpe-136 poses."""
        tasks = tasks or InlineTasks(self)
        if not isinstance(people, Future):
            people = resolved(people)

        def submit_parts(kept: list[Person]) -> tuple[list[Person], list[list[tuple]]]:
            if self.config.fast_video or self.config.skip_converged:
                from alphapose.estimators.video_parts import submit_parts as followed

                return kept, followed(self, image, kept, tasks)
            return kept, [[(target, tasks.submit(partial(_part_task, image=image, kind=kind,
                                                         rect=rect), LATER))
                           for target, kind, rect in self.part_crops(person.body)]
                          for person in kept]

        queued = then(people, submit_parts)
        shape, layout = image.shape, self.layout

        def finish() -> Poses:
            kept, pending = queued.result()
            if not kept:
                return Poses.empty(NUM_KEYPOINTS, layout)
            assembled = [_whole_body(person.body, [(target, future.result())
                                                   for target, future in parts],
                                     self.config.calibrated_hand_scores)
                         for person, parts in zip(kept, pending)]
            # A crop placed from alignment points has no tight person box: report the body's
            # extent instead (a given box, e.g. ground truth, is kept).
            boxes = [body_box(points[:26], scores[:26], shape) if person.placed else person.box
                     for person, (points, scores) in zip(kept, assembled)]
            return Poses(np.stack([p for p, _ in assembled]), np.stack([s for _, s in assembled]),
                         np.stack(boxes), np.asarray([p.box_score for p in kept]),
                         layout=layout,
                         **person_extras(kept, assembled, shape, self.config))

        return finish

    def __call__(self, image: np.ndarray, detections: Detections,
                 tracked: TrackedPeople | None = None) -> Poses:
        """Halpe-136 poses for every detection (and every tracked person).

        People the body model rejects are dropped, and so are bodies that land on a person
        already found (two detections of one person): hands and face are estimated once.

        Args:
            image: ``(H, W, 3)`` uint8 BGR.
            detections: person boxes; with alignment keypoints (the embedded detector) the crop
                is placed from them, else a square around the box.
            tracked: people of the previous video frame (:meth:`tracked_people`); each is
                estimated again from a crop placed by its ``roi_points`` with a single body
                pass (the previous frame's landmarks already give size and rotation), as
                MediaPipe tracks bodies.
        """
        return self.start_parts(image, self.find_people(image, detections, tracked))()


@dataclass
class Person:
    """A body kept by :meth:`BlazeWholeBody.find_people`.

    Attributes:
        box: ``(4,)`` the detection or tracked box it came from.
        box_score: that box's score.
        placed: the crop was placed from alignment points (the box is not a tight person box).
        body: the body estimate.
        previous: the same person in the previous video frame (followed people; the video
            fast path, :mod:`alphapose.estimators.video_parts`, reads and clears it).
        tracks: future of what the next frame needs of the hands and face (fast path).
    """

    box: np.ndarray
    box_score: float
    placed: bool
    body: BodyResult
    previous: Person | None = None
    tracks: Future = field(default_factory=Future, repr=False)


@dataclass
class TrackedPeople:
    """The people of one video frame, as the next frame's estimate starts from them.

    Attributes:
        xyxy: ``(N, 4)`` boxes.
        box_scores: ``(N,)``.
        roi_points: ``(N, 2, 2)`` body centre and body-circle point (BlazePose auxiliary
            landmarks) that place each next crop.
        people: the :class:`Person` of each row (None when not known).
    """

    xyxy: np.ndarray
    box_scores: np.ndarray
    roi_points: np.ndarray
    people: list[Person] | None = None

    def __len__(self) -> int:
        return len(self.xyxy)

    @staticmethod
    def of(people: list[Person]) -> TrackedPeople:
        """Where each of ``people`` is looked for in the next frame."""
        if not people:
            return TrackedPeople(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                                 np.zeros((0, 2, 2), np.float32))
        return TrackedPeople(np.stack([p.box for p in people]).astype(np.float32),
                             np.asarray([p.box_score for p in people], np.float32),
                             np.stack([p.body.points[[AUX_CENTER, AUX_SCALE]] for p in people]),
                             list(people))

    @staticmethod
    def later(people: Future) -> _LaterTracked:
        """The same, for people still being estimated: waits on first use."""
        return _LaterTracked(people)


class _LaterTracked:
    """:class:`TrackedPeople` of a future, resolved on first use (nobody if it failed)."""

    def __init__(self, people: Future) -> None:
        self._people = people
        self._value: TrackedPeople | None = None

    def _resolve(self) -> TrackedPeople:
        if self._value is None:
            try:
                people = self._people.result()
            except Exception:  # noqa: BLE001 - that frame is reported where it finishes
                people = []
            self._value = TrackedPeople.of(people)
        return self._value

    @property
    def xyxy(self) -> np.ndarray:
        return self._resolve().xyxy

    @property
    def box_scores(self) -> np.ndarray:
        return self._resolve().box_scores

    @property
    def roi_points(self) -> np.ndarray:
        return self._resolve().roi_points

    @property
    def people(self) -> list[Person] | None:
        return self._resolve().people

    def __len__(self) -> int:
        return len(self._resolve())


def _body_task(models: BlazeWholeBody, image: np.ndarray, rect: RotatedRect,
               passes: int | None, model: str | None = None) -> BodyResult:
    return models.estimate_body(image, rect, passes, model)


def probable(person: Person, config: BlazeWholeBodyConfig) -> bool:
    """Whether a body is probably a person (and, from a plain box, that box's person): its
    pose probability reaches ``config.min_pose_score`` (``box_min_pose_score`` for a plain
    box, which must also agree with the body at least ``box_keep_agreement``), and its shape is
    a person's (:func:`body_aspect` at least ``config.min_body_aspect``)."""
    if person.placed:
        if person.body.pose_score < config.min_pose_score:
            return False
    elif person.body.pose_score < config.box_min_pose_score or (
            config.box_keep_agreement > 0
            and box_agreement(person.body, person.box) < config.box_keep_agreement):
        return False
    return body_aspect(person.body) >= config.min_body_aspect


def body_aspect(body: BodyResult, min_visibility: float = 0.5) -> float:
    """Extent of a body's confident COCO-17 points along its own axis (hip centre -> body
    circle point, the crop's "up") over their extent across it.

    People are longer along their axis than across it, whether they stand, sit, crouch or
    lie (the axis turns with them): over the people of the shared images the lowest ratio
    was 0.71 (a crouching catcher). Things the landmark model dresses as a person do not
    keep to that: an upright "body" wider than tall (0.54 on the helmet of the astronaut
    photograph, 0.24 on a coat on a seat). 0 when fewer than two points are confident or the
    axis is undefined.
    """
    axis = body.points[AUX_SCALE] - body.points[AUX_CENTER]
    length = float(np.hypot(*axis))
    confident = body.visibility[BLAZE_TO_COCO17] >= min_visibility
    if length == 0 or confident.sum() < 2:
        return 0.0
    up = axis / length
    side = np.array([-up[1], up[0]])
    points = body.points[BLAZE_TO_COCO17][confident]
    along, across = points @ up, points @ side
    return float((along.max() - along.min()) / max(across.max() - across.min(), 1e-6))


def _box_task(models: BlazeWholeBody, image: np.ndarray, box: np.ndarray) -> BodyResult:
    return models.estimate_from_box(image, box)


def box_agreement(body: BodyResult, box: np.ndarray, min_visibility: float = 0.5) -> float:
    """IoU of a box with the extent of a body's confident COCO-17 points (enlarged by 10% per
    side, :func:`body_box`): whether the body is the box's person. 0 when no point is
    confident. (A fraction of points inside the box cannot tell a person from the one who
    stands in front of them: both lie mostly inside.)

    Args:
        body: a body estimate.
        box: ``(4,)`` xyxy.
        min_visibility: points at least this visible count.
    """
    confident = body.visibility[BLAZE_TO_COCO17] >= min_visibility
    if not confident.any():
        return 0.0
    points = body.points[BLAZE_TO_COCO17][confident]
    low, high = points.min(0), points.max(0)
    pad = (high - low) * 0.1
    x1, y1, x2, y2 = (float(v) for v in box)
    ix = min(x2, high[0] + pad[0]) - max(x1, low[0] - pad[0])
    iy = min(y2, high[1] + pad[1]) - max(y1, low[1] - pad[1])
    inter = max(ix, 0.0) * max(iy, 0.0)
    extent = (high - low + 2 * pad).prod()
    union = (x2 - x1) * (y2 - y1) + extent - inter
    return float(inter / union) if union > 0 else 0.0


def masked_outside(image: np.ndarray, box: np.ndarray, rect: RotatedRect,
                   margin: float = 0.1) -> np.ndarray:
    """A copy of the part of ``image`` that ``rect`` covers, grey (114) outside ``box``
    enlarged by ``margin`` of its size per side; the rest of the image is not copied (zeros),
    since only ``rect`` is read from it."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    pad_x, pad_y = (x2 - x1) * margin, (y2 - y1) * margin
    half = max(rect.width, rect.height) * 0.75  # covers the rotated crop
    rx1, ry1 = max(int(rect.cx - half), 0), max(int(rect.cy - half), 0)
    rx2, ry2 = min(int(rect.cx + half) + 2, width), min(int(rect.cy + half) + 2, height)
    out = np.zeros_like(image)
    if rx2 <= rx1 or ry2 <= ry1:
        return out
    out[ry1:ry2, rx1:rx2] = 114
    bx1, by1 = max(int(np.floor(x1 - pad_x)), rx1), max(int(np.floor(y1 - pad_y)), ry1)
    bx2, by2 = min(int(np.ceil(x2 + pad_x)) + 1, rx2), min(int(np.ceil(y2 + pad_y)) + 1, ry2)
    if bx2 > bx1 and by2 > by1:
        out[by1:by2, bx1:bx2] = image[by1:by2, bx1:bx2]
    return out


def _part_task(models: BlazeWholeBody, image: np.ndarray, kind: str,
               rect: RotatedRect) -> tuple[np.ndarray, np.ndarray]:
    return models.estimate_part(image, kind, rect)


def _whole_body(body: BodyResult, parts: list[tuple[slice, tuple[np.ndarray, np.ndarray]]],
                calibrated_hands: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Halpe-136 ``(points, scores)`` from a body and its ``(slot, (points, scores))`` parts
    (with ``calibrated_hands`` a hand's presence becomes
    :func:`~alphapose.estimators.face_hand.hand_keypoint_scores`)."""
    from alphapose.estimators.face_hand import hand_keypoint_scores

    points = np.zeros((NUM_KEYPOINTS, 2), np.float32)
    scores = np.zeros((NUM_KEYPOINTS,), np.float32)
    points[:26], scores[:26] = body33_to_halpe26(body.points, body.visibility)
    wrists = {LEFT_HAND.start: 15, RIGHT_HAND.start: 16}  # BlazePose wrists
    for target, (part_points, part_scores) in parts:
        if calibrated_hands and target.start in wrists:
            part_scores = hand_keypoint_scores(part_scores, body.visibility[wrists[target.start]])
        points[target], scores[target] = part_points, part_scores
    return points, np.clip(scores, 0.0, 1.0)


def _distinct_bodies(bodies: list[Person], threshold: float,
                     box_threshold: float | None = None) -> list[Person]:
    """Greedy by pose probability: drop a body whose COCO-17 OKS to a kept one exceeds
    ``threshold`` (the scale is the kept body's keypoint-extent area), or ``box_threshold``
    when either of the two came from a plain box (``Person.placed`` false: a box detector
    finds people the alignment detector already placed, from a less exact crop); the
    survivors keep their input order."""
    box_threshold = threshold if box_threshold is None else box_threshold
    if min(threshold, box_threshold) >= 1.0 or len(bodies) < 2:
        return bodies
    from alphapose.nms import oks
    from alphapose.skeletons import get_layout

    sigmas = get_layout("coco17").sigmas
    order = sorted(range(len(bodies)), key=lambda n: -bodies[n].body.pose_score)
    coco = np.stack([bodies[n].body.points[BLAZE_TO_COCO17] for n in order])
    placed = [bodies[n].placed for n in order]
    kept: list[int] = []
    for rank in range(len(order)):
        duplicate = False
        for k in kept:
            extent = coco[k].max(0) - coco[k].min(0)
            limit = threshold if placed[k] and placed[rank] else box_threshold
            if oks(coco[k], coco[rank][None], sigmas, float(extent[0] * extent[1]))[0] > limit:
                duplicate = True
                break
        if not duplicate:
            kept.append(rank)
    return [bodies[n] for n in sorted(order[rank] for rank in kept)]
