"""People rendered from labelled images: a split by source image, detector-like geometric and
photometric augmentation, and COCO ground truth for the rendered crops.

Used to make a training set and a held-out test set from a few labelled images (the ablation
bench): every person is cropped many times, each time with a different detector-like box, scale,
rotation, flip, colour, blur, noise and occluders, and each crop becomes one "image" of a COCO
annotation dict in *crop* pixels, so the project's evaluator scores it with OKS.

Geometry (the training crop of :mod:`alphapose.data.augment`): the ground-truth box is first
replaced by a proposal drawn from the part-guided proposal generator's ``body`` offsets (how far a
detector's box falls from the tight box), then turned into a centre and a crop width with
:func:`alphapose.transforms.box_to_center_scale` (input aspect, x1.25), scaled by
``clip(N(1, scale_factor), 1 - scale_factor, 1 + scale_factor)``, rotated by ``clip(N(0,
rotation_factor), +-2 rotation_factor)`` degrees with probability ``rotation_prob`` and mirrored
with probability ``flip_prob`` (left/right keypoints swapped with the layout's ``flip_index``).
Image and keypoints go through the same ``2 x 3`` matrix (:func:`alphapose.data.augment.
crop_matrix`; pixel centres at integer coordinates), so a keypoint stays on the pixel it marked.
Points falling outside the crop get weight 0.

Photometry, applied to the uint8 crop after the warp and never moving a pixel: occluders (filled
ellipses or patches cut from other images, pasted anywhere in the crop; the points they cover keep
their labels, as COCO labels occluded points), brightness and contrast, saturation, hue shift,
Gaussian blur, Gaussian noise.

Split: by source image (all people of one image on one side), stratified by domain, so no test
person, nor anyone standing next to one, is seen in training.

OKS area of a rendered person: ``area_ratio * box_w * box_h`` of the ground-truth box, times the
crop's scale squared. ``area_ratio`` defaults to 0.41, the mean segment-to-box area ratio of the
12 COCO people of the shared test data (COCO's own ``area`` is the segment area).

No torch here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from alphapose.data.augment import (
    DEFAULT_PART_OFFSETS,
    apply_offsets,
    check_crop_settings,
    crop_matrix,
)
from alphapose.data.datasets import Sample, load_coco_keypoints, load_posetrack
from alphapose.skeletons import convert, get_layout
from alphapose.structures import Poses, check_image
from alphapose.transforms import apply_affine, box_to_center_scale

__all__ = [
    "RenderConfig",
    "RenderedPerson",
    "coco_ground_truth",
    "coco_ground_truth_arrays",
    "load_labelled_people",
    "render_people",
    "render_person",
    "samples_from_poses",
    "split_by_source",
]


@dataclass(frozen=True)
class RenderConfig:
    """How a person is rendered into a crop (see the module docstring).

    Attributes:
        input_size: crop ``(h, w)``.
        scale_mult: box enlargement before cropping (official 1.25).
        box_jitter: replace the ground-truth box by a detector-like proposal first.
        scale_factor: scale multiplier ``clip(N(1, sf), 1 - sf, 1 + sf)``; 0 = off.
        rotation_factor: rotation ``clip(N(0, rf), -2 rf, 2 rf)`` degrees; 0 = off.
        rotation_prob: probability of rotating at all.
        flip_prob: probability of a horizontal flip.
        occluder_prob: probability of pasting occluders; then 1 or 2 of them.
        occluder_size: occluder side as a fraction ``(low, high)`` of the crop width.
        brightness: brightness offset ``U(-b, b) * 255``; contrast gain ``U(1 - b, 1 + b)``.
        saturation: saturation gain ``U(1 - s, 1 + s)``.
        hue: hue shift ``U(-hue, hue)`` in OpenCV hue units (180 per turn).
        blur_prob: probability of a Gaussian blur with sigma ``U(0.3, blur_sigma)`` pixels.
        blur_sigma: largest blur sigma.
        noise_sd: Gaussian noise standard deviation ``U(0, noise_sd)`` in grey levels.
        area_ratio: person area / box area for the OKS scale.
    """

    input_size: tuple[int, int] = (64, 48)
    scale_mult: float = 1.25
    box_jitter: bool = True
    scale_factor: float = 0.25
    rotation_factor: float = 20.0
    rotation_prob: float = 0.6
    flip_prob: float = 0.5
    occluder_prob: float = 0.5
    occluder_size: tuple[float, float] = (0.15, 0.45)
    brightness: float = 0.25
    saturation: float = 0.4
    hue: float = 8.0
    blur_prob: float = 0.3
    blur_sigma: float = 1.5
    noise_sd: float = 6.0
    area_ratio: float = 0.41

    def __post_init__(self) -> None:
        check_crop_settings(self, ("rotation_prob", "flip_prob", "occluder_prob", "blur_prob"))
        low, high = self.occluder_size
        if not 0.0 < low <= high <= 1.0:
            raise ValueError(f"RenderConfig.occluder_size: expected 0 < low <= high <= 1, got "
                             f"{self.occluder_size}")

    def detector_like(self) -> RenderConfig:
        """Only what a detector would do to the crop: the proposal box jitter and a flip (no
        extra scale, rotation, occluders or photometry), for test crops."""
        return RenderConfig(self.input_size, self.scale_mult, self.box_jitter, scale_factor=0.0,
                            rotation_factor=0.0, rotation_prob=0.0, flip_prob=self.flip_prob,
                            occluder_prob=0.0, brightness=0.0, saturation=0.0, hue=0.0,
                            blur_prob=0.0, noise_sd=0.0, area_ratio=self.area_ratio)

    def geometry_only(self) -> RenderConfig:
        """The same geometry with every photometric change switched off."""
        return RenderConfig(self.input_size, self.scale_mult, self.box_jitter, self.scale_factor,
                            self.rotation_factor, self.rotation_prob, self.flip_prob,
                            occluder_prob=0.0, brightness=0.0, saturation=0.0, hue=0.0,
                            blur_prob=0.0, noise_sd=0.0, area_ratio=self.area_ratio)


@dataclass(frozen=True, eq=False)
class RenderedPerson:
    """One rendered crop of one person.

    Attributes:
        image: ``(H, W, 3)`` uint8 BGR crop.
        keypoints: ``(K, 2)`` float32 in crop pixels (0 where the weight is 0).
        weights: ``(K,)`` float32, 1 for points labelled and inside the crop.
        crop_from_img: ``(2, 3)`` float64 matrix source image -> crop (flip included).
        area: OKS area of the person in crop pixels.
        source: the source image path.
        flipped: whether the crop is mirrored (keypoints already swapped).
    """

    image: np.ndarray
    keypoints: np.ndarray
    weights: np.ndarray
    crop_from_img: np.ndarray
    area: float
    source: Path
    flipped: bool


def load_labelled_people(root: str | Path, layout: str = "coco17") -> list[Sample]:
    """Every person with body keypoints in the shared test data (COCO and PoseTrack18 files).

    Args:
        root: the shared data folder (holding ``mmpose/coco`` and ``mmpose/posetrack18``).
        layout: target layout (PoseTrack fills the COCO-17 points it has; eyes stay unlabelled).

    Returns:
        The samples of the files found (none missing raises; Halpe and COCO-WholeBody label the
        same COCO people and are not read twice; the CrowdPose file comes without its images).
    """
    root = Path(root)
    coco = root / "mmpose" / "coco" / "test_coco.json"
    posetrack = root / "mmpose" / "posetrack18" / "annotations" / "test_posetrack18_val.json"
    samples: list[Sample] = []
    if coco.is_file():
        samples += load_coco_keypoints(coco, layout=layout)
    if posetrack.is_file():
        samples += load_posetrack(posetrack, layout=layout)
    if not samples:
        raise FileNotFoundError(f"root: no labelled people found under {root} (expected "
                                f"{coco} or {posetrack})")
    return samples


def samples_from_poses(image_path: str | Path, poses: Poses, layout: str = "coco17",
                       min_keypoint_score: float = 0.5, min_keypoints: int = 8,
                       domain: str = "pseudo") -> list[Sample]:
    """Samples labelled by a model (a teacher's pseudo-labels, as in multi-domain distillation).

    Args:
        image_path: the image the poses were estimated on.
        poses: the model's people (any layout; converted to ``layout`` by name).
        layout: target layout.
        min_keypoint_score: points scored at least this are labels; the rest are unlabelled.
        min_keypoints: people with fewer labelled points are dropped.
        domain: the samples' domain label.

    Returns:
        One sample per kept person, box = the pose's box.
    """
    points, scores = convert(poses.keypoints, poses.keypoint_scores, poses.layout, layout)
    out = []
    for index in range(poses.keypoints.shape[0]):
        labelled = scores[index] >= min_keypoint_score
        if int(labelled.sum()) < min_keypoints:
            continue
        box = poses.xyxy[index]
        if box[2] - box[0] <= 1 or box[3] - box[1] <= 1:
            continue
        keypoints = np.concatenate([points[index], labelled[:, None]], axis=1)
        keypoints[~labelled] = 0.0
        out.append(Sample(Path(image_path), box, keypoints.astype(np.float32),
                          np.ones(len(labelled), bool), layout, domain))
    return out


def split_by_source(samples: Sequence[Sample], test_fraction: float = 0.3, seed: int = 0
                    ) -> tuple[list[Sample], list[Sample]]:
    """Split people into train and test so that no source image has people on both sides.

    Per domain, the source images are visited in an order shuffled with ``seed``; an image goes
    to the test side when its people bring the domain's test count closer to ``test_fraction`` of
    the domain's people (the smallest image when none does). A domain with a single image stays
    in training, and every domain keeps at least one training image.

    Args:
        samples: the people.
        test_fraction: target share of people in the test set, in ``(0, 1)``.
        seed: shuffle seed.

    Returns:
        ``(train, test)``, each in the input order.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction: expected a value in (0, 1), got {test_fraction}")
    by_domain: dict[str, dict[Path, int]] = defaultdict(lambda: defaultdict(int))
    for sample in samples:
        by_domain[sample.domain][sample.image_path] += 1
    rng = np.random.default_rng(seed)
    test_images: set[Path] = set()
    for domain in sorted(by_domain):
        counts = by_domain[domain]
        images = sorted(counts)
        if len(images) < 2:
            continue
        order = rng.permutation(len(images))
        target = test_fraction * sum(counts.values())
        chosen: list[Path] = []
        taken = 0
        for index in order:
            count = counts[images[index]]
            if abs(taken + count - target) < abs(taken - target) and len(chosen) < len(images) - 1:
                chosen.append(images[index])
                taken += count
        if not chosen:
            chosen.append(min(images, key=lambda path: (counts[path], str(path))))
        test_images.update(chosen)
    train = [s for s in samples if s.image_path not in test_images]
    test = [s for s in samples if s.image_path in test_images]
    return train, test


def _geometry(sample: Sample, cfg: RenderConfig, rng: np.random.Generator
              ) -> tuple[np.ndarray, bool]:
    box = sample.box.astype(np.float64)
    if cfg.box_jitter:
        offsets = DEFAULT_PART_OFFSETS["body"].sample(1, rng)
        box = apply_offsets(box, offsets)[0]
    h_in, w_in = cfg.input_size
    center, scale = box_to_center_scale(box, w_in / h_in, cfg.scale_mult)
    scale_w = max(float(scale[0]), 1.0)
    if cfg.scale_factor > 0:
        sf = cfg.scale_factor
        scale_w *= float(np.clip(rng.standard_normal() * sf + 1.0, 1.0 - sf, 1.0 + sf))
    rotation = 0.0
    if cfg.rotation_factor > 0 and rng.random() < cfg.rotation_prob:
        rf = cfg.rotation_factor
        rotation = float(np.clip(rng.standard_normal() * rf, -2 * rf, 2 * rf))
    flip = bool(cfg.flip_prob > 0 and rng.random() < cfg.flip_prob)
    return crop_matrix(center.astype(np.float64), scale_w, rotation, cfg.input_size, flip), flip


def _paste_occluders(crop: np.ndarray, cfg: RenderConfig, rng: np.random.Generator,
                     occluders: Sequence[np.ndarray]) -> None:
    h, w = crop.shape[:2]
    for _ in range(int(rng.integers(1, 3))):
        side = rng.uniform(*cfg.occluder_size) * w
        ow, oh = max(2, int(side * rng.uniform(0.6, 1.6))), max(2, int(side * rng.uniform(0.6, 1.6)))
        x0, y0 = int(rng.integers(-ow // 2, w - ow // 2)), int(rng.integers(-oh // 2, h - oh // 2))
        mask = np.zeros((oh, ow), np.uint8)
        if occluders and rng.random() < 0.6:
            source = occluders[int(rng.integers(len(occluders)))]
            sh, sw = source.shape[:2]
            cut = max(8, int(min(sh, sw) * rng.uniform(0.05, 0.25)))
            sx, sy = int(rng.integers(0, sw - cut + 1)), int(rng.integers(0, sh - cut + 1))
            patch = cv2.resize(source[sy:sy + cut, sx:sx + cut], (ow, oh),
                               interpolation=cv2.INTER_AREA)
            mask[:] = 1
        else:
            patch = np.empty((oh, ow, 3), np.uint8)
            patch[:] = rng.integers(0, 256, 3, dtype=np.uint8)
            cv2.ellipse(mask, (ow // 2, oh // 2), (max(1, ow // 2), max(1, oh // 2)),
                        float(rng.uniform(0, 180)), 0, 360, 1, -1)
        xa, ya, xb, yb = max(0, x0), max(0, y0), min(w, x0 + ow), min(h, y0 + oh)
        if xb <= xa or yb <= ya:
            continue
        sub = mask[ya - y0:yb - y0, xa - x0:xb - x0].astype(bool)
        crop[ya:yb, xa:xb][sub] = patch[ya - y0:yb - y0, xa - x0:xb - x0][sub]


def _photometric(crop: np.ndarray, cfg: RenderConfig, rng: np.random.Generator,
                 occluders: Sequence[np.ndarray]) -> np.ndarray:
    crop = crop.copy()
    if cfg.occluder_prob > 0 and rng.random() < cfg.occluder_prob:
        _paste_occluders(crop, cfg, rng, occluders)
    if cfg.saturation > 0 or cfg.hue > 0:
        hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV).astype(np.float32)
        hsv[..., 0] = np.mod(hsv[..., 0] + rng.uniform(-cfg.hue, cfg.hue), 180.0)
        hsv[..., 1] *= rng.uniform(1.0 - cfg.saturation, 1.0 + cfg.saturation)
        crop = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)
    out = crop.astype(np.float32)
    if cfg.brightness > 0:
        gain = rng.uniform(1.0 - cfg.brightness, 1.0 + cfg.brightness)
        offset = rng.uniform(-cfg.brightness, cfg.brightness) * 255.0
        out = (out - out.mean()) * gain + out.mean() + offset
    if cfg.blur_prob > 0 and rng.random() < cfg.blur_prob:
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.3, cfg.blur_sigma)))
    if cfg.noise_sd > 0:
        out = out + rng.standard_normal(out.shape).astype(np.float32) * rng.uniform(0, cfg.noise_sd)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def render_person(image_bgr: np.ndarray, sample: Sample, cfg: RenderConfig,
                  rng: np.random.Generator, occluders: Sequence[np.ndarray] = ()
                  ) -> RenderedPerson:
    """Render one augmented crop of ``sample``.

    Geometry is drawn first and photometry after, so the same ``rng`` state gives the same
    geometry whatever the photometric settings.

    Args:
        image_bgr: ``(H, W, 3)`` uint8 image of ``sample``.
        sample: the person (box, keypoints).
        cfg: rendering settings.
        rng: random generator (all draws come from it).
        occluders: BGR images that occluder patches are cut from (filled ellipses when empty).

    Returns:
        The crop with its keypoints, weights and OKS area.
    """
    check_image(image_bgr, "image_bgr")
    matrix, flip = _geometry(sample, cfg, rng)
    h_in, w_in = cfg.input_size
    crop = cv2.warpAffine(image_bgr, matrix, (w_in, h_in), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    crop = _photometric(crop, cfg, rng, occluders)
    points = apply_affine(sample.keypoints[:, :2], matrix)
    weights = sample.weights.copy()
    if flip:
        flip_index = get_layout(sample.layout).flip_index
        points, weights = points[flip_index], weights[flip_index]
    inside = ((points[:, 0] >= -0.5) & (points[:, 0] <= w_in - 0.5)
              & (points[:, 1] >= -0.5) & (points[:, 1] <= h_in - 0.5))
    weights = np.where(inside, weights, 0.0).astype(np.float32)
    points = np.where(weights[:, None] > 0, points, 0.0).astype(np.float32)
    box_w, box_h = (float(v) for v in sample.box[2:] - sample.box[:2])
    scale2 = abs(float(np.linalg.det(matrix[:, :2])))
    return RenderedPerson(crop, points, weights, matrix, cfg.area_ratio * box_w * box_h * scale2,
                          sample.image_path, flip)


def render_people(samples: Sequence[Sample], cfg: RenderConfig, per_person: int, seed: int,
                  occluders: Sequence[np.ndarray] = (), min_points: int = 4,
                  load: Callable[[Path], np.ndarray] | None = None,
                  progress: Callable[[int], None] | None = None) -> list[RenderedPerson]:
    """``per_person`` renderings of each sample (a crop with fewer than ``min_points`` labelled
    points inside is drawn again, up to 10 times).

    Args:
        samples: the people.
        cfg: rendering settings.
        per_person: crops per person.
        seed: seed of the one generator used for everything (same seed, same crops).
        occluders: images occluder patches are cut from.
        min_points: fewest labelled points a crop must keep.
        load: path -> BGR image (default ``cv2.imread``, each image read once).
        progress: called with the number of crops finished after each person.

    Returns:
        ``len(samples) * per_person`` crops, person by person.
    """
    rng = np.random.default_rng(seed)
    cache: dict[Path, np.ndarray] = {}

    def read(path: Path) -> np.ndarray:
        if load is not None:
            return load(path)
        if path not in cache:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise FileNotFoundError(f"image not found or unreadable: {path}")
            cache[path] = image
        return cache[path]

    out: list[RenderedPerson] = []
    for sample in samples:
        image = read(sample.image_path)
        for _ in range(per_person):
            for _attempt in range(10):
                person = render_person(image, sample, cfg, rng, occluders)
                if person.weights.sum() >= min(min_points, sample.num_visible):
                    break
            out.append(person)
        if progress is not None:
            progress(len(out))
    return out


def coco_ground_truth(people: Sequence[RenderedPerson], layout: str = "coco17") -> dict:
    """COCO keypoint annotations of rendered crops: crop ``i`` is image ``i``, one person each.

    Keypoints are in crop pixels with ``v = 2`` for weighted points and 0 otherwise; the box is
    the whole crop; ``area`` is the person's OKS area.

    Args:
        people: the rendered crops (all of one size).
        layout: their keypoint layout.

    Returns:
        A dict for :func:`alphapose.evaluate.keypoint_ap`.
    """
    if not people:
        return coco_ground_truth_arrays(np.zeros((0, get_layout(layout).num_keypoints, 2)),
                                        np.zeros((0, get_layout(layout).num_keypoints)),
                                        np.zeros(0), (1, 1), layout)
    sizes = {person.image.shape[:2] for person in people}
    if len(sizes) != 1:
        raise ValueError(f"people: expected crops of one size, got {sorted(sizes)}")
    spec = get_layout(layout)
    for index, person in enumerate(people):
        if person.keypoints.shape != (spec.num_keypoints, 2):
            raise ValueError(f"people[{index}].keypoints: expected ({spec.num_keypoints}, 2) for "
                             f"layout {layout!r}, got {person.keypoints.shape}")
    return coco_ground_truth_arrays(np.stack([p.keypoints for p in people]),
                                    np.stack([p.weights for p in people]),
                                    np.array([p.area for p in people]), sizes.pop(), layout)


def coco_ground_truth_arrays(keypoints: np.ndarray, weights: np.ndarray, areas: np.ndarray,
                             crop_size: tuple[int, int], layout: str = "coco17") -> dict:
    """:func:`coco_ground_truth` from arrays (when the crops themselves are not kept).

    Args:
        keypoints: ``(N, K, 2)`` crop pixels.
        weights: ``(N, K)``; points with weight > 0 are labelled.
        areas: ``(N,)`` OKS areas in crop pixels.
        crop_size: ``(h, w)`` of every crop.
        layout: the keypoint layout.

    Returns:
        A dict for :func:`alphapose.evaluate.keypoint_ap`.
    """
    spec = get_layout(layout)
    keypoints = np.asarray(keypoints, np.float64)
    weights = np.asarray(weights)
    areas = np.asarray(areas, np.float64)
    n = keypoints.shape[0]
    if keypoints.shape != (n, spec.num_keypoints, 2) or weights.shape != (n, spec.num_keypoints) \
            or areas.shape != (n,):
        raise ValueError(f"keypoints, weights, areas: expected (N, {spec.num_keypoints}, 2), "
                         f"(N, {spec.num_keypoints}), (N,) for layout {layout!r}, got "
                         f"{keypoints.shape}, {weights.shape}, {areas.shape}")
    h, w = crop_size
    images, annotations = [], []
    for index in range(n):
        visible = weights[index] > 0
        triples = np.concatenate([keypoints[index], 2.0 * visible[:, None]], axis=1)
        triples[~visible] = 0.0
        images.append({"id": index, "width": int(w), "height": int(h),
                       "file_name": f"{index}.png"})
        annotations.append({"id": index + 1, "image_id": index, "category_id": 1, "iscrowd": 0,
                            "bbox": [0.0, 0.0, float(w), float(h)], "area": float(areas[index]),
                            "num_keypoints": int(visible.sum()),
                            "keypoints": [float(v) for v in triples.ravel()]})
    return {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "keypoints": list(spec.keypoint_names),
                            "skeleton": []}]}
