"""Torch versions of the codecs' decoders: differentiable SIKR with the amplitude-symmetric
gradient (training) and traceable decoders (ONNX export with the decode inside the graph).

The math is the one of :mod:`alphapose.codecs` (read its docstrings for the conventions:
coordinates are ``(x, y)`` in heatmap pixels, cell ``(row i, col j)`` at ``(j, i)``); tests check
that both agree.

Amplitude-symmetric gradient (ASG, paper Eq. 3). The integral ``mu_hat = sum_x x * p_x`` has the
true gradient ``d mu_hat / d p_x = x``, so with the L1 loss ``L = |mu_hat - mu|``

    dL/dp_x = x * sgn(mu_hat - mu)                       (paper Eq. 2)

whose size depends on the absolute position ``x``. ASG replaces it, in the backward pass only, by

    delta_ASG = A_grad * sgn(x - mu_hat) * sgn(mu_hat - mu)   (paper Eq. 3)

i.e. ``d mu_hat / d p_x := A_grad * sgn(x - mu_hat)``, with ``A_grad = W / 8`` (``W`` = the
heatmap size along that axis), chosen so that the mean gradient norm matches plain integral
regression (paper Eq. 10-11). Notes on the official code (``IngetralCoordinate``): it uses
``sgn(x - mu_hat) = +1`` for ``x >= mu_hat`` (also done here; the paper leaves the tie open),
a constant amplitude of 2 instead of ``W / 8`` (the loss there is on coordinates divided by
``W``, which rescales every gradient by ``1 / W`` again), and all ``+1`` when ``mu_hat`` exceeds
``W`` (impossible for a normalised marginal; not reproduced).
"""

from __future__ import annotations

import torch
from torch import nn

from alphapose.codecs import (
    NORM_TYPES,
    Codec,
    CombinedCodec,
    HeatmapCodec,
    IntegralRegressionCodec,
)

__all__ = [
    "AmplitudeSymmetricIntegral",
    "DecodeHead",
    "decode",
    "heatmap_decode",
    "integral_decode",
    "normalize_maps",
]


def _check_maps(raw: torch.Tensor) -> None:
    if not isinstance(raw, torch.Tensor):
        raise TypeError(f"raw: expected a torch.Tensor, got {type(raw).__name__}")
    if raw.dim() != 4:
        raise ValueError(f"raw: expected maps of shape (B, K, h, w), got {tuple(raw.shape)}")


class AmplitudeSymmetricIntegral(torch.autograd.Function):
    """``mu_hat = sum_i i * p[..., i]`` forward; the amplitude-symmetric gradient backward.

    Forward: ``marginal (..., L)`` (a 1-D probability marginal, bins ``i = 0 .. L-1``) ->
    ``mu_hat (...)``. Backward: ``grad_marginal[..., i] = grad_mu_hat * A_grad * s_i`` with
    ``s_i = +1`` if ``i >= mu_hat`` else ``-1`` (paper Eq. 3: with the L1 loss,
    ``grad_mu_hat = sgn(mu_hat - mu)``, giving ``A_grad * sgn(i - mu_hat) * sgn(mu_hat - mu)``).

    Use as ``AmplitudeSymmetricIntegral.apply(marginal, amplitude)``; the paper's amplitude is
    ``L / 8``.
    """

    @staticmethod
    def forward(ctx, marginal: torch.Tensor, amplitude: float) -> torch.Tensor:
        positions = torch.arange(marginal.shape[-1], dtype=marginal.dtype,
                                 device=marginal.device)
        mu_hat = (marginal * positions).sum(-1)
        ctx.save_for_backward(positions, mu_hat)
        ctx.amplitude = float(amplitude)
        return mu_hat

    @staticmethod
    def backward(ctx, grad_mu_hat: torch.Tensor) -> tuple[torch.Tensor, None]:
        positions, mu_hat = ctx.saved_tensors
        sign = torch.where(positions >= mu_hat[..., None], 1.0, -1.0).to(grad_mu_hat.dtype)
        return grad_mu_hat[..., None] * ctx.amplitude * sign, None


def normalize_maps(raw: torch.Tensor, norm_type: str = "sigmoid") -> torch.Tensor:
    """First normalisation step per map (see :func:`alphapose.codecs.normalize_maps`).

    Args:
        raw: ``(B, K, h, w)`` logits.
        norm_type: one of :data:`alphapose.codecs.NORM_TYPES`.

    Returns:
        ``(B, K, h, w)`` normalised maps.
    """
    _check_maps(raw)
    if norm_type == "sigmoid":
        return raw.sigmoid()
    flat = raw.flatten(2)
    if norm_type == "softmax":
        return flat.softmax(-1).reshape(raw.shape)
    if norm_type == "divide_sum":
        return (flat / flat.sum(-1, keepdim=True)).reshape(raw.shape)
    raise ValueError(f"norm_type: expected one of {NORM_TYPES}, got {norm_type!r}")


