"""Convert a TensorFlow.js graph model (``model.json`` + binary weight shards) to ONNX.

A TF.js graph model is a JSON file with

* ``modelTopology.node``: the TensorFlow graph, one entry per node with ``name``, ``op``,
  ``input`` (``"node"`` or ``"node:k"`` for a node's k-th output, ``"^node"`` for a control
  dependency) and ``attr`` (TensorFlow ``AttrValue`` as JSON: ``s`` strings are base64, ``i``
  integers are decimal strings);
* ``weightsManifest``: groups of weights, each with the ``paths`` of its shards (read in order and
  concatenated) and the ``weights`` (``name``, ``shape``, ``dtype`` and an optional
  ``quantization``) in their byte order. Every ``Const`` node takes its value from the weight of
  the same name;
* ``signature``: the graph's inputs and outputs (``"name:0"``).

:func:`convert_tfjs` builds an ONNX graph (opset 18) with ``onnx.helper``. The graph's tensors keep
TensorFlow's layouts; an NHWC convolution, pooling or resize becomes ``Transpose`` to NCHW, the
ONNX op, ``Transpose`` back, and chains of transposes are composed while the graph is built, so
the transposes a converter placed around every convolution of an NCHW model cancel out. Nodes whose
inputs are all constants (shape arithmetic such as ``SparseToDense``) are computed at conversion
time. An op the converter does not know stops it with one error naming the op and the node.

Supported ops: Placeholder, Const, Identity, Add, AddV2, Sub, Mul, Conv2D,
DepthwiseConv2dNative, _FusedConv2D and FusedDepthwiseConv2dNative (fused BiasAdd then Relu,
Relu6, LeakyRelu, Prelu or Sigmoid), MaxPool, AvgPool, Pad, PadV2, ConcatV2, Reshape,
Transpose, ResizeBilinear and ResizeNearestNeighbor (``align_corners`` and
``half_pixel_centers``), Sigmoid, Relu, Relu6, LeakyRelu, Split, SplitV, StridedSlice (without
``ellipsis_mask`` / ``new_axis_mask``), Cast, and SparseToDense on constant inputs.

Weights: float32, int32 (read as the Const node's declared dtype, e.g. int64), bool and uint8,
plain or quantised (``float16``; ``uint8`` / ``uint16`` with ``scale`` and ``min``).

Needs ``onnx`` to convert and ``onnxruntime`` to run (``pip install alphapose[onnx]``).

Example:
    >>> onnx_path = cached_onnx("nanodet.json")          # doctest: +SKIP
    >>> backend = OnnxBackend(onnx_path, num_threads=1)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx

__all__ = [
    "CONVERTER_VERSION",
    "OPSET",
    "SUPPORTED_OPS",
    "TfjsConversionError",
    "TfjsModel",
    "cached_onnx",
    "convert_tfjs",
    "load_tfjs",
    "read_weights",
]

#: Bumped whenever the converter's output changes; cached conversions of older versions are redone.
CONVERTER_VERSION = 2

#: ONNX opset of the converted graphs (18: ``Split`` with ``num_outputs``).
OPSET = 18

_INSTALL_HINT = "pip install alphapose[onnx]"

_TF_DTYPES: dict[str, np.dtype] = {
    "DT_FLOAT": np.dtype(np.float32),
    "DT_HALF": np.dtype(np.float16),
    "DT_DOUBLE": np.dtype(np.float64),
    "DT_INT32": np.dtype(np.int32),
    "DT_INT64": np.dtype(np.int64),
    "DT_INT8": np.dtype(np.int8),
    "DT_UINT8": np.dtype(np.uint8),
    "DT_BOOL": np.dtype(np.bool_),
}

#: bytes of a manifest dtype (``dtype`` or ``quantization.dtype``)
_MANIFEST_DTYPES: dict[str, np.dtype] = {
    "float32": np.dtype("<f4"),
    "int32": np.dtype("<i4"),
    "bool": np.dtype(np.bool_),
    "uint8": np.dtype(np.uint8),
    "uint16": np.dtype("<u2"),
    "float16": np.dtype("<f2"),
}

_NCHW_FROM_NHWC = (0, 3, 1, 2)
_NHWC_FROM_NCHW = (0, 2, 3, 1)


class TfjsConversionError(ValueError):
    """A TF.js model that cannot be read or converted (bad file, unsupported op)."""


# -- reading ---------------------------------------------------------------------------------


@dataclass
class TfjsModel:
    """A parsed TF.js graph model.

    Attributes:
        nodes: the graph's nodes by name (the JSON objects as they are).
        weights: the value of every ``Const`` node by name (already dequantised).
        inputs: graph inputs, ``name -> shape`` (``-1`` for an unknown size).
        outputs: graph output node references (``"node"`` or ``"node:k"``), signature order.
        output_specs: ``reference -> (TF dtype, shape)`` the signature declares (``-1`` for an
            unknown size); outputs missing here get their type by ONNX shape inference.
        source: the JSON file it was read from.
    """

    nodes: dict[str, dict[str, Any]]
    weights: dict[str, np.ndarray]
    inputs: dict[str, tuple[int, ...]]
    outputs: list[str]
    output_specs: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    source: Path | None = None


def read_weights(manifest: list[dict[str, Any]], folder: str | Path) -> dict[str, np.ndarray]:
    """Read the weights a ``weightsManifest`` lists from the shard files beside the model.

    Args:
        manifest: the model JSON's ``weightsManifest``.
        folder: folder the shard ``paths`` are relative to.

    Returns:
        ``name -> array`` (float32 for quantised floats; ints in the manifest dtype).

    Raises:
        TfjsConversionError: a shard is missing, truncated or longer than its weights, or a
            dtype / quantisation is not supported.
    """
    folder = Path(folder)
    weights: dict[str, np.ndarray] = {}
    for index, group in enumerate(manifest):
        paths = [folder / urllib.parse.unquote(p) for p in group.get("paths", [])]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise TfjsConversionError(f"weightsManifest group {index}: shard {missing[0]} "
                                      f"does not exist")
        data = b"".join(p.read_bytes() for p in paths)
        offset = 0
        for spec in group.get("weights", []):
            value, used = _read_weight(spec, data, offset, paths)
            weights[spec["name"]] = value
            offset += used
        if offset != len(data):
            raise TfjsConversionError(
                f"weightsManifest group {index}: the shards {[p.name for p in paths]} hold "
                f"{len(data)} bytes but the weights take {offset}; wrong or corrupt weight file")
    return weights


def _read_weight(spec: dict[str, Any], data: bytes, offset: int,
                 paths: list[Path]) -> tuple[np.ndarray, int]:
    name, dtype = spec["name"], spec["dtype"]
    shape = tuple(int(d) for d in spec.get("shape", []))
    count = math.prod(shape)
    quant = spec.get("quantization")
    stored = quant["dtype"] if quant else dtype
    if stored not in _MANIFEST_DTYPES or dtype not in _MANIFEST_DTYPES:
        raise TfjsConversionError(f"weight {name!r}: dtype {dtype!r} (stored as {stored!r}) is "
                                  f"not supported; expected one of {sorted(_MANIFEST_DTYPES)}")
    stored_dtype = _MANIFEST_DTYPES[stored]
    size = count * stored_dtype.itemsize
    if offset + size > len(data):
        raise TfjsConversionError(
            f"weight {name!r}: needs bytes {offset}..{offset + size} but the shards "
            f"{[p.name for p in paths]} hold only {len(data)}; truncated weight file")
    raw = np.frombuffer(data, stored_dtype, count, offset).reshape(shape)
    if not quant:
        return raw.astype(stored_dtype.newbyteorder("="), copy=True), size
    if stored == "float16":
        return raw.astype(np.float32), size
    if stored in ("uint8", "uint16"):
        if "scale" not in quant or "min" not in quant:
            raise TfjsConversionError(f"weight {name!r}: {stored} quantisation without scale "
                                      f"and min")
        values = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
        if dtype == "int32":
            return np.round(values).astype(np.int32), size
        return values.astype(np.float32), size
    raise TfjsConversionError(f"weight {name!r}: quantisation dtype {stored!r} is not supported")


def load_tfjs(json_path: str | Path) -> TfjsModel:
    """Parse a TF.js graph model and read its weights.

    Args:
        json_path: the ``model.json`` file; its weight shards sit beside it.

    Returns:
        The parsed model.

    Raises:
        TfjsConversionError: not a graph model, or unreadable weights.
    """
    json_path = Path(json_path)
    try:
        document = json.loads(json_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise TfjsConversionError(f"json_path: cannot read the TF.js model {json_path}: "
                                  f"{error}") from error
    topology = document.get("modelTopology")
    if not isinstance(topology, dict) or "node" not in topology:
        raise TfjsConversionError(f"json_path: {json_path.name} is not a TF.js graph model "
                                  f"(no modelTopology.node)")
    nodes = {node["name"]: node for node in topology["node"]}
    weights = read_weights(document.get("weightsManifest", []), json_path.parent)
    signature = document.get("signature") or {}
    inputs: dict[str, tuple[int, ...]] = {}
    for node in nodes.values():
        if node["op"] == "Placeholder":
            dims = node.get("attr", {}).get("shape", {}).get("shape", {}).get("dim", [])
            inputs[node["name"]] = tuple(int(d.get("size", -1)) for d in dims)
    specs: dict[str, tuple[str, tuple[int, ...]]] = {}
    for key, spec in signature.get("outputs", {}).items():
        ref = spec.get("name", key)
        ref = ref.removesuffix(":0")
        if "tensorShape" not in spec:
            continue  # typed by shape inference
        dims = spec["tensorShape"].get("dim", [])
        specs[ref] = (spec.get("dtype", "DT_FLOAT"), tuple(int(d.get("size", -1)) for d in dims))
    outputs = [spec.get("name", key) for key, spec in signature.get("outputs", {}).items()]
    outputs = [ref.removesuffix(":0") for ref in outputs]
    if not outputs:
        consumed = {_split_ref(i)[0] for n in nodes.values() for i in n.get("input", [])}
        outputs = [name for name, n in nodes.items()
                   if name not in consumed and n["op"] not in ("Const", "Placeholder")]
    return TfjsModel(nodes, weights, inputs, outputs, specs, json_path)


def _split_ref(ref: str) -> tuple[str, int]:
    """``"node:k"`` -> ``("node", k)``; ``"node"`` -> ``("node", 0)``; ``"^node"`` (control)."""
    ref = ref.lstrip("^")
    name, sep, index = ref.rpartition(":")
    if sep and index.isdigit():
        return name, int(index)
    return ref, 0


# -- attributes ------------------------------------------------------------------------------


def _attr(node: dict[str, Any], key: str, default: Any = None) -> Any:
    """One attribute as a Python value: str, int, float, bool, a list of them, or a dtype."""
    value = node.get("attr", {}).get(key)
    if value is None:
        return default
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "type" in value:
        return value["type"]
    if "list" in value:
        items = value["list"]
        if "i" in items:
            return [int(v) for v in items["i"]]
        if "s" in items:
            return [base64.b64decode(v).decode() for v in items["s"]]
        if "f" in items:
            return [float(v) for v in items["f"]]
        return []
    return default


# -- conversion ------------------------------------------------------------------------------


def _fold_sparse_to_dense(indices: np.ndarray, shape: np.ndarray, values: np.ndarray,
                          default: np.ndarray) -> np.ndarray:
    out = np.full(tuple(int(s) for s in np.atleast_1d(shape)), default, dtype=values.dtype)
    idx = np.asarray(indices, np.int64)
    if idx.size:
        idx = idx.reshape(idx.shape[0], -1) if idx.ndim > 1 else idx.reshape(-1, 1)
        out[tuple(idx.T)] = values
    return out


#: numpy versions of ops whose inputs are all constants, computed at conversion time
_FOLDERS: dict[str, Callable[..., np.ndarray]] = {
    "Identity": lambda node, x: x,
    "Add": lambda node, a, b: np.add(a, b),
    "AddV2": lambda node, a, b: np.add(a, b),
    "Sub": lambda node, a, b: np.subtract(a, b),
    "Mul": lambda node, a, b: np.multiply(a, b),
    "Reshape": lambda node, x, shape: np.reshape(x, tuple(int(s) for s in shape)),
    "Transpose": lambda node, x, perm: np.transpose(x, tuple(int(p) for p in perm)),
    "ConcatV2": lambda node, *args: np.concatenate(args[:-1], axis=int(args[-1])),
    "Cast": lambda node, x: x.astype(_TF_DTYPES[_attr(node, "DstT", "DT_FLOAT")]),
    "SparseToDense": lambda node, i, s, v, d: _fold_sparse_to_dense(i, s, v, d),
}


@dataclass
class _Graph:
    """The ONNX graph being built (names are TF references: ``node`` or ``node:k``)."""

    model: TfjsModel
    nodes: list[Any] = field(default_factory=list)
    initializers: dict[str, Any] = field(default_factory=dict)
    consts: dict[str, np.ndarray] = field(default_factory=dict)
    alias: dict[str, str] = field(default_factory=dict)
    #: tensor -> (source tensor, perm) of the Transpose that made it
    transposed: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    counter: int = 0

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}__{self.counter}"

    def const(self, ref: str) -> np.ndarray | None:
        return self.consts.get(ref)

    def tensor(self, ref: str) -> str:
        """The ONNX tensor for a TF reference (an initializer if it is a constant)."""
        ref = self.alias.get(ref, ref)
        if ref in self.consts and ref not in self.initializers:
            from onnx import numpy_helper

            self.initializers[ref] = numpy_helper.from_array(self.consts[ref], ref)
        return ref

    def add_const(self, value: np.ndarray, hint: str) -> str:
        from onnx import numpy_helper

        name = self.fresh(hint)
        self.initializers[name] = numpy_helper.from_array(np.asarray(value), name)
        return name

    def op(self, op_type: str, inputs: list[str], outputs: list[str] | None = None,
           hint: str = "", **attrs: Any) -> str:
        from onnx import helper

        outputs = outputs if outputs is not None else [self.fresh(hint or op_type)]
        self.nodes.append(helper.make_node(op_type, inputs, outputs, **attrs))
        return outputs[0]

    def transpose(self, x: str, perm: tuple[int, ...], output: str | None = None) -> str:
        """``Transpose`` with chains composed: a transpose of a transpose reads the original
        tensor, and one that composes to the identity is no node at all."""
        perm = tuple(int(p) for p in perm)
        if x in self.transposed:
            source, first = self.transposed[x]
            x, perm = source, tuple(first[p] for p in perm)
        if perm == tuple(range(len(perm))):
            if output is None:
                return x
            self.alias[output] = x
            return x
        name = self.op("Transpose", [x], [output] if output else None, "transpose", perm=perm)
        self.transposed[name] = (x, perm)
        return name


def _const_input(graph: _Graph, node: dict[str, Any], position: int, what: str) -> np.ndarray:
    ref = node["input"][position]
    value = graph.const(graph.alias.get(ref, ref))
    if value is None:
        raise TfjsConversionError(f"node {node['name']!r} ({node['op']}): its {what} "
                                  f"({ref!r}) must be a constant")
    return value


def _spatial(node: dict[str, Any]) -> tuple[bool, Callable[[list[int]], list[int]]]:
    """Whether the node is NHWC, and a function picking the (h, w) entries of a 4-list."""
    layout = _attr(node, "data_format", "NHWC")
    if layout not in ("NHWC", "NCHW"):
        raise TfjsConversionError(f"node {node['name']!r} ({node['op']}): data_format "
                                  f"{layout!r} is not supported")
    nhwc = layout == "NHWC"
    return nhwc, (lambda v: list(v[1:3]) if nhwc else list(v[2:4]))


def _const_kernel_size(node: dict[str, Any]) -> list[int]:
    """``(kh, kw)`` of a convolution, from its filter's shape (set by :func:`_convert_conv`)."""
    shape = node.get("_filter_shape")
    if shape is None:
        raise TfjsConversionError(f"node {node['name']!r} ({node['op']}): dilated SAME "
                                  f"padding needs a constant filter")
    return [int(shape[0]), int(shape[1])]


