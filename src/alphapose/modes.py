"""Accuracy presets of the embedded default: ``lightweight``, ``balanced``, ``performance``.

A mode is a frozen row of settings (body landmark model per pass, hand model, hand and face
re-crops, detector, tiles), chosen from measured figures (README, "Modes"); ``balanced`` is the
default. ``alphapose run --mode M`` and ``Pipeline(mode=M)`` build the mode's detector and
estimator; options given explicitly (``--hand-model``, ``--detector``, a detector or estimator
passed to :class:`~alphapose.pipeline.Pipeline`) override the mode's.

Example:
    >>> get_mode("performance").body_models
    ('heavy',)
    >>> estimator_config("lightweight").passes
    1
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["DEFAULT_MODE", "MODES", "Mode", "build_detector", "estimator_config", "get_mode"]


@dataclass(frozen=True)
class Mode:
    """One preset.

    Attributes:
        name: how users choose it.
        body_models: body landmark model per pass (see
            :class:`~alphapose.estimators.blaze.BlazeWholeBodyConfig`).
        passes: body passes per detected person.
        tracking_body_model: model of the one pass that follows a tracked person on video
            frames without detection (``None``: the last pass's).
        hand_model: ``"lite"`` or ``"full"``.
        hand_refine: ``"landmarks"`` (second hand pass), ``"recrop"``, ``"none"`` or
            ``"ensemble"`` (two passes, each averaging the full and lite hand models).
        refine_face: a second face-mesh pass on the crop re-placed from the first.
        detector: ``None`` = the default detector
            (:func:`alphapose.detection.fused.default_detector`: fused, or BlazePose alone
            when NanoDet cannot be fetched); ``"blaze"`` = the BlazePose detector alone.
        tiles: the BlazePose detector's tiling, ``"auto"`` or ``"none"``.
        flip: flip test on the last body pass (the mirrored crop averaged in; twice that
            pass's cost).
        fast_video: the video fast path on frames without detection (hands and face followed
            from the previous frame's landmarks, second passes only where the first did not
            converge; :mod:`alphapose.estimators.video_parts`); stills are unchanged.
        conflict_body_model: the body model that runs the refining pass again for people
            whose heads coincide (:func:`alphapose.estimators.chimera.settle_conflicts`;
            ``None``: not done).
        conflict_placing_model: the body model of the placing passes when such people are
            estimated again from their first crops
            (:func:`alphapose.estimators.chimera.settle_conflicts_afresh`; ``None``: not done).
        hand_crop_forearm: each hand crop at least this many forearms long (0: no floor;
            :class:`~alphapose.estimators.blaze.BlazeWholeBodyConfig`).
        box_retry_unmasked: the box path's masked retry ends with a pass on the real pixels
            (:class:`~alphapose.estimators.blaze.BlazeWholeBodyConfig`).
    """

    name: str
    body_models: tuple[str, ...]
    passes: int
    tracking_body_model: str | None
    hand_model: str
    hand_refine: str
    refine_face: bool
    detector: str | None
    tiles: str
    flip: bool = False
    fast_video: bool = False
    conflict_body_model: str | None = None
    conflict_placing_model: str | None = None
    hand_crop_forearm: float = 0.0
    box_retry_unmasked: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The presets (figures: README "Modes"; bench/accuracy.py and bench/speed.py --mode M).
MODES: dict[str, Mode] = {m.name: m for m in (
    # the default (fused) detector, one full body pass (same cost as two lite passes, body AP
    # 0.571 vs 0.453), one pass per hand and face. Until 2026-12-05 the BlazePose detector
    # alone: it finds people by their faces, 3.2 per frame of video.avi where fused finds 23.9,
    # and end to end body AP 0.571 -> 0.624, foot 0.421 -> 0.500, face 0.652 -> 0.751, whole
    # 0.329 -> 0.348 (hand 0.074 both), PoseTrack18 0.127 -> 0.248 (people found 6 -> 10 of
    # 14) with fused (bench/accuracy.py, bench/accuracy_people.py); persons/s 52.6 -> 44.4 on
    # video.avi (bench/speed.py: the crowd's small people go through the box path, where the
    # masked retry runs for 88% of the boxes). So the masked retry keeps its masked estimate
    # here (box_retry_unmasked=False: no pass on the real pixels after it): 1127 -> 967 body
    # invokes on the 8 detection frames of 40, the same people kept (231 -> 234), COCO AP
    # unchanged, PoseTrack18 0.248 -> 0.243 (balanced loses there: 0.359 -> 0.277, 11 -> 9
    # people found, so it keeps the pass); persons/s 47.3 against balanced's 31.0 (x1.53).
    # Measured and left out: the lite body model on frames without detection, against full
    # there: people matched 0.56, body drift median 0.10 of the body's size (its crops follow
    # its own landmarks, so the lite model's errors carry from frame to frame)
    Mode("lightweight", body_models=("full",), passes=1, tracking_body_model=None,
         hand_model="lite", hand_refine="none", refine_face=False, detector=None,
         tiles="auto", fast_video=True, box_retry_unmasked=False),
    # today's default; video: hands and face found in the previous frame are followed
    # (bench/video_fast.py: drift against the full path 0.01 of the face's size, 0.02-0.03 of
    # a hand's; no saving where parts are small). Measured and left out: BlazePose-heavy on
    # the refining pass (shared COCO images 0.586 -> 0.681 end to end with the chimera step, but
    # PoseTrack18's labelled frames 0.363 -> 0.281, video 0.74-0.82x fps, fewer people kept
    # on tracked frames). Heavy only where a placed and a box-path person have one head
    # (conflict_body_model): body AP 0.586 -> 0.646 end to end (the two skiers of
    # 000000197388.jpg), 0.608 with ground-truth boxes (unchanged: all box-path people),
    # PoseTrack18 0.358 -> 0.359 (bench/accuracy.py, bench/accuracy_people.py)
    Mode("balanced", body_models=("full",), passes=2, tracking_body_model=None,
         hand_model="lite", hand_refine="landmarks", refine_face=True, detector=None,
         tiles="auto", fast_video=True, conflict_body_model="heavy"),
    # BlazePose-heavy on both passes and on tracked frames, the full hand model, flip test on
    # the last body pass (shared COCO images, end to end / ground-truth boxes: whole body
    # 0.381 -> 0.463 / 0.372 -> 0.423, hand 0.157 -> 0.225 / 0.111 -> 0.178, body
    # 0.619 -> 0.600 / 0.608 -> 0.617: the averaged wrists place the hand crops better); hands:
    # the full and lite models averaged on each of the two passes (hand 0.225 -> 0.258 end to
    # end, 0.170 -> 0.240 with ground-truth boxes; bench/hands.py --causes: better than full
    # alone on blurred, JPEG-compressed small hands, the same on clean ones). People whose
    # heads coincide (a placed and a box-path person) are estimated again from their first
    # crops with full on the placing passes (conflict_placing_model; heavy on the same crop
    # again gives the same body): body AP end to end 0.638 -> 0.709 (the two skiers of
    # 000000197388.jpg 0.47 / 0.02 -> 0.87 / 0.51), PoseTrack18 0.301 unchanged; full placing
    # for everyone reached 0.714 but PoseTrack18 0.274 (two people of 009473 merge). A hand
    # crop shorter than the forearm gets a forearm-long candidate, the more present result
    # kept (hand_crop_forearm): hand AP 0.258 -> 0.333, whole 0.480 -> 0.484 (the
    # crossed-arms hand of 000000040083.jpg 0.41 -> 0.78, a 10.6 px hand 0.30 -> 0.28; 1.2
    # forearms: the same AP, 1.5: 0.300; the larger crop always: 1.0 the same, 1.2 0.294);
    # off in balanced / lightweight (hand AP unchanged there with the plain floor)
    Mode("performance", body_models=("heavy",), passes=2, tracking_body_model=None,
         hand_model="full", hand_refine="ensemble", refine_face=True, detector=None,
         tiles="auto", flip=True, conflict_placing_model="full", hand_crop_forearm=1.0),
)}
DEFAULT_MODE = "balanced"


def get_mode(name: str | Mode) -> Mode:
    """The preset called ``name`` (a :class:`Mode` is returned as it is).

    Raises:
        ValueError: unknown name (the message lists the valid ones).
    """
    if isinstance(name, Mode):
        return name
    try:
        return MODES[name]
    except (KeyError, TypeError):
        raise ValueError(f"mode {name!r} is not one of {list(MODES)}") from None


def estimator_config(mode: str | Mode = DEFAULT_MODE, **overrides: Any):
    """The :class:`~alphapose.estimators.blaze.BlazeWholeBodyConfig` of a mode, with
    ``overrides`` (its field names) on top."""
    from alphapose.estimators.blaze import BlazeWholeBodyConfig

    preset = get_mode(mode)
    settings = {"body_models": preset.body_models, "passes": preset.passes,
                "tracking_body_model": preset.tracking_body_model,
                "hand_model": preset.hand_model, "refine_hands": preset.hand_refine,
                "refine_face": preset.refine_face, "flip": preset.flip,
                "fast_video": preset.fast_video,
                "conflict_body_model": preset.conflict_body_model,
                "conflict_placing_model": preset.conflict_placing_model,
                "hand_crop_forearm": preset.hand_crop_forearm,
                "box_retry_unmasked": preset.box_retry_unmasked}
    settings.update(overrides)
    return BlazeWholeBodyConfig(**settings)


def build_detector(mode: str | Mode = DEFAULT_MODE, num_threads: int = 2, *,
                   detector: str | None = None, tiles: str | None = None,
                   score_threshold: float | None = None):
    """The person detector of a mode (``detector`` / ``tiles`` override the mode's).

    Returns:
        ``(detector, name)`` with name ``"fused"`` or ``"blaze"``.
    """
    preset = get_mode(mode)
    detector = preset.detector if detector is None else detector
    tiles = preset.tiles if tiles is None else tiles
    if detector in (None, "fused"):
        from alphapose.detection.fused import default_detector

        return default_detector(num_threads, tiles=tiles, score_threshold=score_threshold)
    if detector != "blaze":
        raise ValueError(f"detector {detector!r}: a mode builds 'fused' or 'blaze'")
    from alphapose.detection.blaze import blaze_person_detector

    return blaze_person_detector(num_threads, tiles=tiles,
                                 score_threshold=score_threshold), "blaze"
