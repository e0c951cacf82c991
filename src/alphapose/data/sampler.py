"""Multi-domain batches (paper Sec. 3.2): every batch mixes the datasets by fixed ratios.

The paper's default mix is 1/3 Halpe-FullBody, 1/3 COCO-WholeBody, 1/6 300-W faces and 1/6
FreiHAND hands (:data:`DEFAULT_RATIOS`). A batch of ``B`` samples holds ``floor(r_d B)`` samples of
domain ``d`` plus the ``B - sum floor(r_d B)`` leftover slots, which go to domains with
probability equal to their fractional parts ``r_d B - floor(r_d B)`` (systematic sampling), so
the *expected* count of every domain is exactly ``r_d B`` and no batch strays from it by one slot
or more. Each domain is walked through in a fresh random order, epoch after epoch.

Every domain has its own augmentation (:class:`~alphapose.data.augment.AugmentConfig`) and may use
the part-guided proposal generator; samples keep their domain's ``annotated`` mask, so the loss
weights are zero on points the domain does not label (a face sample trains the 68 face points
only).

No torch here; :mod:`alphapose.train` wraps the sampler for a ``DataLoader``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import cv2
import numpy as np

from alphapose.data.augment import AugmentConfig, PartProposalGenerator, augment_sample
from alphapose.data.datasets import Sample

__all__ = [
    "DEFAULT_RATIOS",
    "Batch",
    "Domain",
    "ImageCache",
    "MultiDomainSampler",
    "batch_counts",
]

#: Paper Sec. 3.2: 1/3 Halpe, 1/3 COCO-WholeBody, the rest equally 300-W and FreiHAND.
DEFAULT_RATIOS: Mapping[str, float] = MappingProxyType({
    "halpe": 1 / 3, "coco_wholebody": 1 / 3, "300w": 1 / 6, "freihand": 1 / 6})


@dataclass(frozen=True, eq=False)
class Domain:
    """One dataset of the mix.

    Attributes:
        name: label (e.g. ``"halpe"``).
        samples: its samples (all in the same target layout).
        ratio: share of every batch (ratios of all domains are normalised to sum 1).
        augment: this domain's augmentation.
        use_pgpg: whether the part-guided proposal generator applies to it once enabled.
    """

    name: str
    samples: tuple[Sample, ...]
    ratio: float
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    use_pgpg: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", tuple(self.samples))
        if not self.samples:
            raise ValueError(f"Domain {self.name!r}: no samples")
        if not self.ratio > 0:
            raise ValueError(f"Domain {self.name!r}: ratio must be > 0, got {self.ratio}")
        layouts = {s.layout for s in self.samples}
        if len(layouts) != 1:
            raise ValueError(f"Domain {self.name!r}: samples mix layouts {sorted(layouts)}")


@dataclass(frozen=True, eq=False)
class Batch:
    """One training batch (numpy).

    Attributes:
        images: ``(B, 3, H, W)`` float32 normalised crops.
        keypoints: ``(B, K, 2)`` float32 targets in input-crop pixels.
        weights: ``(B, K)`` float32 loss weights (0 where the domain does not annotate).
        domains: ``(B,)`` int64 domain index per sample.
        domain_names: names, indexed by ``domains``.
    """

    images: np.ndarray
    keypoints: np.ndarray
    weights: np.ndarray
    domains: np.ndarray
    domain_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)


def batch_counts(ratios: Sequence[float], batch_size: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Samples per domain in one batch: floor of ``r B`` plus leftovers by systematic sampling.

    Args:
        ratios: ``(D,)`` positive shares (normalised here).
        batch_size: ``B``.
        rng: random generator.

    Returns:
        ``(D,)`` int64 counts summing to ``B``; ``E[count_d] = r_d B`` exactly.
    """
    r = np.asarray(ratios, np.float64)
    if r.ndim != 1 or len(r) == 0 or np.any(r <= 0):
        raise ValueError(f"ratios: expected positive shares, got {r.tolist()}")
    if batch_size < 1:
        raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
    expected = r / r.sum() * batch_size
    base = np.floor(expected).astype(np.int64)
    frac = expected - base
    leftover = int(batch_size - base.sum())
    if leftover > 0:
        # systematic sampling: points u, u+1, ... on the cumulated fractions (sum = leftover);
        # domain d is hit with probability frac_d, never twice (frac_d < 1)
        edges = np.concatenate([[0.0], np.cumsum(frac)])
        points = rng.random() + np.arange(leftover)
        hits = np.searchsorted(edges, points, side="right") - 1
        np.add.at(base, np.clip(hits, 0, len(r) - 1), 1)
    return base


