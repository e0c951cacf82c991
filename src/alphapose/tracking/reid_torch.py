"""The paper's re-ID branch in torch: pose-guided attention (PGA, Sec. 4.1) and a 128-d embedding.

* :class:`PoseGuidedAttention`: the ``K`` keypoint heatmaps -> one convolution -> a one-channel
  attention map ``A`` (sigmoid) at the re-ID feature map's size; ``m_wid = m_id * A + m_id``
  (Eq. 20).
* :class:`ReIDHead`: trunk features -> 1x1 conv (``m_id``) -> PGA -> global average pool -> FC
  -> 128-d embedding (L2-normalised at inference); an optional identity classifier for training
  with an identity loss.
* :class:`PoseWithReID`: a FastPose-family pose model with the re-ID head attached, on the pose
  model's own trunk (``shared=True``) or on a separate copy of it (``shared=False``). Returns
  ``(heatmaps, embeddings)``; the PGA reads the heatmaps the pose head just produced.
* :class:`PGAEmbedder`: the :class:`~alphapose.tracking.reid.AppearanceModel` for
  :class:`~alphapose.tracking.MSIMTracker` from a :class:`ReIDHead` on any trunk: crops each
  person (their box, at the trunk's input size), renders Gaussian heatmaps from their keypoints
  (or takes given ones) and embeds. No trained weights ship here; train the head with the
  training issue's tooling (freeze the pose network, identity loss on PoseTrack identities).

torch is imported by this module only; nothing in :mod:`alphapose.tracking` imports it.

Example:
    >>> model = PoseWithReID(fastpose_res50(num_keypoints=17))          # doctest: +SKIP
    >>> heatmaps, emb = model(torch.randn(2, 3, 256, 192))               # (2,17,64,48), (2,128)
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from alphapose.structures import Poses
from alphapose.tracking.reid import Embeddings

__all__ = ["PGAEmbedder", "PoseGuidedAttention", "PoseWithReID", "ReIDHead",
           "gaussian_heatmaps"]


class PoseGuidedAttention(nn.Module):
    """Eq. 20: ``m_wid = m_id * A + m_id``, ``A = sigmoid(conv(heatmaps))``.

    Args:
        num_keypoints: heatmap channels ``K``.
        kernel_size: of the one convolution.

    Shape:
        features ``(B, C, h, w)``, heatmaps ``(B, K, H, W)`` (resized to ``h x w``) ->
        ``(B, C, h, w)``.
    """

    def __init__(self, num_keypoints: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(num_keypoints, 1, kernel_size, padding=kernel_size // 2)

    def attention(self, heatmaps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The ``(B, 1, h, w)`` attention map ``A`` in (0, 1)."""
        if heatmaps.shape[-2:] != size:
            heatmaps = F.adaptive_avg_pool2d(heatmaps, size) \
                if heatmaps.shape[-2] >= size[0] else \
                F.interpolate(heatmaps, size=size, mode="bilinear", align_corners=False)
        return torch.sigmoid(self.conv(heatmaps))

    def forward(self, features: torch.Tensor, heatmaps: torch.Tensor) -> torch.Tensor:
        if features.ndim != 4 or heatmaps.ndim != 4 or features.shape[0] != heatmaps.shape[0]:
            raise ValueError(f"PoseGuidedAttention: expected features (B, C, h, w) and heatmaps "
                             f"(B, K, H, W) with the same B, got {tuple(features.shape)} and "
                             f"{tuple(heatmaps.shape)}")
        a = self.attention(heatmaps, tuple(features.shape[-2:]))
        return features * a + features