def integral_decode(raw: torch.Tensor, norm_type: str = "sigmoid",
                    symmetric_gradient: bool = False,
                    amplitude: tuple[float, float] | None = None,
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric integral regression: two-step normalisation, then the integral over x and y.

    Args:
        raw: ``(B, K, h, w)`` logits.
        norm_type: first-step normalisation (official models: ``"sigmoid"``).
        symmetric_gradient: use the amplitude-symmetric gradient (training); the forward value
            is the same either way.
        amplitude: ``(A_x, A_y)``; default ``(w / 8, h / 8)`` (paper).

    Returns:
        ``(coords (B, K, 2) in heatmap pixels, scores (B, K))``; scores are the maxima of the
        sigmoid maps, or ones for the other norm types (official).
    """
    c = normalize_maps(raw, norm_type)
    h, w = raw.shape[2], raw.shape[3]
    flat = c.flatten(2)
    if norm_type == "sigmoid":
        scores = flat.amax(-1)
    else:
        scores = torch.ones(flat.shape[:2], dtype=raw.dtype, device=raw.device)
    p = (flat / flat.sum(-1, keepdim=True)).reshape(c.shape)
    p_x, p_y = p.sum(2), p.sum(3)  # (B, K, w) column marginal, (B, K, h) row marginal
    if symmetric_gradient:
        a_x, a_y = amplitude if amplitude is not None else (w / 8.0, h / 8.0)
        x = AmplitudeSymmetricIntegral.apply(p_x, a_x)
        y = AmplitudeSymmetricIntegral.apply(p_y, a_y)
    else:
        x = (p_x * torch.arange(w, dtype=p.dtype, device=p.device)).sum(-1)
        y = (p_y * torch.arange(h, dtype=p.dtype, device=p.device)).sum(-1)
    return torch.stack([x, y], -1), scores


def heatmap_decode(raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Argmax decoding with the official quarter-cell refinement (traceable for ONNX).

    Same rule as :meth:`alphapose.codecs.HeatmapCodec.decode`; not differentiable in the
    coordinates.

    Args:
        raw: ``(B, K, h, w)`` heatmaps.

    Returns:
        ``(coords (B, K, 2) in heatmap pixels, scores (B, K) raw maxima)``.
    """
    _check_maps(raw)
    h, w = raw.shape[2], raw.shape[3]
    flat = raw.flatten(2)
    scores, idx = flat.max(-1)
    valid = scores > 0
    zero = torch.zeros_like(idx)
    px = torch.where(valid, torch.remainder(idx, w), zero)
    py = torch.where(valid, torch.div(idx, w, rounding_mode="floor"), zero)

    def at(yy: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        return flat.gather(-1, (yy * w + xx).unsqueeze(-1)).squeeze(-1)

    right = at(py, (px + 1).clamp(max=w - 1))
    left = at(py, (px - 1).clamp(min=0))
    down = at((py + 1).clamp(max=h - 1), px)
    up = at((py - 1).clamp(min=0), px)
    inner = ((px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)).to(raw.dtype)
    dx = 0.25 * torch.sign(right - left) * inner
    dy = 0.25 * torch.sign(down - up) * inner
    coords = torch.stack([px.to(raw.dtype) + dx, py.to(raw.dtype) + dy], -1)
    return coords, scores


def decode(codec: Codec, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode with the torch version of ``codec``.

    Args:
        codec: a :class:`~alphapose.codecs.HeatmapCodec`,
            :class:`~alphapose.codecs.IntegralRegressionCodec` or
            :class:`~alphapose.codecs.CombinedCodec`.
        raw: ``(B, K, h, w)``.

    Returns:
        ``(coords (B, K, 2), scores (B, K))``.
    """
    if isinstance(codec, HeatmapCodec):
        return heatmap_decode(raw)
    if isinstance(codec, IntegralRegressionCodec):
        return integral_decode(raw, codec.norm_type)
    if isinstance(codec, CombinedCodec):
        _check_maps(raw)
        n = codec.num_heatmap
        c1, s1 = heatmap_decode(raw[:, :n])
        c2, s2 = integral_decode(raw[:, n:], codec.norm_type)
        return torch.cat([c1, c2], 1), torch.cat([s1, s2], 1)
    raise TypeError(f"codec: expected HeatmapCodec, IntegralRegressionCodec or CombinedCodec, "
                    f"got {type(codec).__name__}")


class DecodeHead(nn.Module):
    """A module wrapping a network so that it also returns the decoded keypoints.

    ``forward(crops) -> (raw, coords, scores)``: the raw maps ``(B, K, h, w)``, coordinates
    ``(B, K, 2)`` in heatmap pixels and scores ``(B, K)``. Used to export the decode into an
    ONNX graph.

    Args:
        network: ``crops (B, 3, H, W) -> raw (B, K, h, w)``.
        codec: the network's codec.
    """

    def __init__(self, network: nn.Module, codec: Codec) -> None:
        super().__init__()
        self.network = network
        self.codec = codec

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        raw = self.network(crops)
        coords, scores = decode(self.codec, raw)
        return raw, coords, scores