class ImageCache:
    """A small LRU cache of decoded images (BGR uint8) keyed by path."""

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = int(capacity)
        self._items: OrderedDict[Path, np.ndarray] = OrderedDict()

    def __call__(self, path: Path) -> np.ndarray:
        if path in self._items:
            self._items.move_to_end(path)
            return self._items[path]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"image not found or unreadable: {path}")
        if self.capacity > 0:
            self._items[path] = image
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return image


class MultiDomainSampler:
    """Draws mixed batches from several domains.

    Args:
        domains: the datasets with their ratios and augmentation (same layout and input size).
        batch_size: samples per batch (per process under DDP).
        seed: random seed; with ``rank`` it fixes the whole stream.
        rank: process index (each rank draws a different stream).
        proposals: the part-guided proposal generator, used for domains with ``use_pgpg``
            while :attr:`pgpg_enabled` is True.
        image_cache: loader for images (default: an LRU cache of 64 images).
    """

    def __init__(self, domains: Sequence[Domain], batch_size: int, seed: int = 0, rank: int = 0,
                 proposals: PartProposalGenerator | None = None,
                 image_cache: ImageCache | None = None) -> None:
        self.domains = tuple(domains)
        if not self.domains:
            raise ValueError("domains: need at least one domain")
        names = [d.name for d in self.domains]
        if len(set(names)) != len(names):
            raise ValueError(f"domains: names repeat: {names}")
        layouts = {d.samples[0].layout for d in self.domains}
        if len(layouts) != 1:
            raise ValueError(f"domains: all must share one target layout, got {sorted(layouts)}")
        sizes = {d.augment.input_size for d in self.domains}
        if len(sizes) != 1:
            raise ValueError(f"domains: all must share one input size, got {sorted(sizes)}")
        if batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.layout = layouts.pop()
        self.input_size = sizes.pop()
        self.ratios = np.array([d.ratio for d in self.domains], np.float64)
        self.ratios /= self.ratios.sum()
        self.seed, self.rank = int(seed), int(rank)
        self.rng = np.random.default_rng([self.seed, self.rank])
        self.proposals = proposals
        self.pgpg_enabled = False
        self.load_image = image_cache if image_cache is not None else ImageCache()
        self._orders = [self.rng.permutation(len(d.samples)) for d in self.domains]
        self._cursor = [0] * len(self.domains)

    def reseed(self, *key: int) -> None:
        """Restart the random stream from ``(seed, rank, *key)`` (e.g. the epoch, so a resumed
        run draws what an uninterrupted one would), with fresh per-domain orders."""
        self.rng = np.random.default_rng([self.seed, self.rank, *(int(k) for k in key)])
        self._orders = [self.rng.permutation(len(d.samples)) for d in self.domains]
        self._cursor = [0] * len(self.domains)

    @property
    def domain_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.domains)

    def _next_index(self, d: int) -> int:
        if self._cursor[d] >= len(self._orders[d]):
            self._orders[d] = self.rng.permutation(len(self.domains[d].samples))
            self._cursor[d] = 0
        index = int(self._orders[d][self._cursor[d]])
        self._cursor[d] += 1
        return index

    def draw(self) -> list[tuple[int, int]]:
        """One batch's ``(domain index, sample index)`` pairs, in random order."""
        counts = batch_counts(self.ratios, self.batch_size, self.rng)
        picks = [(d, self._next_index(d)) for d, c in enumerate(counts) for _ in range(c)]
        order = self.rng.permutation(len(picks))
        return [picks[i] for i in order]

    def make_batch(self, picks: Sequence[tuple[int, int]] | None = None) -> Batch:
        """Load and augment one batch (``picks`` from :meth:`draw`, drawn if omitted)."""
        picks = self.draw() if picks is None else list(picks)
        crops = []
        for d, i in picks:
            domain = self.domains[d]
            sample = domain.samples[i]
            proposals = self.proposals if (self.pgpg_enabled and domain.use_pgpg) else None
            crops.append(augment_sample(self.load_image(sample.image_path), sample,
                                        domain.augment, self.rng, proposals))
        return Batch(np.stack([c.image for c in crops]), np.stack([c.keypoints for c in crops]),
                     np.stack([c.weights for c in crops]),
                     np.array([d for d, _ in picks], np.int64), self.domain_names)

    def __iter__(self) -> Iterator[Batch]:
        while True:
            yield self.make_batch()