class ReIDHead(nn.Module):
    """Identity embedding from trunk features and keypoint heatmaps.

    Args:
        in_channels: trunk output channels (e.g. 2048 for ResNet-50).
        num_keypoints: heatmap channels.
        embed_dim: embedding size (paper: 128).
        mid_channels: channels of the re-ID feature map ``m_id``.
        num_identities: > 0 adds a linear identity classifier (training only).
        use_pga: False drops the attention (``m_wid = m_id``), for ablations.

    Shape:
        ``(B, C, h, w)``, ``(B, K, H, W)`` -> ``(B, embed_dim)``; in training mode with a
        classifier, ``(embeddings, logits (B, num_identities))``.
    """

    def __init__(self, in_channels: int, num_keypoints: int, embed_dim: int = 128,
                 mid_channels: int = 512, num_identities: int = 0, use_pga: bool = True) -> None:
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(in_channels, mid_channels, 1, bias=False),
                                    nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True))
        self.pga = PoseGuidedAttention(num_keypoints) if use_pga else None
        self.fc = nn.Linear(mid_channels, embed_dim)
        self.classifier = nn.Linear(embed_dim, num_identities) if num_identities > 0 else None
        self.embed_dim = embed_dim

    def forward(self, features: torch.Tensor, heatmaps: torch.Tensor
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        m_id = self.reduce(features)
        m_wid = self.pga(m_id, heatmaps) if self.pga is not None else m_id
        embedding = self.fc(torch.flatten(F.adaptive_avg_pool2d(m_wid, 1), 1))
        if self.training and self.classifier is not None:
            return embedding, self.classifier(embedding)
        return F.normalize(embedding, dim=1)


def _pose_head(model: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """Heatmaps from trunk features for the FastPose family (``preact`` -> head)."""
    if hasattr(model, "forward_head"):
        return model.forward_head(features)
    if hasattr(model, "suffle1"):            # FastPose
        return model.conv_out(model.duc2(model.duc1(model.suffle1(features))))
    if hasattr(model, "duc3"):               # FastPose_DUC
        return model.conv_out(model.duc3(model.duc2(model.duc1(features))))
    raise TypeError(f"{type(model).__name__}: cannot split into trunk and head; give it a "
                    "forward_head(features) method")


class PoseWithReID(nn.Module):
    """A FastPose-family pose model with the PGA re-ID head attached.

    Args:
        pose_model: a model with a ``preact`` trunk (``out_channels``) and a FastPose head.
        embed_dim: embedding size.
        shared: the re-ID head reads the pose trunk's features (one trunk pass); False gives the
            re-ID branch its own copy of the trunk (separate weights, as the paper allows).
        num_identities: identity classifier size for training (0 = none).

    Shape:
        ``(B, 3, h, w)`` -> ``(heatmaps (B, K, h / 4, w / 4), embeddings (B, embed_dim))``.
    """

    def __init__(self, pose_model: nn.Module, embed_dim: int = 128, shared: bool = True,
                 num_identities: int = 0) -> None:
        super().__init__()
        if not hasattr(pose_model, "preact"):
            raise TypeError(f"pose_model: expected a FastPose-family model with a 'preact' "
                            f"trunk, got {type(pose_model).__name__}")
        self.pose_model = pose_model
        self.reid_trunk = None if shared else copy.deepcopy(pose_model.preact)
        self.reid_head = ReIDHead(pose_model.preact.out_channels, pose_model.num_keypoints,
                                  embed_dim, num_identities=num_identities)

    def forward(self, x: torch.Tensor):
        features = self.pose_model.preact(x)
        heatmaps = _pose_head(self.pose_model, features)
        reid_features = features if self.reid_trunk is None else self.reid_trunk(x)
        return heatmaps, self.reid_head(reid_features, heatmaps.detach())


def gaussian_heatmaps(keypoints: np.ndarray, scores: np.ndarray, size: tuple[int, int],
                      sigma: float = 2.0) -> np.ndarray:
    """``(N, K, h, w)`` Gaussian heatmaps (peak = keypoint score) at ``size = (h, w)``.

    Args:
        keypoints: ``(N, K, 2)`` in heatmap pixels (pixel centres at integers).
        scores: ``(N, K)``.
    """
    h, w = size
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    kp = np.asarray(keypoints, np.float32)
    d2 = (xs[None, None] - kp[..., 0, None, None]) ** 2 + \
        (ys[None, None] - kp[..., 1, None, None]) ** 2
    maps = np.exp(-d2 / (2 * sigma ** 2)) * np.asarray(scores, np.float32)[..., None, None]
    return np.nan_to_num(maps).astype(np.float32)


class PGAEmbedder:
    """MSIM appearance model from a :class:`ReIDHead` on a trunk (inference, CPU).

    Args:
        trunk: ``(B, 3, h, w) -> (B, C, h', w')`` feature extractor (e.g. a FastPose ``preact``).
        head: the re-ID head (its ``num_keypoints`` must match the poses' layout).
        input_size: crop ``(h, w)``.
        mean, std: per-channel RGB normalisation of the crops (values in [0, 1]).

    ``embed`` returns :class:`~alphapose.tracking.reid.Embeddings` with one part, cosine metric.
    """

    def __init__(self, trunk: nn.Module, head: ReIDHead, input_size: tuple[int, int] = (256, 128),
                 mean: tuple[float, float, float] = (0.485, 0.456, 0.406),
                 std: tuple[float, float, float] = (0.229, 0.224, 0.225)) -> None:
        self.trunk = trunk.eval()
        self.head = head.eval()
        self.input_size = input_size
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)

    def embed(self, image: np.ndarray, poses: Poses) -> Embeddings:
        from alphapose.transforms import (
            RotatedRect,
            apply_affine,
            invert_affine,
            warp_crop,
        )

        n = len(poses)
        h, w = self.input_size
        if n == 0:
            return Embeddings(np.zeros((0, 1, self.head.embed_dim)), np.zeros((0, 1)), "cosine")
        crops, heat_points = [], []
        for i in range(n):
            x1, y1, x2, y2 = (float(v) for v in poses.xyxy[i])
            rect = RotatedRect((x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, 1.0),
                               max(y2 - y1, 1.0), 0.0)
            crop, img_from_crop = warp_crop(image, rect, w, h)
            crops.append(crop[..., ::-1].astype(np.float32) / 255.0)
            heat_points.append(apply_affine(poses.keypoints[i], invert_affine(img_from_crop)))
        batch = (np.stack(crops) - self.mean) / self.std
        heat = gaussian_heatmaps(np.stack(heat_points) / 4.0, poses.keypoint_scores,
                                 (h // 4, w // 4))
        with torch.no_grad():
            features = self.trunk(torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous())
            emb = self.head(features, torch.from_numpy(heat)).numpy()
        return Embeddings(emb[:, None, :], np.ones((n, 1), np.float32), "cosine")
