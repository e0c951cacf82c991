"""Binary image masks as COCO run-length encodings (RLE), without pycocotools.

Format (the one COCO result files and ``pycocotools.mask.encode`` / ``decode`` use): a mask of
``H x W`` pixels is read in column-major order (down the first column, then the next); its
run lengths alternate 0s and 1s and start with a run of 0s (of length 0 when pixel ``(0, 0)``
is set). The compressed form stores the runs as a string: each run from the third on is
replaced by its difference to the run two before it, and each number is written in 5-bit
groups, least significant first, as characters ``48 + group`` with bit ``0x20`` set while more
groups follow (bit ``0x10`` of the last group carries the sign). An RLE is the dict
``{"size": [H, W], "counts": "<string>"}``.

Example:
    >>> mask = np.zeros((4, 5), bool); mask[1:3, 2:4] = True
    >>> rle = encode_rle(mask)
    >>> rle["size"], (decode_rle(rle) == mask).all()
    ([4, 5], True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "decode_rle",
    "encode_rle",
    "encode_rle_region",
    "rle_area",
    "runs_to_string",
    "string_to_runs",
]


def runs_to_string(runs: np.ndarray | list[int]) -> str:
    """The compressed COCO string of run lengths (see the module docstring)."""
    runs = [int(r) for r in runs]
    out: list[str] = []
    for i, value in enumerate(runs):
        x = value - runs[i - 2] if i > 2 else value
        more = True
        while more:
            group = x & 0x1F
            x >>= 5  # arithmetic shift: a negative number ends at -1
            more = x != -1 if group & 0x10 else x != 0
            out.append(chr(48 + (group | (0x20 if more else 0))))
    return "".join(out)


def string_to_runs(text: str) -> list[int]:
    """The run lengths of a compressed COCO string (inverse of :func:`runs_to_string`)."""
    runs: list[int] = []
    pos, size = 0, len(text)
    while pos < size:
        x, shift, more = 0, 0, True
        while more:
            if pos >= size:
                raise ValueError("RLE counts string ends inside a number")
            group = ord(text[pos]) - 48
            if not 0 <= group < 64:
                raise ValueError(f"RLE counts string holds {text[pos]!r} (not a COCO RLE)")
            x |= (group & 0x1F) << shift
            more = bool(group & 0x20)
            pos += 1
            shift += 5
            if not more and group & 0x10:
                x |= -1 << shift
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


def _runs(flat: np.ndarray) -> np.ndarray:
    """Run lengths of a flat bool array, starting with a (possibly empty) run of False."""
    n = flat.size
    if n == 0:
        return np.zeros(0, np.int64)
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [n]])
    runs = np.diff(bounds)
    if flat[0]:
        runs = np.concatenate([[0], runs])
    return runs


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """The compressed COCO RLE of one ``(H, W)`` mask (nonzero = inside).

    Returns:
        ``{"size": [H, W], "counts": str}``, readable by ``pycocotools.mask.decode``.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask: expected shape (H, W), got {mask.shape}")
    height, width = mask.shape
    return {"size": [int(height), int(width)],
            "counts": runs_to_string(_runs(mask.astype(bool).T.ravel()))}


def encode_rle_region(region: np.ndarray, x0: int, y0: int, height: int,
                      width: int) -> dict[str, Any]:
    """The RLE of an ``(height, width)`` mask that is empty outside ``region``, whose top-left
    pixel is image pixel ``(x0, y0)``; only the columns the region spans are scanned.

    Args:
        region: ``(h, w)`` mask (nonzero = inside), lying within the image.
        x0: image column of the region's first column.
        y0: image row of the region's first row.
        height: image height.
        width: image width.
    """
    region = np.asarray(region).astype(bool)
    h, w = region.shape
    if x0 < 0 or y0 < 0 or x0 + w > width or y0 + h > height:
        raise ValueError(f"region {w}x{h} at ({x0}, {y0}) does not lie in a {width}x{height} "
                         f"image")
    columns = np.zeros((w, height), bool)
    columns[:, y0:y0 + h] = region.T
    runs = list(_runs(columns.ravel()))
    # the columns before the region and after it are all outside
    if runs:
        runs[0] += x0 * height
    else:
        runs = [x0 * height]
    after = (width - x0 - w) * height
    if after:
        if len(runs) % 2:  # ends with a run of 0s
            runs[-1] += after
        else:
            runs.append(after)
    return {"size": [int(height), int(width)], "counts": runs_to_string(runs)}


def decode_rle(rle: dict[str, Any]) -> np.ndarray:
    """The ``(H, W)`` bool mask of a COCO RLE (compressed string or list of runs)."""
    try:
        height, width = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"not a COCO RLE (expected {{'size': [H, W], 'counts': ...}}): "
                         f"{rle!r:.80}") from None
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    runs = np.asarray(string_to_runs(counts) if isinstance(counts, str) else counts, np.int64)
    if (runs < 0).any() or runs.sum() != height * width:
        raise ValueError(f"RLE runs add up to {int(runs.sum())} pixels, not {height} x {width}")
    values = np.arange(runs.size) % 2 == 1
    return np.repeat(values, runs).reshape(width, height).T


def rle_area(rle: dict[str, Any]) -> int:
    """Pixels inside the mask of a COCO RLE (without decoding it)."""
    counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    runs = string_to_runs(counts) if isinstance(counts, str) else list(counts)
    return int(sum(runs[1::2]))
