"""Training losses (torch): heatmap MSE with target weights, SIKR L1 with the amplitude-symmetric
gradient, and the official "Combined" mix (``alphapose/models/criterion.py``, paper Sec. 3.1).

Targets are keypoints in *heatmap pixels* (the codecs' convention: cell ``(row i, col j)`` at
``(j, i)``; input-crop pixel ``x_in`` is ``x_in / stride``) with per-keypoint weights ``(B, K)``
that are zero wherever the sample's domain does not annotate the point (multi-domain training)
or the point is unlabelled. A zero weight removes the point from the loss and its gradient.

* :func:`heatmap_loss` -- official ``0.5 * MSE(out * w, target * w)`` (mean over every element)
  on unnormalised Gaussians (peak 1, ``sigma`` 2 map pixels, a ``6 sigma + 1`` window centred on
  the rounded keypoint; weight 0 when that window lies fully outside the map).
* :func:`integral_loss` -- ``sum_k w_k (|x_hat - x| / w + |y_hat - y| / h) / B``: the official L1
  on coordinates normalised by the map size, with the integral decoded by
  :func:`alphapose.codecs_torch.integral_decode` (two-step sigmoid normalisation and the ASG
  backward by default; ``norm_type="softmax"`` and ``symmetric_gradient=False`` give the
  ablations: plain soft-argmax integral regression and SIKR without ASG).
* :func:`combined_loss` -- official Combined: ``100 * heatmap_loss`` on the first channels plus
  ``0.01 * integral_loss`` on the rest.

Not reproduced: the official doubling of the first 26 (136-point) or 23 (133-point) keypoint
weights in integral-only training (pass such weights in ``weights`` if wanted).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from alphapose.codecs_torch import integral_decode

__all__ = [
    "LOSS_KINDS",
    "PoseLoss",
    "combined_loss",
    "gaussian_targets",
    "heatmap_loss",
    "integral_loss",
]

#: Loss kinds of :class:`PoseLoss`.
LOSS_KINDS: tuple[str, ...] = ("heatmap", "integral", "combined")


def _check(pred: torch.Tensor, keypoints: torch.Tensor, weights: torch.Tensor) -> None:
    if not isinstance(pred, torch.Tensor) or pred.dim() != 4:
        raise ValueError(f"pred: expected a (B, K, h, w) tensor, got "
                         f"{tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred)}")
    b, k = pred.shape[:2]
    if tuple(keypoints.shape) != (b, k, 2):
        raise ValueError(f"keypoints: expected shape {(b, k, 2)}, got {tuple(keypoints.shape)}")
    if tuple(weights.shape) != (b, k):
        raise ValueError(f"weights: expected shape {(b, k)}, got {tuple(weights.shape)}")


def gaussian_targets(keypoints: torch.Tensor, weights: torch.Tensor, size: tuple[int, int],
                     sigma: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Official heatmap targets.

    Args:
        keypoints: ``(B, K, 2)`` in heatmap pixels.
        weights: ``(B, K)``.
        size: map ``(h, w)``.
        sigma: Gaussian sigma in map pixels.

    Returns:
        ``(targets (B, K, h, w), weights (B, K))``; weights zeroed where the target window is
        fully outside the map, targets zero where the weight is zero.
    """
    h, w = size
    radius = 3.0 * sigma
    mu = torch.floor(keypoints + 0.5)
    xs = torch.arange(w, dtype=keypoints.dtype, device=keypoints.device)
    ys = torch.arange(h, dtype=keypoints.dtype, device=keypoints.device)
    dx = xs.view(1, 1, 1, w) - mu[..., 0, None, None]
    dy = ys.view(1, 1, h, 1) - mu[..., 1, None, None]
    g = torch.exp(-(dx ** 2 + dy ** 2) / (2 * sigma ** 2))
    g = g * ((dx.abs() <= radius) & (dy.abs() <= radius)).to(g.dtype)
    outside = ((mu[..., 0] - radius >= w) | (mu[..., 1] - radius >= h)
               | (mu[..., 0] + radius + 1 < 0) | (mu[..., 1] + radius + 1 < 0))
    weights = torch.where(outside, torch.zeros_like(weights), weights)
    return g * (weights > 0).to(g.dtype)[..., None, None], weights


def heatmap_loss(pred: torch.Tensor, keypoints: torch.Tensor, weights: torch.Tensor,
                 sigma: float = 2.0) -> torch.Tensor:
    """Official weighted heatmap MSE, ``0.5 * mean((pred * w - target * w) ** 2)``.

    Args:
        pred: ``(B, K, h, w)`` predicted heatmaps.
        keypoints: ``(B, K, 2)`` targets in heatmap pixels.
        weights: ``(B, K)`` per-keypoint weights.
        sigma: target Gaussian sigma.

    Returns:
        Scalar loss.
    """
    _check(pred, keypoints, weights)
    target, w = gaussian_targets(keypoints.to(pred.dtype), weights.to(pred.dtype),
                                 (pred.shape[2], pred.shape[3]), sigma)
    w = w[..., None, None]
    return 0.5 * ((pred * w - target * w) ** 2).mean()