def _padding_attrs(node: dict[str, Any], hw: Callable[[list[int]], list[int]],
                   nhwc: bool) -> dict[str, Any]:
    padding = _attr(node, "padding", "VALID")
    if padding == "VALID":
        return {"pads": [0, 0, 0, 0]}
    if padding == "SAME":
        dilations = hw(_attr(node, "dilations", [1, 1, 1, 1]) or [1, 1, 1, 1])
        if max(dilations) > 1:
            # TF allows dilation only at stride 1, where SAME pads (k - 1) * d in all, the odd
            # pixel at the end (onnxruntime has no SAME_UPPER with dilations)
            strides = hw(_attr(node, "strides", [1, 1, 1, 1]))
            if max(strides) > 1:
                raise TfjsConversionError(f"node {node['name']!r} ({node['op']}): SAME padding "
                                          f"with both strides and dilations is not supported")
            kernel = _const_kernel_size(node)
            total = [(k - 1) * d for k, d in zip(kernel, dilations)]
            return {"pads": [t // 2 for t in total] + [t - t // 2 for t in total]}
        return {"auto_pad": "SAME_UPPER"}  # TF's SAME puts the odd pixel at the end, too
    if padding == "EXPLICIT":
        flat = _attr(node, "explicit_paddings", [])
        pairs = [flat[2 * i: 2 * i + 2] for i in range(4)]
        h, w = (pairs[1], pairs[2]) if nhwc else (pairs[2], pairs[3])
        return {"pads": [h[0], w[0], h[1], w[1]]}
    raise TfjsConversionError(f"node {node['name']!r} ({node['op']}): padding {padding!r} is "
                              f"not supported")


def _activation(graph: _Graph, node: dict[str, Any], kind: str, x: str,
                extra: list[str], channels_axis: int) -> str:
    name = node["name"]
    if kind == "Relu":
        return graph.op("Relu", [x])
    if kind == "Relu6":
        return graph.op("Clip", [x, graph.add_const(np.float32(0), "zero"),
                                 graph.add_const(np.float32(6), "six")])
    if kind == "LeakyRelu":
        return graph.op("LeakyRelu", [x], alpha=float(_attr(node, "leakyrelu_alpha", 0.2)))
    if kind == "Sigmoid":
        return graph.op("Sigmoid", [x])
    if kind == "Prelu":
        if not extra:
            raise TfjsConversionError(f"node {name!r}: fused Prelu without its alpha input")
        alpha = graph.const(extra[0])
        if alpha is None:
            raise TfjsConversionError(f"node {name!r}: the Prelu alpha must be a constant")
        # alpha has one value per channel (last axis in TF); put it on the NCHW channel axis
        shape = [1] * 3
        shape[channels_axis - 1] = -1
        return graph.op("PRelu", [x, graph.add_const(alpha.reshape(-1).reshape(shape)
                                                     .astype(np.float32), "alpha")])
    raise TfjsConversionError(f"node {name!r} ({node['op']}): fused op {kind!r} is not "
                              f"supported")


def _convert_conv(graph: _Graph, node: dict[str, Any], out: str) -> None:
    op, name = node["op"], node["name"]
    depthwise = "Depthwise" in op
    nhwc, hw = _spatial(node)
    x = graph.tensor(node["input"][0])
    filt = graph.const(graph.alias.get(node["input"][1], node["input"][1]))
    groups = 1
    if depthwise:
        if filt is None:
            raise TfjsConversionError(f"node {name!r} ({op}): the depthwise filter must be a "
                                      f"constant")
        kh, kw, cin, mult = filt.shape
        # TF output channel c * mult + m reads input channel c: ONNX groups of `mult` outputs
        weight = graph.add_const(np.ascontiguousarray(
            filt.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None]).astype(np.float32),
            "weight")
        groups = cin
    elif filt is not None:
        weight = graph.add_const(np.ascontiguousarray(filt.transpose(3, 2, 0, 1))
                                 .astype(np.float32), "weight")  # HWIO -> OIHW
    else:
        weight = graph.transpose(graph.tensor(node["input"][1]), (3, 2, 0, 1))
    node = {**node, "_filter_shape": None if filt is None else filt.shape}
    fused = _attr(node, "fused_ops", []) if op.startswith(("_Fused", "Fused")) else []
    extra = [graph.alias.get(r, r) for r in node["input"][2:] if not r.startswith("^")]
    inputs = [graph.transpose(x, _NCHW_FROM_NHWC) if nhwc else x, weight]
    if fused and fused[0] == "BiasAdd":
        if not extra:
            raise TfjsConversionError(f"node {name!r} ({op}): fused BiasAdd without a bias")
        inputs.append(graph.tensor(extra[0]))
        fused, extra = fused[1:], extra[1:]
    attrs = {"strides": hw(_attr(node, "strides", [1, 1, 1, 1])),
             "dilations": hw(_attr(node, "dilations", [1, 1, 1, 1]) or [1, 1, 1, 1]),
             "group": groups, **_padding_attrs(node, hw, nhwc)}
    y = graph.op("Conv", inputs, hint=name, **attrs)
    for kind in fused:
        y = _activation(graph, node, kind, y, extra, channels_axis=1)
    _finish_nchw(graph, y, out, nhwc)


def _finish_nchw(graph: _Graph, y: str, out: str, nhwc: bool) -> None:
    if nhwc:
        graph.transpose(y, _NHWC_FROM_NCHW, output=out)
    else:
        graph.op("Identity", [y], [out])


def _convert_pool(graph: _Graph, node: dict[str, Any], out: str) -> None:
    nhwc, hw = _spatial(node)
    x = graph.tensor(node["input"][0])
    attrs = {"kernel_shape": hw(_attr(node, "ksize")), "strides": hw(_attr(node, "strides")),
             **_padding_attrs(node, hw, nhwc)}
    onnx_op = "MaxPool" if node["op"] == "MaxPool" else "AveragePool"
    if onnx_op == "AveragePool":
        attrs["count_include_pad"] = 0  # TF averages over the valid pixels only
    y = graph.op(onnx_op, [graph.transpose(x, _NCHW_FROM_NHWC) if nhwc else x],
                 hint=node["name"], **attrs)
    _finish_nchw(graph, y, out, nhwc)


def _convert_resize(graph: _Graph, node: dict[str, Any], out: str) -> None:
    size = _const_input(graph, node, 1, "size")
    align = bool(_attr(node, "align_corners", False))
    half = bool(_attr(node, "half_pixel_centers", False))
    if node["op"] == "ResizeBilinear":
        mode, nearest = "linear", "floor"
        transform = "align_corners" if align else "half_pixel" if half else "asymmetric"
    else:
        mode = "nearest"
        if align:
            transform, nearest = "align_corners", "round_prefer_ceil"
        elif half:
            transform, nearest = "tf_half_pixel_for_nn", "floor"
        else:
            transform, nearest = "asymmetric", "floor"
    x = graph.transpose(graph.tensor(node["input"][0]), _NCHW_FROM_NHWC)
    # full (N, C, h, w) sizes: onnxruntime's layout optimiser mishandles Resize with `axes`
    batch_channels = graph.op("Shape", [x], start=0, end=2)
    sizes = graph.op("Concat", [batch_channels, graph.add_const(
        np.asarray(size, np.int64).reshape(2), "sizes")], axis=0)
    y = graph.op("Resize", [x, "", "", sizes], hint=node["name"], mode=mode,
                 coordinate_transformation_mode=transform, nearest_mode=nearest)
    graph.transpose(y, _NHWC_FROM_NCHW, output=out)


def _convert_pad(graph: _Graph, node: dict[str, Any], out: str) -> None:
    paddings = _const_input(graph, node, 1, "paddings").astype(np.int64).reshape(-1, 2)
    inputs = [graph.tensor(node["input"][0]),
              graph.add_const(np.concatenate([paddings[:, 0], paddings[:, 1]]), "pads")]
    mode = "constant"
    if node["op"] == "PadV2":
        value = _const_input(graph, node, 2, "constant value")
        inputs.append(graph.add_const(np.asarray(value, np.float32).reshape(()), "pad_value"))
    elif node["op"] == "MirrorPad":
        tf_mode = _attr(node, "mode", "REFLECT")
        if tf_mode != "REFLECT":
            raise TfjsConversionError(f"node {node['name']!r} (MirrorPad): mode {tf_mode!r} is "
                                      f"not supported (REFLECT only)")
        mode = "reflect"
    graph.op("Pad", inputs, [out], mode=mode)


def _convert_split(graph: _Graph, node: dict[str, Any], out: str) -> None:
    name, op = node["name"], node["op"]
    count = int(_attr(node, "num_split", 1))
    outputs = [out] + [f"{name}:{k}" for k in range(1, count)]
    if op == "Split":
        axis = int(_const_input(graph, node, 0, "axis"))
        graph.op("Split", [graph.tensor(node["input"][1])], outputs, axis=axis,
                 num_outputs=count)
        return
    sizes = _const_input(graph, node, 1, "size_splits").astype(np.int64).reshape(-1)
    axis = int(_const_input(graph, node, 2, "axis"))
    if (sizes < 0).any():
        raise TfjsConversionError(f"node {name!r} (SplitV): size_splits {sizes.tolist()} with "
                                  f"-1 is not supported; the converter needs explicit sizes")
    graph.op("Split", [graph.tensor(node["input"][0]), graph.add_const(sizes, "split")],
             outputs, axis=axis)


def _convert_strided_slice(graph: _Graph, node: dict[str, Any], out: str) -> None:
    name = node["name"]
    if _attr(node, "ellipsis_mask", 0) or _attr(node, "new_axis_mask", 0):
        raise TfjsConversionError(f"node {name!r} (StridedSlice): ellipsis_mask and "
                                  f"new_axis_mask are not supported")
    begin = _const_input(graph, node, 1, "begin").astype(np.int64).reshape(-1)
    end = _const_input(graph, node, 2, "end").astype(np.int64).reshape(-1)
    strides = _const_input(graph, node, 3, "strides").astype(np.int64).reshape(-1)
    begin_mask, end_mask = _attr(node, "begin_mask", 0), _attr(node, "end_mask", 0)
    shrink = _attr(node, "shrink_axis_mask", 0)
    big = np.iinfo(np.int64).max
    starts, ends = [], []
    for axis, (b, e, s) in enumerate(zip(begin, end, strides)):
        if s == 0:
            raise TfjsConversionError(f"node {name!r} (StridedSlice): stride 0 on axis {axis}")
        if shrink >> axis & 1:
            e, s = (b + 1 if b != -1 else big), 1
        else:
            if begin_mask >> axis & 1:
                b = 0 if s > 0 else big
            if end_mask >> axis & 1:
                e = big if s > 0 else -big
        starts.append(b)
        ends.append(e)
        strides[axis] = s
    axes = list(range(len(begin)))
    y = graph.op("Slice", [graph.tensor(node["input"][0]),
                           graph.add_const(np.asarray(starts, np.int64), "starts"),
                           graph.add_const(np.asarray(ends, np.int64), "ends"),
                           graph.add_const(np.asarray(axes, np.int64), "axes"),
                           graph.add_const(np.asarray(strides, np.int64), "steps")], hint=name)
    squeeze = [axis for axis in axes if shrink >> axis & 1]
    if squeeze:
        graph.op("Squeeze", [y, graph.add_const(np.asarray(squeeze, np.int64), "axes")], [out])
    else:
        graph.op("Identity", [y], [out])


def _convert_simple(graph: _Graph, node: dict[str, Any], out: str) -> None:
    op = node["op"]
    ins = [graph.tensor(r) for r in node["input"] if not r.startswith("^")]
    if op in ("Add", "AddV2", "Sub", "Mul"):
        graph.op({"AddV2": "Add"}.get(op, op), ins[:2], [out])
    elif op in ("Sigmoid", "Relu", "Identity"):
        graph.op(op, ins[:1], [out])
    elif op == "Relu6":
        graph.op("Clip", [ins[0], graph.add_const(np.float32(0), "zero"),
                          graph.add_const(np.float32(6), "six")], [out])
    elif op == "LeakyRelu":
        graph.op("LeakyRelu", ins[:1], [out], alpha=float(_attr(node, "alpha", 0.2)))
    elif op == "ConcatV2":
        axis = int(_const_input(graph, node, len(ins) - 1, "axis"))
        graph.op("Concat", ins[:-1], [out], axis=axis)
    elif op == "Reshape":
        shape = graph.const(graph.alias.get(node["input"][1], node["input"][1]))
        target = (graph.add_const(np.asarray(shape, np.int64).reshape(-1), "shape")
                  if shape is not None else graph.op("Cast", [ins[1]], to=7))  # 7: INT64
        graph.op("Reshape", [ins[0], target], [out])
    elif op == "Transpose":
        perm = _const_input(graph, node, 1, "perm")
        graph.transpose(ins[0], tuple(int(p) for p in perm), output=out)
    elif op == "Cast":
        from onnx import helper

        dtype = _TF_DTYPES.get(_attr(node, "DstT", ""))
        if dtype is None:
            raise TfjsConversionError(f"node {node['name']!r} (Cast): DstT "
                                      f"{_attr(node, 'DstT')!r} is not supported")
        graph.op("Cast", ins[:1], [out], to=helper.np_dtype_to_tensor_dtype(dtype))
    elif op == "SparseToDense":
        raise TfjsConversionError(f"node {node['name']!r} (SparseToDense): supported only on "
                                  f"constant inputs (shape arithmetic), these are not")
    else:  # pragma: no cover - SUPPORTED_OPS and this function agree
        raise AssertionError(op)


_CONVERTERS: dict[str, Callable[[_Graph, dict[str, Any], str], None]] = {
    **{op: _convert_conv for op in ("Conv2D", "DepthwiseConv2dNative", "_FusedConv2D",
                                    "FusedDepthwiseConv2dNative")},
    **{op: _convert_pool for op in ("MaxPool", "AvgPool")},
    **{op: _convert_resize for op in ("ResizeBilinear", "ResizeNearestNeighbor")},
    **{op: _convert_pad for op in ("Pad", "PadV2", "MirrorPad")},
    **{op: _convert_split for op in ("Split", "SplitV")},
    "StridedSlice": _convert_strided_slice,
    **{op: _convert_simple for op in ("Add", "AddV2", "Sub", "Mul", "Sigmoid", "Relu", "Relu6",
                                      "LeakyRelu", "Identity", "ConcatV2", "Reshape",
                                      "Transpose", "Cast", "SparseToDense")},
}

#: Every TF op the converter handles (``Placeholder`` and ``Const`` included).
SUPPORTED_OPS: frozenset[str] = frozenset({"Placeholder", "Const", *_CONVERTERS})


def _topological_order(model: TfjsModel) -> list[str]:
    """Names of the nodes the outputs depend on, each after its inputs."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done
    for output in model.outputs:
        stack = [(_split_ref(output)[0], False)]
        while stack:
            name, expanded = stack.pop()
            if state.get(name) == 2:
                continue
            if name not in model.nodes:
                raise TfjsConversionError(f"the graph references node {name!r}, which it does "
                                          f"not define")
            if expanded:
                state[name] = 2
                order.append(name)
                continue
            if state.get(name) == 1:
                raise TfjsConversionError(f"the graph has a cycle through node {name!r}")
            state[name] = 1
            stack.append((name, True))
            for ref in reversed(model.nodes[name].get("input", [])):
                if not ref.startswith("^"):
                    source = _split_ref(ref)[0]
                    if state.get(source) != 2:
                        stack.append((source, False))
    return order


def convert_tfjs(model: TfjsModel | str | Path, *, fold_constants: bool = True) -> onnx.ModelProto:
    """Convert a TF.js graph model to an ONNX model (opset :data:`OPSET`).

    The ONNX inputs are the graph's ``Placeholder`` nodes and the outputs its signature outputs,
    named like the TF nodes (``"Identity"``, ``"Identity_1"``, ...; a non-first output
    ``"node:k"``), float32 unless the signature says otherwise.

    Args:
        model: a parsed model or the path of its JSON file.
        fold_constants: compute nodes whose inputs are all constants at conversion time
            (SparseToDense needs it).

    Returns:
        The checked ONNX model.

    Raises:
        TfjsConversionError: unknown op (naming the op and node), unsupported attribute, or a
            broken graph.
        ImportError: ``onnx`` is not installed.
    """
    try:
        import onnx
        from onnx import helper
    except ImportError as error:
        raise ImportError(f"converting TF.js models needs onnx: {_INSTALL_HINT}") from error
    if not isinstance(model, TfjsModel):
        model = load_tfjs(model)
    order = _topological_order(model)
    unknown = [(model.nodes[n]["op"], n) for n in order
               if model.nodes[n]["op"] not in SUPPORTED_OPS]
    if unknown:
        op, name = unknown[0]
        raise TfjsConversionError(f"unsupported TF.js op {op!r} at node {name!r}; supported: "
                                  f"{', '.join(sorted(SUPPORTED_OPS))}")
    graph = _Graph(model)
    inputs = []
    for name in order:
        node = model.nodes[name]
        op = node["op"]
        if op == "Const":
            if name not in model.weights:
                raise TfjsConversionError(f"Const node {name!r} has no value in the "
                                          f"weightsManifest")
            value = model.weights[name]
            declared = _TF_DTYPES.get(_attr(node, "dtype", ""))
            graph.consts[name] = value.astype(declared) if declared is not None else value
            continue
        if op == "Placeholder":
            dtype = _TF_DTYPES.get(_attr(node, "dtype", "DT_FLOAT"), np.dtype(np.float32))
            shape = [d if d >= 0 else None for d in model.inputs[name]]
            inputs.append(helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(dtype), shape or None))
            continue
        refs = [r for r in node.get("input", []) if not r.startswith("^")]
        values = [graph.const(graph.alias.get(r, r)) for r in refs]
        if fold_constants and op in _FOLDERS and refs and all(v is not None for v in values):
            graph.consts[name] = np.asarray(_FOLDERS[op](node, *values))
            continue
        _CONVERTERS[op](graph, node, name)
    for ref in model.outputs:
        source = graph.alias.get(ref, ref)
        if source != ref or ref in graph.consts:
            graph.op("Identity", [graph.tensor(source)], [ref])
    _prune(graph, model.outputs)
    onnx_graph = helper.make_graph(graph.nodes, Path(model.source or "tfjs").stem, inputs,
                                   [helper.make_empty_tensor_value_info(r) for r in model.outputs],
                                   list(graph.initializers.values()))
    onnx_model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                   producer_name="alphapose.runtime.tfjs_onnx",
                                   producer_version=str(CONVERTER_VERSION))
    onnx_model.ir_version = 8  # readable by onnxruntime >= 1.14
    _type_outputs(onnx_model, model)
    onnx.checker.check_model(onnx_model)
    return onnx_model


def _type_outputs(onnx_model: onnx.ModelProto, model: TfjsModel) -> None:
    """Give every graph output its type: the signature's, else ONNX shape inference's."""
    import onnx
    from onnx import helper

    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(onnx_model).graph.value_info}
    for output in onnx_model.graph.output:
        if output.name in model.output_specs:
            dtype, shape = model.output_specs[output.name]
            elem = helper.np_dtype_to_tensor_dtype(_TF_DTYPES.get(dtype, np.dtype(np.float32)))
            output.CopyFrom(helper.make_tensor_value_info(
                output.name, elem, [d if d >= 0 else None for d in shape]))
        elif output.name in inferred and inferred[output.name].type.tensor_type.HasField("shape"):
            output.CopyFrom(inferred[output.name])
        else:
            raise TfjsConversionError(f"output {output.name!r}: its type is neither in the "
                                      f"signature nor inferable")


def _prune(graph: _Graph, outputs: list[str]) -> None:
    """Drop nodes and initializers nothing reads (transposes bypassed by composition)."""
    needed = set(outputs)
    kept = []
    for node in reversed(graph.nodes):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    graph.nodes = kept[::-1]
    graph.initializers = {k: v for k, v in graph.initializers.items() if k in needed}


# -- cache -----------------------------------------------------------------------------------


def _sources_digest(json_path: Path) -> str:
    """sha256 over the model JSON and its shards (in manifest order) and the converter version."""
    digest = hashlib.sha256(f"tfjs_onnx v{CONVERTER_VERSION} opset {OPSET}\n".encode())
    digest.update(json_path.read_bytes())
    manifest = json.loads(json_path.read_text()).get("weightsManifest", [])
    for group in manifest:
        for path in group.get("paths", []):
            shard = json_path.parent / urllib.parse.unquote(path)
            if shard.is_file():
                digest.update(shard.read_bytes())
    return digest.hexdigest()


def cached_onnx(json_path: str | Path, onnx_path: str | Path | None = None) -> Path:
    """The ONNX conversion of a TF.js model, converted once and kept beside it.

    The ``.onnx`` file gets a ``.onnx.json`` record with the sha256 of the sources (JSON, shards
    and converter version) and of the ``.onnx`` file itself; a later call reuses the file when
    both still match and converts again otherwise.

    Args:
        json_path: the TF.js model JSON.
        onnx_path: where to write the ``.onnx``; default: the JSON's path with ``.onnx``.

    Returns:
        Path of the verified ``.onnx`` file.
    """
    from alphapose.weights import sha256sum

    json_path = Path(json_path)
    target = Path(onnx_path) if onnx_path is not None else json_path.with_suffix(".onnx")
    record_path = target.with_name(target.name + ".json")
    sources = _sources_digest(json_path)
    if target.is_file() and record_path.is_file():
        try:
            record = json.loads(record_path.read_text())
        except json.JSONDecodeError:
            record = {}
        if record.get("sources_sha256") == sources and record.get("sha256") == sha256sum(target):
            return target
    model = convert_tfjs(json_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(model.SerializeToString())
    partial.replace(target)
    record = {"source": json_path.name, "sources_sha256": sources,
              "converter_version": CONVERTER_VERSION, "opset": OPSET,
              "sha256": sha256sum(target)}
    record_path.write_text(json.dumps(record, indent=1) + "\n")
    return target
