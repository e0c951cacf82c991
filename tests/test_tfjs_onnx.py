"""TF.js graph -> ONNX: every op against a numpy reference of TensorFlow's semantics, on small
graphs written here as TF.js JSON + weight shards; weights, caching and bad files."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from alphapose.runtime.tfjs_onnx import (
    TfjsConversionError,
    cached_onnx,
    convert_tfjs,
    load_tfjs,
    read_weights,
)

RNG = np.random.default_rng(7)


# -- writing TF.js models --------------------------------------------------------------------


def _attr(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"b": value}
    if isinstance(value, int):
        return {"i": str(value)}
    if isinstance(value, float):
        return {"f": value}
    if isinstance(value, str):
        if value.startswith("DT_"):
            return {"type": value}
        return {"s": base64.b64encode(value.encode()).decode()}
    if isinstance(value, list):
        if value and isinstance(value[0], str):
            return {"list": {"s": [base64.b64encode(v.encode()).decode() for v in value]}}
        if value and isinstance(value[0], float):
            return {"list": {"f": value}}
        return {"list": {"i": [str(v) for v in value]}}
    raise TypeError(value)


_DT = {np.dtype(np.float32): "DT_FLOAT", np.dtype(np.int32): "DT_INT32",
       np.dtype(np.int64): "DT_INT64"}


def write_model(folder: Path, ops: list[tuple], consts: dict[str, np.ndarray],
                inputs: dict[str, tuple[int, ...]], outputs: list[str],
                quantize: dict[str, dict[str, Any]] | None = None) -> Path:
    """A TF.js graph model: ``ops`` are ``(name, op, inputs, attrs)``; int64 constants are
    stored as int32 like the TF.js converter does; ``quantize`` maps a const name to its
    quantization entry (``float16``, or ``uint8``/``uint16`` with ``scale`` and ``min``)."""
    folder.mkdir(parents=True, exist_ok=True)
    quantize = quantize or {}
    nodes = [{"name": n, "op": "Placeholder", "attr": {
        "dtype": {"type": "DT_FLOAT"},
        "shape": {"shape": {"dim": [{"size": str(d)} for d in shape]}}}}
        for n, shape in inputs.items()]
    specs, blobs = [], []
    for name, value in consts.items():
        value = np.asarray(value)
        nodes.append({"name": name, "op": "Const", "attr": {
            "dtype": {"type": _DT[value.dtype]},
            "value": {"tensor": {"dtype": _DT[value.dtype]}}}})
        dtype = "float32" if value.dtype == np.float32 else "int32"
        spec: dict[str, Any] = {"name": name, "shape": list(value.shape), "dtype": dtype}
        quant = quantize.get(name)
        if quant is None:
            blobs.append(value.astype("<f4" if dtype == "float32" else "<i4").tobytes())
        elif quant["dtype"] == "float16":
            blobs.append(value.astype("<f2").tobytes())
        else:
            q = np.round((value - quant["min"]) / quant["scale"])
            blobs.append(q.astype("<u1" if quant["dtype"] == "uint8" else "<u2").tobytes())
        if quant is not None:
            spec["quantization"] = quant
        specs.append(spec)
    for name, op, ins, attrs in ops:
        nodes.append({"name": name, "op": op, "input": list(ins),
                      "attr": {k: _attr(v) for k, v in attrs.items()}})
    (folder / "model.bin").write_bytes(b"".join(blobs))
    document = {
        "format": "graph-model",
        "modelTopology": {"node": nodes},
        "weightsManifest": [{"paths": ["model.bin"], "weights": specs}],
        "signature": {"inputs": {f"{n}:0": {"name": f"{n}:0"} for n in inputs},
                      "outputs": {f"{o}:0": {"name": f"{o}:0", "dtype": "DT_FLOAT"}
                                  for o in outputs}},
    }
    path = folder / "model.json"
    path.write_text(json.dumps(document))
    return path


def run_onnx(json_path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    model = convert_tfjs(json_path)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def check_op(tmp_path: Path, ops, consts, x: np.ndarray, expected: np.ndarray | list,
             outputs: list[str] | None = None, atol: float = 1e-4) -> None:
    outputs = outputs or [ops[-1][0]]
    path = write_model(tmp_path, ops, consts, {"x": x.shape}, outputs)
    got = run_onnx(path, {"x": x.astype(np.float32)})
    expected = expected if isinstance(expected, list) else [expected]
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, atol=atol, rtol=1e-4)


# -- numpy references (TensorFlow semantics) -------------------------------------------------


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    effective = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def ref_conv_nhwc(x: np.ndarray, w: np.ndarray, strides=(1, 1), padding="VALID",
                  dilations=(1, 1), explicit=None, depthwise=False) -> np.ndarray:
    """x (N, H, W, C), w (kh, kw, C, O) or depthwise (kh, kw, C, M)."""
    kh, kw = w.shape[:2]
    if padding == "SAME":
        ph = same_pads(x.shape[1], kh, strides[0], dilations[0])
        pw = same_pads(x.shape[2], kw, strides[1], dilations[1])
    elif padding == "EXPLICIT":
        ph, pw = explicit
    else:
        ph = pw = (0, 0)
    xp = np.pad(x, ((0, 0), ph, pw, (0, 0)))
    out_h = (xp.shape[1] - (kh - 1) * dilations[0] - 1) // strides[0] + 1
    out_w = (xp.shape[2] - (kw - 1) * dilations[1] - 1) // strides[1] + 1
    if depthwise:
        c, m = w.shape[2:]
        out = np.zeros((x.shape[0], out_h, out_w, c * m))
    else:
        out = np.zeros((x.shape[0], out_h, out_w, w.shape[3]))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i * dilations[0]: i * dilations[0] + strides[0] * out_h: strides[0],
                       j * dilations[1]: j * dilations[1] + strides[1] * out_w: strides[1]]
            if depthwise:
                out += (patch[..., :, None] * w[i, j][None, None, None]).reshape(out.shape)
            else:
                out += patch @ w[i, j]
    return out.astype(np.float32)


def ref_pool_nhwc(x: np.ndarray, k: int, s: int, padding: str, kind: str) -> np.ndarray:
    if padding == "SAME":
        ph, pw = same_pads(x.shape[1], k, s), same_pads(x.shape[2], k, s)
    else:
        ph = pw = (0, 0)
    fill = -np.inf if kind == "max" else np.nan
    xp = np.pad(x, ((0, 0), ph, pw, (0, 0)), constant_values=fill)
    out_h = (xp.shape[1] - k) // s + 1
    out_w = (xp.shape[2] - k) // s + 1
    out = np.zeros((x.shape[0], out_h, out_w, x.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            window = xp[:, i * s: i * s + k, j * s: j * s + k]
            out[:, i, j] = window.max(axis=(1, 2)) if kind == "max" else \
                np.nanmean(window, axis=(1, 2))
    return out.astype(np.float32)


def ref_resize_axis(size_in: int, size_out: int, align: bool, half: bool,
                    nearest: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TF's source indices (lower, upper) and weights of the upper one, for one axis."""
    if align and size_out > 1:
        scale = (size_in - 1) / (size_out - 1)
    else:
        scale = size_in / size_out
    out = np.arange(size_out, dtype=np.float64)
    if nearest:
        if align:
            src = np.floor(out * scale + 0.5)       # lroundf of a non-negative value
        elif half:
            src = np.floor((out + 0.5) * scale)
        else:
            src = np.floor(out * scale)
        src = np.minimum(src, size_in - 1).astype(int)
        return src, src, np.zeros(size_out)
    pos = (out + 0.5) * scale - 0.5 if half else out * scale
    low = np.floor(pos)
    frac = pos - low
    lower = np.clip(low, 0, size_in - 1).astype(int)
    upper = np.clip(np.ceil(pos), 0, size_in - 1).astype(int)
    return lower, upper, frac