def integral_loss(pred: torch.Tensor, keypoints: torch.Tensor, weights: torch.Tensor,
                  norm_type: str = "sigmoid", symmetric_gradient: bool = True,
                  amplitude: tuple[float, float] | None = None) -> torch.Tensor:
    """Integral-regression L1 (official ``L1JointRegression``), SIKR by default.

    Args:
        pred: ``(B, K, h, w)`` logits.
        keypoints: ``(B, K, 2)`` targets in heatmap pixels.
        weights: ``(B, K)`` per-keypoint weights.
        norm_type: ``"sigmoid"`` (two-step, SIKR), ``"softmax"`` or ``"divide_sum"``.
        symmetric_gradient: use the amplitude-symmetric gradient (ASG).
        amplitude: ASG ``(A_x, A_y)`` in map pixels; default ``(w / 8, h / 8)`` (paper).

    Returns:
        Scalar loss ``sum_k w_k (|dx| / w + |dy| / h) / B``.
    """
    _check(pred, keypoints, weights)
    coords, _ = integral_decode(pred, norm_type, symmetric_gradient, amplitude)
    scale = torch.tensor([pred.shape[3], pred.shape[2]], dtype=coords.dtype, device=coords.device)
    diff = (coords - keypoints.to(coords.dtype)).abs() / scale
    return (diff * weights.to(coords.dtype)[..., None]).sum() / pred.shape[0]


def combined_loss(pred: torch.Tensor, keypoints: torch.Tensor, weights: torch.Tensor,
                  num_heatmap: int, sigma: float = 2.0, norm_type: str = "sigmoid",
                  symmetric_gradient: bool = True,
                  amplitude: tuple[float, float] | None = None) -> torch.Tensor:
    """Official Combined loss: ``100 * heatmap_loss(first) + 0.01 * integral_loss(rest)``.

    Args:
        pred: ``(B, K, h, w)``.
        keypoints: ``(B, K, 2)`` in heatmap pixels.
        weights: ``(B, K)``.
        num_heatmap: heatmap channels (official: ``K - 110`` for 136/133 points).
        sigma: heatmap sigma.
        norm_type: integral normalisation.
        symmetric_gradient: ASG for the integral part.
        amplitude: its ``(A_x, A_y)``, see :func:`integral_loss`.
    """
    _check(pred, keypoints, weights)
    n = int(num_heatmap)
    if not 0 < n < pred.shape[1]:
        raise ValueError(f"num_heatmap: expected 0 < n < {pred.shape[1]}, got {n}")
    return (100.0 * heatmap_loss(pred[:, :n], keypoints[:, :n], weights[:, :n], sigma)
            + 0.01 * integral_loss(pred[:, n:], keypoints[:, n:], weights[:, n:], norm_type,
                                   symmetric_gradient, amplitude))


#: the official training code's ASG amplitude (its ``AMPLITUDE = 2``, in map pixels)
OFFICIAL_ASG_AMPLITUDE = (2.0, 2.0)


@dataclass(frozen=True)
class PoseLoss:
    """A configured loss: ``loss(pred, keypoints_hm, weights) -> scalar``.

    Attributes:
        kind: ``"heatmap"``, ``"integral"`` or ``"combined"``.
        sigma: heatmap target sigma.
        norm_type: integral normalisation.
        symmetric_gradient: ASG for integral parts.
        num_heatmap: heatmap channels of ``"combined"``.
        amplitude: the ASG's ``(A_x, A_y)`` in map pixels; ``None``: the paper's
            ``(w / 8, h / 8)``. The official code uses ``(2, 2)``
            (:data:`OFFICIAL_ASG_AMPLITUDE`): fine-tune an official checkpoint with it to
            train it as it was trained.
    """

    kind: str = "integral"
    sigma: float = 2.0
    norm_type: str = "sigmoid"
    symmetric_gradient: bool = True
    num_heatmap: int = 0
    amplitude: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.kind not in LOSS_KINDS:
            raise ValueError(f"PoseLoss.kind: expected one of {LOSS_KINDS}, got {self.kind!r}")
        if self.kind == "combined" and self.num_heatmap <= 0:
            raise ValueError("PoseLoss.num_heatmap: 'combined' needs the number of heatmap "
                             "channels (> 0)")

    def __call__(self, pred: torch.Tensor, keypoints: torch.Tensor,
                 weights: torch.Tensor) -> torch.Tensor:
        if self.kind == "heatmap":
            return heatmap_loss(pred, keypoints, weights, self.sigma)
        if self.kind == "integral":
            return integral_loss(pred, keypoints, weights, self.norm_type,
                                 self.symmetric_gradient, self.amplitude)
        return combined_loss(pred, keypoints, weights, self.num_heatmap, self.sigma,
                             self.norm_type, self.symmetric_gradient, self.amplitude)
