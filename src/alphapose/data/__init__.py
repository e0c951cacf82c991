"""Training data: datasets read into one sample type, augmentation with the part-guided proposal
generator, and multi-domain batch sampling. Torch-free."""

from alphapose.data.augment import (
                                    DEFAULT_PART_OFFSETS,
                                    AugmentConfig,
                                    CropSample,
                                    GaussianMixture2D,
                                    GaussianMixtureOffsets,
                                    PartProposalGenerator,
                                    UniformOffsets,
                                    augment_sample,
                                    box_offsets,
                                    crop_matrix,
                                    fit_offsets,
)
from alphapose.data.datasets import DATASET_FORMATS, Sample, load_dataset
from alphapose.data.sampler import (
                                    DEFAULT_RATIOS,
                                    Batch,
                                    Domain,
                                    MultiDomainSampler,
                                    batch_counts,
)

__all__ = [
                                    "DATASET_FORMATS",
                                    "DEFAULT_PART_OFFSETS",
                                    "DEFAULT_RATIOS",
                                    "AugmentConfig",
                                    "Batch",
                                    "CropSample",
                                    "Domain",
                                    "GaussianMixture2D",
                                    "GaussianMixtureOffsets",
                                    "MultiDomainSampler",
                                    "PartProposalGenerator",
                                    "Sample",
                                    "UniformOffsets",
                                    "augment_sample",
                                    "batch_counts",
                                    "box_offsets",
                                    "crop_matrix",
                                    "fit_offsets",
                                    "load_dataset",
]