def ref_resize_nhwc(x: np.ndarray, size: tuple[int, int], align: bool, half: bool,
                    nearest: bool) -> np.ndarray:
    y0, y1, fy = ref_resize_axis(x.shape[1], size[0], align, half, nearest)
    x0, x1, fx = ref_resize_axis(x.shape[2], size[1], align, half, nearest)
    top = x[:, y0][:, :, x0] * (1 - fx)[None, None, :, None] + \
        x[:, y0][:, :, x1] * fx[None, None, :, None]
    bottom = x[:, y1][:, :, x0] * (1 - fx)[None, None, :, None] + \
        x[:, y1][:, :, x1] * fx[None, None, :, None]
    return (top * (1 - fy)[None, :, None, None] + bottom * fy[None, :, None, None]).astype(
        np.float32)


def leaky(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x >= 0, x, alpha * x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


# -- op tests --------------------------------------------------------------------------------

X = RNG.normal(size=(1, 7, 9, 3)).astype(np.float32)
W = RNG.normal(size=(3, 3, 3, 4)).astype(np.float32)
BIAS = RNG.normal(size=(4,)).astype(np.float32)


@pytest.mark.parametrize(("attrs", "ref_kwargs"), [
    ({"padding": "VALID", "strides": [1, 1, 1, 1]}, {}),
    ({"padding": "SAME", "strides": [1, 2, 2, 1]}, {"strides": (2, 2), "padding": "SAME"}),
    ({"padding": "SAME", "strides": [1, 1, 1, 1], "dilations": [1, 2, 2, 1]},
     {"padding": "SAME", "dilations": (2, 2)}),
    ({"padding": "EXPLICIT", "strides": [1, 1, 2, 1],
      "explicit_paddings": [0, 0, 1, 2, 0, 1, 0, 0]},
     {"strides": (1, 2), "padding": "EXPLICIT", "explicit": ((1, 2), (0, 1))}),
], ids=["valid", "same-stride2", "same-dilated", "explicit"])
def test_conv2d_nhwc(tmp_path, attrs, ref_kwargs) -> None:
    ops = [("conv", "Conv2D", ["x", "w"], {"data_format": "NHWC", **attrs})]
    check_op(tmp_path, ops, {"w": W}, X, ref_conv_nhwc(X, W, **ref_kwargs))


def test_conv2d_nchw_data_format(tmp_path) -> None:
    x = X.transpose(0, 3, 1, 2)
    ops = [("conv", "Conv2D", ["x", "w"], {"data_format": "NCHW", "padding": "SAME",
                                            "strides": [1, 1, 2, 2]})]
    expected = ref_conv_nhwc(X, W, strides=(2, 2), padding="SAME").transpose(0, 3, 1, 2)
    check_op(tmp_path, ops, {"w": W}, x, expected)


def test_depthwise_conv_with_multiplier(tmp_path) -> None:
    w = RNG.normal(size=(3, 3, 3, 2)).astype(np.float32)
    ops = [("dw", "DepthwiseConv2dNative", ["x", "w"],
            {"padding": "SAME", "strides": [1, 2, 2, 1], "data_format": "NHWC"})]
    expected = ref_conv_nhwc(X, w, strides=(2, 2), padding="SAME", depthwise=True)
    check_op(tmp_path, ops, {"w": w}, X, expected)


@pytest.mark.parametrize(("fused", "activation"), [
    (["BiasAdd"], lambda y: y),
    (["BiasAdd", "Relu"], lambda y: np.maximum(y, 0)),
    (["BiasAdd", "Relu6"], lambda y: np.clip(y, 0, 6)),
    (["BiasAdd", "LeakyRelu"], lambda y: leaky(y, 0.3)),
    (["BiasAdd", "Prelu"], lambda y: np.where(y >= 0, y, y * np.arange(1, 5) * 0.1)),
], ids=["bias", "relu", "relu6", "leakyrelu", "prelu"])
def test_fused_conv2d(tmp_path, fused, activation) -> None:
    ins = ["x", "w", "b"] + (["alpha"] if "Prelu" in fused else [])
    ops = [("conv", "_FusedConv2D", ins,
            {"padding": "SAME", "strides": [1, 1, 1, 1], "fused_ops": fused,
             "num_args": len(ins) - 2, "leakyrelu_alpha": 0.3, "data_format": "NHWC"})]
    consts = {"w": W, "b": BIAS, "alpha": (np.arange(1, 5) * 0.1).astype(np.float32)}
    expected = activation(ref_conv_nhwc(X, W, padding="SAME") * 3 + BIAS * 3) / 3
    # (scaled so Relu6 clips some values: compare on the same scaled input)
    check_op(tmp_path, ops, {**consts, "w": W * 3, "b": BIAS * 3}, X, expected * 3)


def test_fused_depthwise_conv(tmp_path) -> None:
    w = RNG.normal(size=(3, 3, 3, 1)).astype(np.float32)
    b = RNG.normal(size=(3,)).astype(np.float32)
    ops = [("dw", "FusedDepthwiseConv2dNative", ["x", "w", "b"],
            {"padding": "VALID", "strides": [1, 1, 1, 1], "fused_ops": ["BiasAdd", "Relu"],
             "num_args": 1, "data_format": "NHWC"})]
    expected = np.maximum(ref_conv_nhwc(X, w, depthwise=True) + b, 0)
    check_op(tmp_path, ops, {"w": w, "b": b}, X, expected)


@pytest.mark.parametrize(("op", "kind", "padding", "k", "s"), [
    ("MaxPool", "max", "VALID", 3, 2), ("MaxPool", "max", "SAME", 3, 2),
    ("AvgPool", "avg", "VALID", 2, 2), ("AvgPool", "avg", "SAME", 3, 2),
], ids=["max-valid", "max-same", "avg-valid", "avg-same"])
def test_pooling(tmp_path, op, kind, padding, k, s) -> None:
    ops = [("pool", op, ["x"], {"ksize": [1, k, k, 1], "strides": [1, s, s, 1],
                                "padding": padding, "data_format": "NHWC"})]
    check_op(tmp_path, ops, {}, X, ref_pool_nhwc(X, k, s, padding, kind))


@pytest.mark.parametrize(("op", "size", "align", "half"), [
    ("ResizeBilinear", (13, 5), False, True),
    ("ResizeBilinear", (13, 5), True, False),
    ("ResizeBilinear", (14, 18), False, False),
    ("ResizeNearestNeighbor", (13, 5), False, True),
    ("ResizeNearestNeighbor", (13, 5), True, False),
    ("ResizeNearestNeighbor", (14, 4), False, False),
], ids=["bilinear-half-pixel", "bilinear-align", "bilinear-asymmetric", "nearest-half-pixel",
        "nearest-align", "nearest-asymmetric"])
def test_resize(tmp_path, op, size, align, half) -> None:
    ops = [("resize", op, ["x", "size"], {"align_corners": align, "half_pixel_centers": half})]
    expected = ref_resize_nhwc(X.astype(np.float64), size, align, half,
                               op == "ResizeNearestNeighbor")
    check_op(tmp_path, ops, {"size": np.asarray(size, np.int32)}, X, expected)


def test_pad_and_padv2(tmp_path) -> None:
    paddings = np.array([[0, 0], [1, 2], [0, 1], [0, 0]], np.int32)
    ops = [("p1", "Pad", ["x", "paddings"], {}),
           ("p2", "PadV2", ["x", "paddings", "value"], {})]
    consts = {"paddings": paddings, "value": np.float32(-2.5)}
    widths = [tuple(p) for p in paddings]
    check_op(tmp_path, ops, consts, X, [np.pad(X, widths),
                                        np.pad(X, widths, constant_values=-2.5)], ["p1", "p2"])


@pytest.mark.parametrize(("op", "fn"), [
    ("Sigmoid", sigmoid), ("Relu", lambda x: np.maximum(x, 0)),
    ("Relu6", lambda x: np.clip(x, 0, 6)), ("Identity", lambda x: x),
], ids=["sigmoid", "relu", "relu6", "identity"])
def test_unary(tmp_path, op, fn) -> None:
    x = X * 4
    check_op(tmp_path, [("y", op, ["x"], {})], {}, x, fn(x))


def test_leaky_relu_alpha(tmp_path) -> None:
    check_op(tmp_path, [("y", "LeakyRelu", ["x"], {"alpha": 0.1})], {}, X, leaky(X, 0.1))


@pytest.mark.parametrize(("op", "fn"), [
    ("Add", np.add), ("AddV2", np.add), ("Sub", np.subtract), ("Mul", np.multiply),
], ids=["add", "addv2", "sub", "mul"])
def test_binary_with_broadcast(tmp_path, op, fn) -> None:
    c = RNG.normal(size=(3,)).astype(np.float32)
    check_op(tmp_path, [("y", op, ["x", "c"], {}), ("z", op, ["y", "x"], {})], {"c": c}, X,
             fn(fn(X, c), X))


def test_concat_reshape_transpose(tmp_path) -> None:
    ops = [("cat", "ConcatV2", ["x", "x", "axis"], {"N": 2}),
           ("r", "Reshape", ["cat", "shape"], {}),
           ("t", "Transpose", ["r", "perm"], {})]
    consts = {"axis": np.int32(3), "shape": np.array([1, -1, 6], np.int64),
              "perm": np.array([0, 2, 1], np.int32)}
    expected = np.concatenate([X, X], axis=3).reshape(1, -1, 6).transpose(0, 2, 1)
    check_op(tmp_path, ops, consts, X, expected)


def test_split_and_splitv(tmp_path) -> None:
    ops = [("s", "Split", ["axis", "x"], {"num_split": 3}),
           ("v", "SplitV", ["x", "sizes", "axis2"], {"num_split": 2})]
    consts = {"axis": np.int32(3), "axis2": np.int32(2), "sizes": np.array([2, 7], np.int32)}
    expected = [X[..., 0:1], X[..., 1:2], X[..., 2:3], X[:, :, :2], X[:, :, 2:]]
    check_op(tmp_path, ops, consts, X, expected, ["s", "s:1", "s:2", "v", "v:1"])


@pytest.mark.parametrize(("begin", "end", "strides", "masks", "index"), [
    ([0, 1, 0, 0], [1, 6, 9, 3], [1, 2, 3, 1], {}, np.s_[0:1, 1:6:2, 0:9:3, 0:3]),
    ([0, 0, 2, 1], [0, 0, 0, 0], [1, 1, 1, 1], {"begin_mask": 3, "end_mask": 15},
     np.s_[:, :, 2:, 1:]),
    ([0, -1, 0, 0], [1, 0, 9, 3], [1, -2, 1, 1], {"end_mask": 2}, np.s_[0:1, ::-2, :, :]),
    ([0, 2, 0, 1], [1, 3, 9, 2], [1, 1, 1, 1], {"shrink_axis_mask": 10},
     np.s_[0:1, 2, 0:9, 1]),
], ids=["strided", "masks", "negative-stride", "shrink"])
def test_strided_slice(tmp_path, begin, end, strides, masks, index) -> None:
    ops = [("s", "StridedSlice", ["x", "b", "e", "st"], masks)]
    consts = {"b": np.array(begin, np.int32), "e": np.array(end, np.int32),
              "st": np.array(strides, np.int32)}
    check_op(tmp_path, ops, consts, X, X[index])


def test_sparse_to_dense_shape_arithmetic_is_folded(tmp_path) -> None:
    # the NanoDet pattern: Reshape(x, base + SparseToDense(empty indices)) with int64 consts
    # that the manifest stores as int32
    ops = [("std", "SparseToDense", ["idx", "out_shape", "values", "zero"], {}),
           ("shape", "AddV2", ["base", "std"], {}),
           ("r", "Reshape", ["x", "shape"], {})]
    consts = {"idx": np.array([[1]], np.int64), "out_shape": np.array([3], np.int64),
              "values": np.array([-1], np.int64), "zero": np.int64(0),
              "base": np.array([1, 64, 3], np.int64)}
    expected = X.reshape(1, 63, 3)
    check_op(tmp_path, ops, consts, X, expected)
    model = convert_tfjs(tmp_path / "model.json")
    assert [n.op_type for n in model.graph.node] == ["Reshape"]


def test_nchw_model_transposes_cancel(tmp_path) -> None:
    # an NCHW graph that transposes to NHWC around each conv (as onnx-tf writes them)
    x = X.transpose(0, 3, 1, 2)
    to_nhwc, to_nchw = np.array([0, 2, 3, 1], np.int32), np.array([0, 3, 1, 2], np.int32)
    ops = [("t1", "Transpose", ["x", "to_nhwc"], {}),
           ("conv", "Conv2D", ["t1", "w"], {"padding": "SAME", "strides": [1, 1, 1, 1]}),
           ("t2", "Transpose", ["conv", "to_nchw"], {}),
           ("act", "LeakyRelu", ["t2"], {"alpha": 0.1})]
    consts = {"to_nhwc": to_nhwc, "to_nchw": to_nchw, "w": W}
    expected = leaky(ref_conv_nhwc(X, W, padding="SAME"), 0.1).transpose(0, 3, 1, 2)
    check_op(tmp_path, ops, consts, x, expected)
    model = convert_tfjs(tmp_path / "model.json")
    assert [n.op_type for n in model.graph.node] == ["Conv", "LeakyRelu"]


# -- weights ---------------------------------------------------------------------------------


def test_quantised_and_int_weights(tmp_path) -> None:
    w16 = RNG.normal(size=(2, 3)).astype(np.float32)
    w8 = np.array([0.0, 0.5, 1.0, 2.0], np.float32)
    shape = np.array([1, 2, 3], np.int32)
    path = write_model(tmp_path, [("y", "Identity", ["a"], {})],
                       {"a": w16, "b": w8, "c": shape}, {"x": (1,)}, ["y"],
                       quantize={"a": {"dtype": "float16"},
                                 "b": {"dtype": "uint8", "scale": 0.5, "min": 0.0}})
    weights = read_weights(json.loads(path.read_text())["weightsManifest"], tmp_path)
    np.testing.assert_allclose(weights["a"], w16, atol=2e-3)
    assert weights["a"].dtype == np.float32
    np.testing.assert_array_equal(weights["b"], w8)
    np.testing.assert_array_equal(weights["c"], shape)


# -- bad files -------------------------------------------------------------------------------


def _small_model(folder: Path) -> Path:
    ops = [("conv", "Conv2D", ["x", "w"], {"padding": "VALID", "strides": [1, 1, 1, 1]})]
    return write_model(folder, ops, {"w": W}, {"x": X.shape}, ["conv"])


def test_truncated_weights_are_one_clear_error(tmp_path) -> None:
    path = _small_model(tmp_path)
    bin_path = tmp_path / "model.bin"
    bin_path.write_bytes(bin_path.read_bytes()[:-5])
    with pytest.raises(TfjsConversionError, match="weight 'w'.*truncated weight file"):
        load_tfjs(path)


def test_weights_longer_than_the_manifest_are_refused(tmp_path) -> None:
    path = _small_model(tmp_path)
    with open(tmp_path / "model.bin", "ab") as f:
        f.write(b"\0" * 8)
    with pytest.raises(TfjsConversionError, match="hold 440 bytes but the weights take 432"):
        load_tfjs(path)


def test_missing_shard(tmp_path) -> None:
    path = _small_model(tmp_path)
    (tmp_path / "model.bin").unlink()
    with pytest.raises(TfjsConversionError, match="shard .*model.bin does not exist"):
        load_tfjs(path)


def test_unknown_op_names_op_and_node(tmp_path) -> None:
    ops = [("y", "Relu", ["x"], {}), ("z", "Erf", ["y"], {})]
    path = write_model(tmp_path, ops, {}, {"x": X.shape}, ["z"])
    with pytest.raises(TfjsConversionError, match="unsupported TF.js op 'Erf' at node 'z'"):
        convert_tfjs(path)


def test_non_constant_parameter_is_refused(tmp_path) -> None:
    ops = [("y", "Relu", ["x"], {}), ("p", "Pad", ["x", "y"], {})]
    path = write_model(tmp_path, ops, {}, {"x": (4, 2)}, ["p"])
    with pytest.raises(TfjsConversionError, match="node 'p' \\(Pad\\): its paddings"):
        convert_tfjs(path)


def test_not_a_graph_model(tmp_path) -> None:
    path = tmp_path / "layers.json"
    path.write_text(json.dumps({"format": "layers-model", "modelTopology": {"config": {}}}))
    with pytest.raises(TfjsConversionError, match="not a TF.js graph model"):
        load_tfjs(path)


# -- cache -----------------------------------------------------------------------------------


def test_cached_conversion_is_reused_and_redone_when_stale(tmp_path) -> None:
    path = _small_model(tmp_path)
    onnx_path = cached_onnx(path)
    record = json.loads((tmp_path / "model.onnx.json").read_text())
    assert onnx_path == tmp_path / "model.onnx" and len(record["sha256"]) == 64
    stamp = onnx_path.stat().st_mtime_ns
    assert cached_onnx(path).stat().st_mtime_ns == stamp           # reused
    onnx_path.write_bytes(onnx_path.read_bytes() + b"x")            # tampered: sha256 differs
    assert cached_onnx(path).read_bytes() == convert_tfjs(path).SerializeToString()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": X})
    np.testing.assert_allclose(got, ref_conv_nhwc(X, W), atol=1e-4)
