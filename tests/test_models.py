"""Pose networks: official state-dict layouts, deformable conv, shapes, registry, checkpoints.

The expected official key sets are generated here from a description of each official
architecture (``alphapose/models/*.py``), independently of ``alphapose.models``; documented key
counts, parameter counts and a few keys/shapes are asserted literally.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn
from torch.nn import functional as F

from alphapose.config import (
    DCNConfig,
    ModelConfig,
    get_official_config,
    hrnet_stages,
    list_official_configs,
)
from alphapose.models import (
    MODEL_BUILDERS,
    FastPose,
    FastPoseDUC,
    FastPoseDUCDense,
    HRNet,
    SimplePose,
    build_model,
    list_models,
    load_checkpoint,
    load_model,
    match_official_configs,
    register_model,
    remap_state_dict,
)
from alphapose.models.checkpoint import read_state_dict
from alphapose.models.layers import DeformConv2d, deform_conv2d

Shapes = dict[str, tuple[int, ...]]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny inputs: one thread is faster and immune to oversubscription on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

# ------------------------------------------------------------------------------------------------
# Official key layouts (alphapose/models/: layers/SE_Resnet.py, layers/Resnet.py, fastpose.py,
# fastpose_duc.py, simplepose.py, hrnet.py)
# ------------------------------------------------------------------------------------------------

_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def _bn(prefix: str, channels: int) -> Shapes:
    return {f"{prefix}.weight": (channels,), f"{prefix}.bias": (channels,),
            f"{prefix}.running_mean": (channels,), f"{prefix}.running_var": (channels,),
            f"{prefix}.num_batches_tracked": ()}


def _conv_bn(prefix: str, out: int, inp: int, k: int) -> Shapes:
    return {f"{prefix}.0.weight": (out, inp, k, k), **_bn(f"{prefix}.1", out)}


def official_resnet(depth: int, *, se: bool, dcn: bool = False, shuffle: bool = False,
                    prefix: str = "preact") -> Shapes:
    """layers/SE_Resnet.py, layers/Resnet.py: bottleneck ResNet under ``preact``; SE in block 0 of
    each stage (reduction 1); DCN (``conv2_offset`` 18 x p x 3 x 3 with bias) in every block of
    stages 2-4; shuffle: strided blocks hold ``conv2.1`` (p, 4p, 3, 3) after a PixelUnshuffle."""
    keys: Shapes = {f"{prefix}.conv1.weight": (64, 3, 7, 7), **_bn(f"{prefix}.bn1", 64)}
    inp = 64
    for stage, count in enumerate(_BLOCKS[depth]):
        p = 64 * 2 ** stage
        for block in range(count):
            k = f"{prefix}.layer{stage + 1}.{block}"
            keys[f"{k}.conv1.weight"] = (p, inp, 1, 1)
            keys.update(_bn(f"{k}.bn1", p))
            if dcn and stage > 0:
                keys[f"{k}.conv2_offset.weight"] = (18, p, 3, 3)
                keys[f"{k}.conv2_offset.bias"] = (18,)
            if shuffle and stage > 0 and block == 0:
                keys[f"{k}.conv2.1.weight"] = (p, 4 * p, 3, 3)
            else:
                keys[f"{k}.conv2.weight"] = (p, p, 3, 3)
            keys.update(_bn(f"{k}.bn2", p))
            keys[f"{k}.conv3.weight"] = (4 * p, p, 1, 1)
            keys.update(_bn(f"{k}.bn3", 4 * p))
            if block == 0:
                if se:
                    for fc in ("fc.0", "fc.2"):
                        keys[f"{k}.se.{fc}.weight"] = (4 * p, 4 * p)
                        keys[f"{k}.se.{fc}.bias"] = (4 * p,)
                keys.update(_conv_bn(f"{k}.downsample", 4 * p, inp, 1))
            inp = 4 * p
    return keys


def official_fastpose(depth: int, joints: int, conv_dim: int, dcn: bool) -> Shapes:
    """fastpose.py: SE trunk, duc1 (1024, 512, 3, 3), duc2 (4 CD, 256, 3, 3), conv_out (J, CD, 3,
    3)."""
    keys = official_resnet(depth, se=True, dcn=dcn)
    keys["duc1.conv.weight"] = (1024, 512, 3, 3)
    keys.update(_bn("duc1.bn", 1024))
    keys["duc2.conv.weight"] = (4 * conv_dim, 256, 3, 3)
    keys.update(_bn("duc2.bn", 4 * conv_dim))
    keys["conv_out.weight"] = (joints, conv_dim, 3, 3)
    keys["conv_out.bias"] = (joints,)
    return keys


def _duc_head(prefix: str, in_channels: int, out_channels: int, num_conv: int) -> Shapes:
    keys: Shapes = {}
    width = in_channels // 4
    for n in range(num_conv):
        out = out_channels if n == num_conv - 1 else width
        keys[f"{prefix}.{3 * n + 1}.weight"] = (out, width, 3, 3)
        keys.update(_bn(f"{prefix}.{3 * n + 2}", out))
    return keys


def official_fastpose_duc(depth: int, joints: int, shuffle: bool) -> Shapes:
    """fastpose_duc.py: trunk, duc1/2/3 Sequentials (4/2/1 convs; widths 1024, 512, 256),
    conv_out."""
    keys = official_resnet(depth, se=True, shuffle=shuffle)
    keys.update(_duc_head("duc1", 2048, 1024, 4))
    keys.update(_duc_head("duc2", 1024, 512, 2))
    keys.update(_duc_head("duc3", 512, 256, 1))
    keys["conv_out.weight"] = (joints, 256, 3, 3)
    keys["conv_out.bias"] = (joints,)
    return keys


def official_fastpose_duc_dense(joints: int, dense: int) -> Shapes:
    """fastpose_duc_dense.py: SE-R50+DCN trunk, ``duc`` and ``duc_dense`` = Sequential(duc1, duc2,
    duc3)."""
    keys = official_resnet(50, se=True, dcn=True)
    for head in ("duc", "duc_dense"):
        keys.update(_duc_head(f"{head}.0", 2048, 1024, 4))
        keys.update(_duc_head(f"{head}.1", 1024, 512, 2))
        keys.update(_duc_head(f"{head}.2", 512, 256, 1))
    keys["conv_out.weight"] = (joints, 256, 3, 3)
    keys["conv_out.bias"] = (joints,)
    keys["conv_out_dense.weight"] = (dense - joints, 256, 3, 3)
    keys["conv_out_dense.bias"] = (dense - joints,)
    return keys


def official_simplepose(joints: int) -> Shapes:
    """simplepose.py: plain R50 trunk, deconv_layers .0/.3/.6 ConvT (in, 256, 4, 4) + BN
    .1/.4/.7."""
    keys = official_resnet(50, se=False)
    inp = 2048
    for index in (0, 3, 6):
        keys[f"deconv_layers.{index}.weight"] = (inp, 256, 4, 4)
        keys.update(_bn(f"deconv_layers.{index + 1}", 256))
        inp = 256
    keys["final_layer.weight"] = (joints, 256, 1, 1)
    keys["final_layer.bias"] = (joints,)
    return keys


def _basic(prefix: str, inp: int, planes: int) -> Shapes:
    keys = {f"{prefix}.conv1.weight": (planes, inp, 3, 3), **_bn(f"{prefix}.bn1", planes),
            f"{prefix}.conv2.weight": (planes, planes, 3, 3), **_bn(f"{prefix}.bn2", planes)}
    if inp != planes:
        keys.update(_conv_bn(f"{prefix}.downsample", planes, inp, 1))
    return keys


def official_hrnet(width: int, joints: int) -> Shapes:
    """hrnet.py (Microsoft pose HRNet names): stem, layer1, transition1..3, stage2..4,
    final_layer."""
    keys: Shapes = {"conv1.weight": (64, 3, 3, 3), **_bn("bn1", 64),
                    "conv2.weight": (64, 64, 3, 3), **_bn("bn2", 64)}
    inp = 64
    for block in range(4):
        k = f"layer1.{block}"
        keys.update({f"{k}.conv1.weight": (64, inp, 1, 1), **_bn(f"{k}.bn1", 64),
                     f"{k}.conv2.weight": (64, 64, 3, 3), **_bn(f"{k}.bn2", 64),
                     f"{k}.conv3.weight": (256, 64, 1, 1), **_bn(f"{k}.bn3", 256)})
        if block == 0:
            keys.update(_conv_bn(f"{k}.downsample", 256, 64, 1))
        inp = 256
    previous = [256]
    for stage, modules in ((2, 1), (3, 4), (4, 3)):
        widths = [width * 2 ** i for i in range(stage)]
        t = f"transition{stage - 1}"
        for i, w in enumerate(widths):
            if i < len(previous) and previous[i] != w:      # width change, stride 1
                keys.update(_conv_bn(f"{t}.{i}", w, previous[i], 3))
            elif i >= len(previous):                        # new branch from the lowest one
                keys.update(_conv_bn(f"{t}.{i}.0", w, previous[-1], 3))
        for m in range(modules):
            s = f"stage{stage}.{m}"
            for b, w in enumerate(widths):
                for block in range(4):
                    keys.update(_basic(f"{s}.branches.{b}.{block}", w, w))
            rows = 1 if (stage == 4 and m == modules - 1) else stage
            for i in range(rows):
                for j in range(stage):
                    f = f"{s}.fuse_layers.{i}.{j}"
                    if j > i:                                # 1x1 conv + BN + upsample
                        keys.update(_conv_bn(f, widths[i], widths[j], 1))
                    for step in range(i - j):               # chain of 3x3 s2 conv + BN (+ReLU)
                        out = widths[i] if step == i - j - 1 else widths[j]
                        keys.update(_conv_bn(f"{f}.{step}", out, widths[j], 3))
        previous = widths
    keys["final_layer.weight"] = (joints, width, 1, 1)
    keys["final_layer.bias"] = (joints,)
    return keys


# The buildable official configs: expected layout, and the key / parameter counts of the
# official checkpoints (None where none is known).
FC = official_fastpose
OFFICIAL: dict[str, tuple] = {
    "coco/resnet/256x192_res50_lr1e-3_1x": (lambda: FC(50, 17, 128, False), 348, 40_577_745),
    "coco/resnet/256x192_res50_lr1e-3_2x": (lambda: FC(50, 17, 128, False), 348, 40_577_745),
    "coco/resnet/256x192_res50_lr1e-3_2x-dcn": (lambda: FC(50, 17, 128, True), 374, 41_158_587),
    "coco/resnet/256x192_res50_lr1e-3_2x-regression": (lambda: FC(50, 17, 128, False), 348,
                                                       40_577_745),
    "coco/resnet/256x192_res50_lr1e-3_1x-duc": (lambda: official_fastpose_duc(50, 17, True), 378,
                                                None),
    "coco/resnet/256x192_res152_lr1e-3_1x-duc": (lambda: official_fastpose_duc(152, 17, False),
                                                 990, None),
    "coco/resnet/256x192_res50_lr1e-3_1x-simple": (lambda: official_simplepose(17), 338, None),
    "coco/resnet/256x192_res50_lr1e-3_1x-concat": (lambda: FC(50, 33, 128, False), 348, None),
    "coco/hrnet/256x192_w32_lr1e-3": (lambda: official_hrnet(32, 17), 1754, 28_536_113),
    "halpe_26/resnet/256x192_res50_lr1e-3_1x": (lambda: FC(50, 26, 128, False), 348, 40_588_122),
    "halpe_26/resnet/256x192_res50_lr1e-3_2x": (lambda: FC(50, 26, 128, False), 348, 40_588_122),
    "halpe_26/resnet/256x192_res50_lr1e-3_2x-regression": (lambda: FC(50, 26, 256, False), 348,
                                                           None),
    "halpe_26/resnet/256x192_res50_lr1e-3_2x-dcn-regression": (lambda: FC(50, 26, 256, True), 374,
                                                               None),
    "halpe_136/resnet/256x192_res50_lr1e-3_2x": (lambda: FC(50, 136, 256, False), 348, 42_052_296),
    "halpe_136/resnet/256x192_res50_lr1e-3_2x-regression": (lambda: FC(50, 136, 256, False), 348,
                                                            42_052_296),
    "halpe_136/resnet/256x192_res50_lr1e-3_2x-dcn-regression": (lambda: FC(50, 136, 256, True),
                                                                374, 42_633_138),
    "halpe_136/resnet/256x192_res50_lr1e-3_2x-dcn-combined": (lambda: FC(50, 136, 256, True), 374,
                                                              42_633_138),
    "halpe_136/resnet/256x192_res152_lr1e-3_1x-duc": (lambda: FC(152, 136, 256, False), 960,
                                                      76_688_072),
    "coco_wholebody/resnet/256x192_res50_lr1e-3_2x-regression": (lambda: FC(50, 133, 128, False),
                                                                 348, 40_711_493),
    "coco_wholebody/resnet/256x192_res50_lr1e-3_2x-dcn-regression": (
        lambda: FC(50, 133, 256, True), 374, None),
    "coco_wholebody/resnet/256x192_res50_lr1e-3_2x-combined": (lambda: FC(50, 133, 256, False),
                                                               348, None),
    "coco_wholebody/resnet/256x192_res50_lr1e-3_2x-dcn-combined": (lambda: FC(50, 133, 256, True),
                                                                   374, None),
    "coco_wholebody/resnet/256x192_res152_lr1e-3_1x-duc": (lambda: FC(152, 133, 256, False), 960,
                                                           76_681_157),
    "halpe_coco_wholebody_136/resnet/256x192_res50_lr1e-3_2x-regression": (
        lambda: FC(50, 136, 128, False), 348, 40_714_952),
    "halpe_coco_wholebody_136/resnet/256x192_res50_lr1e-3_2x-dcn-combined": (
        lambda: FC(50, 136, 256, True), 374, 42_633_138),
    "halpe_68_noface/resnet/256x192_res50_lr1e-3_2x-dcn-combined": (lambda: FC(50, 68, 256, True),
                                                                    374, 42_476_398),
    "single_hand/resnet/256x192_res50_lr1e-3_2x-dcn-regression": (lambda: FC(50, 21, 256, True),
                                                                  374, 42_368_063),
    "dense_coco/resnet50/256x192_adam_lr1e-3-duc-dcn_1x_crop": (
        lambda: official_fastpose_duc_dense(17, 49), None, None),
}
NOT_BUILT = ("coco/hardnet/256x192_hard68_lr1e-3_1x", "coco/hardnet/256x192_hard85_lr1e-3_1x")


def _meta_model(name: str) -> nn.Module:
    """The config's network on the meta device: shapes without memory (built in milliseconds)."""
    with torch.device("meta"):
        return build_model(get_official_config(name).model)


def _parameter_count(shapes: Shapes) -> int:
    return sum(math.prod(shape) for key, shape in shapes.items()
               if not key.endswith(("running_mean", "running_var", "num_batches_tracked")))


# One pool of random numbers; each tensor of a synthetic checkpoint is a slice of one storage at
# its own offset, so a 160 MB network saves as a ~20 MB file and loads in a fraction of a second.
# (test_independent_tensors_file_loads covers the one-storage-per-tensor layout of real files.)
_POOL = torch.randn(10_000_000, generator=torch.Generator().manual_seed(0))


def _random_state(shapes: Shapes) -> dict[str, torch.Tensor]:
    largest = max(math.prod(shape) for shape in shapes.values())
    pool = _POOL[:min(_POOL.numel(), largest + 500_000)].clone()    # the file's one storage
    state = {}
    for index, (key, shape) in enumerate(shapes.items()):
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(index, dtype=torch.int64)
        else:
            size = math.prod(shape)
            start = (index * 7919) % (pool.numel() - size)
            state[key] = pool[start:start + size].view(shape)
    return state


def test_every_buildable_official_config_is_covered() -> None:
    listed = set(list_official_configs())
    assert set(OFFICIAL) | set(NOT_BUILT) | {
        "smpl/256x192_adam_lr1e-3-res34_smpl_24_3d_base_2x_mix"} == listed


@pytest.mark.parametrize("name", list(OFFICIAL), ids=list(OFFICIAL))
def test_official_state_dict_loads_strict(name: str, tmp_path) -> None:
    layout, key_count, param_count = OFFICIAL[name]
    expected = layout()
    if key_count is not None:
        assert len(expected) == key_count          # the documented count, from the layout alone
    if param_count is not None:
        assert _parameter_count(expected) == param_count
    model = _meta_model(name)
    ours = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert ours.keys() == expected.keys()
    assert ours == expected
    assert sum(p.numel() for p in model.parameters()) == _parameter_count(expected)

    state = _random_state(expected)
    path = tmp_path / "official.pth"
    torch.save(state, path)
    loaded = load_model(get_official_config(name), path).state_dict()   # strict
    assert {k: tuple(v.shape) for k, v in loaded.items()} == expected
    keys = list(expected)
    for key in [*keys[::37], keys[-1], "preact.layer3.1.bn2.running_var",
                "stage4.2.fuse_layers.0.3.2.1.running_mean"]:
        if key in expected:
            assert torch.equal(loaded[key], state[key]), key


# Keys and shapes of the official checkpoints, stated literally.
DOCUMENTED = [
    ("coco/resnet/256x192_res50_lr1e-3_1x", "preact.conv1.weight", (64, 3, 7, 7)),
    ("coco/resnet/256x192_res50_lr1e-3_1x", "preact.layer4.0.se.fc.0.weight", (2048, 2048)),
    ("coco/resnet/256x192_res50_lr1e-3_1x", "preact.layer1.0.se.fc.2.bias", (256,)),
    ("coco/resnet/256x192_res50_lr1e-3_1x", "duc1.conv.weight", (1024, 512, 3, 3)),
    ("coco/resnet/256x192_res50_lr1e-3_1x", "duc2.conv.weight", (512, 256, 3, 3)),
    ("coco/resnet/256x192_res50_lr1e-3_1x", "duc1.bn.num_batches_tracked", ()),
    ("coco/resnet/256x192_res50_lr1e-3_1x", "conv_out.weight", (17, 128, 3, 3)),
    ("halpe_136/resnet/256x192_res50_lr1e-3_2x", "duc2.conv.weight", (1024, 256, 3, 3)),
    ("halpe_136/resnet/256x192_res50_lr1e-3_2x", "conv_out.weight", (136, 256, 3, 3)),
    ("halpe_coco_wholebody_136/resnet/256x192_res50_lr1e-3_2x-regression", "conv_out.weight",
     (136, 128, 3, 3)),
    ("coco/resnet/256x192_res50_lr1e-3_2x-dcn", "preact.layer2.0.conv2_offset.weight",
     (18, 128, 3, 3)),
    ("coco/resnet/256x192_res50_lr1e-3_2x-dcn", "preact.layer4.2.conv2_offset.bias", (18,)),
    ("coco/resnet/256x192_res50_lr1e-3_2x-dcn", "preact.layer2.0.conv2.weight", (128, 128, 3, 3)),
    ("coco/resnet/256x192_res50_lr1e-3_1x-duc", "preact.layer2.0.conv2.1.weight", (128, 512, 3, 3)),
    ("coco/resnet/256x192_res50_lr1e-3_1x-duc", "duc1.1.weight", (512, 512, 3, 3)),
    ("coco/resnet/256x192_res50_lr1e-3_1x-duc", "duc1.10.weight", (1024, 512, 3, 3)),
    ("coco/resnet/256x192_res50_lr1e-3_1x-duc", "duc2.4.weight", (512, 256, 3, 3)),
    ("coco/resnet/256x192_res50_lr1e-3_1x-duc", "duc3.1.weight", (256, 128, 3, 3)),
    ("coco/resnet/256x192_res152_lr1e-3_1x-duc", "preact.layer2.4.conv1.weight", (128, 512, 1, 1)),
    ("coco/resnet/256x192_res152_lr1e-3_1x-duc", "duc3.2.running_var", (256,)),
    ("coco/resnet/256x192_res50_lr1e-3_1x-simple", "deconv_layers.0.weight", (2048, 256, 4, 4)),
    ("coco/resnet/256x192_res50_lr1e-3_1x-simple", "final_layer.weight", (17, 256, 1, 1)),
    ("coco/hrnet/256x192_w32_lr1e-3", "final_layer.weight", (17, 32, 1, 1)),
]


@pytest.mark.parametrize("name,key,shape", DOCUMENTED,
                         ids=[f"{n.split('/')[-1]}:{k}" for n, k, _ in DOCUMENTED])
def test_documented_keys(name: str, key: str, shape: tuple[int, ...]) -> None:
    state = _meta_model(name).state_dict()
    assert tuple(state[key].shape) == shape


@pytest.mark.parametrize("name,key", [
    ("coco/resnet/256x192_res50_lr1e-3_2x-dcn", "preact.layer1.0.conv2_offset.weight"),
    ("coco/resnet/256x192_res50_lr1e-3_1x", "preact.layer1.1.se.fc.0.weight"),
    ("coco/resnet/256x192_res50_lr1e-3_1x-simple", "preact.layer1.0.se.fc.0.weight"),
    ("coco/resnet/256x192_res50_lr1e-3_1x", "suffle1.weight"),
], ids=["no-dcn-in-stage1", "se-only-in-block0", "simplepose-has-no-se", "shuffle-has-no-params"])
def test_documented_absent_keys(name: str, key: str) -> None:
    assert key not in _meta_model(name).state_dict()


def test_independent_tensors_file_loads(tmp_path) -> None:
    """A checkpoint written like the official one (``torch.save`` of a state dict, one storage
    per tensor), loaded by file into a freshly initialised FastPose."""
    torch.manual_seed(1)
    shapes = official_fastpose(50, 26, 128, dcn=False)
    state = {k: (torch.randn(s) if s else torch.tensor(7)) for k, s in shapes.items()}
    path = tmp_path / "halpe26_fast_res50_256x192.pth"
    torch.save(state, path)
    model = build_model(get_official_config("halpe_26/resnet/256x192_res50_lr1e-3_1x").model)
    load_checkpoint(model, path)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


# ------------------------------------------------------------------------------------------------
# Deformable convolution against a loop implementation of the official CUDA kernel's rules
# ------------------------------------------------------------------------------------------------


def reference_deform_conv(x, offset, weight, stride, padding, dilation, mask=None) -> np.ndarray:
    """Slow loop: per output pixel, per input channel, per tap, bilinear sample with the official
    rules (skip unless -1 < pos < size; corners outside the image are zero)."""
    x, offset, weight = (np.asarray(t, np.float64) for t in (x, offset, weight))
    mask = None if mask is None else np.asarray(mask, np.float64)
    b_n, c_n, h, w = x.shape
    o_n, _, kh, kw = weight.shape
    taps = kh * kw
    groups = offset.shape[1] // (2 * taps)
    ho_n, wo_n = offset.shape[2:]
    out = np.zeros((b_n, o_n, ho_n, wo_n))

    def sample(img, y, xx):
        if not (-1 < y < h and -1 < xx < w):
            return 0.0
        y0, x0 = math.floor(y), math.floor(xx)
        total = 0.0
        for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
            for xc, wx in ((x0, 1 - (xx - x0)), (x0 + 1, xx - x0)):
                if 0 <= yy < h and 0 <= xc < w:
                    total += wy * wx * img[yy, xc]
        return total

    for b in range(b_n):
        for ho in range(ho_n):
            for wo in range(wo_n):
                column = np.zeros((c_n, taps))
                for c in range(c_n):
                    g = c // (c_n // groups)
                    for i in range(kh):
                        for j in range(kw):
                            k = i * kw + j
                            dy = offset[b, 2 * (g * taps + k), ho, wo]
                            dx = offset[b, 2 * (g * taps + k) + 1, ho, wo]
                            y = ho * stride - padding + i * dilation + dy
                            xx = wo * stride - padding + j * dilation + dx
                            value = sample(x[b, c], y, xx)
                            if mask is not None:
                                value *= mask[b, g * taps + k, ho, wo]
                            column[c, k] = value
                out[b, :, ho, wo] = weight.reshape(o_n, -1) @ column.reshape(-1)
    return out


DCN_CASES = [
    # (B, C, H, W, O, stride, padding, dilation, groups, modulated)
    (2, 4, 6, 5, 3, 1, 1, 1, 1, False),
    (1, 4, 7, 6, 2, 2, 1, 1, 1, False),
    (1, 4, 6, 6, 3, 1, 1, 1, 2, False),
    (2, 3, 5, 7, 2, 1, 1, 1, 1, True),
    (1, 4, 8, 5, 2, 2, 2, 2, 2, True),
]


@pytest.mark.parametrize("case", DCN_CASES,
                         ids=["v1", "stride2", "groups2", "modulated", "stride2-dil2-g2-mod"])
def test_deform_conv_matches_reference_loop(case) -> None:
    b, c, h, w, o, stride, padding, dilation, groups, modulated = case
    gen = torch.Generator().manual_seed(sum(case[:5]))
    ho = (h + 2 * padding - 2 * dilation - 1) // stride + 1
    wo = (w + 2 * padding - 2 * dilation - 1) // stride + 1
    x = torch.randn(b, c, h, w, generator=gen)
    weight = torch.randn(o, c, 3, 3, generator=gen)
    offset = torch.rand(b, 2 * groups * 9, ho, wo, generator=gen) * 6 - 3   # far out of the image
    offset[0, 0, 0, 0] = -1.0            # exact integer positions, on and beyond the borders
    offset[0, 1, 0, 0] = 0.0
    offset[-1, 3, -1, -1] = float(w)
    mask = torch.rand(b, groups * 9, ho, wo, generator=gen) if modulated else None
    ours = deform_conv2d(x, offset, weight, stride=(stride, stride), padding=(padding, padding),
                         dilation=(dilation, dilation), mask=mask)
    reference = reference_deform_conv(x, offset, weight, stride, padding, dilation, mask)
    assert ours.shape == (b, o, ho, wo)
    assert np.abs(ours.numpy() - reference).max() <= 1e-5


def test_deform_conv_zero_offset_is_conv2d() -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 6, 9, 7, generator=gen)
    weight = torch.randn(4, 6, 3, 3, generator=gen)
    bias = torch.randn(4, generator=gen)
    offset = torch.zeros(2, 18, 5, 4)
    ours = deform_conv2d(x, offset, weight, bias, stride=(2, 2), padding=(1, 1))
    torch.testing.assert_close(ours, F.conv2d(x, weight, bias, stride=2, padding=1))


def test_deform_conv_gradcheck() -> None:
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(1, 2, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(2, 2, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    # fractional offsets away from integers, where bilinear sampling is differentiable
    offset = torch.rand(1, 18, 3, 3, generator=gen, dtype=torch.float64) * 0.8 + 0.1
    offset.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a, o, k: deform_conv2d(a, o, k, padding=(1, 1)), (x, offset, weight),
        fast_mode=True)


def test_deform_conv_rejects_bad_offset() -> None:
    with pytest.raises(ValueError, match="offset must be"):
        deform_conv2d(torch.zeros(1, 4, 5, 5), torch.zeros(1, 17, 5, 5), torch.zeros(2, 4, 3, 3),
                      padding=(1, 1))


def test_dcn_block_with_zero_offsets_equals_plain_block() -> None:
    """Wiring check: FastPose-DCN with zeroed offset convs computes what plain FastPose does."""
    torch.manual_seed(5)
    plain = FastPose(5, depth=50, input_size=(64, 32)).eval()
    dcn = FastPose(5, depth=50, dcn=DCNConfig(), input_size=(64, 32)).eval()
    state = {k: v for k, v in dcn.state_dict().items() if "conv2_offset" in k}
    state = {k: torch.zeros_like(v) for k, v in state.items()}
    state.update(plain.state_dict())
    dcn.load_state_dict(state)
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        torch.testing.assert_close(dcn(x), plain(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backbone,dcn,present,absent", [
    ("resnet", DCNConfig(), ["preact.layer2.0.conv2_offset.weight"],
     ["preact.layer2.1.conv2_offset.weight", "preact.layer2.0.se.fc.0.weight"]),
    ("shuffle", DCNConfig(), ["preact.layer2.0.conv2.1.conv_offset.weight",
                              "preact.layer2.0.conv2.1.conv.weight",
                              "preact.layer3.1.conv2.conv_offset.bias",
                              "preact.layer2.0.se.fc.0.weight"],
     ["preact.layer1.0.conv2.conv_offset.weight", "preact.layer2.0.conv2_offset.weight"]),
    ("se-resnet", DCNConfig(modulated=True), ["preact.layer4.2.conv2_offset.weight"], []),
    ("se-resnet", DCNConfig(fallback_on_stride=True), ["preact.layer2.1.conv2.weight"],
     ["preact.layer2.1.conv2_offset.weight"]),
], ids=["resnet-first-block-only", "shuffle-wrapper-names", "modulated", "fallback"])
def test_backbone_dcn_variants(backbone, dcn, present, absent) -> None:
    """layers/Resnet.py, layers/ShuffleResnet.py quirks: plain ResNet puts DCN only in each stage's
    first block; ShuffleResNet names it conv2(.1).conv_offset / .conv; DCN v2 has 27 offset
    channels; fallback = no DCN."""
    with torch.device("meta"):
        state = FastPoseDUC(17, backbone=backbone, dcn=dcn).state_dict()
    assert all(key in state for key in present), [k for k in present if k not in state]
    assert not any(key in state for key in absent)
    if dcn.modulated:
        assert state["preact.layer4.2.conv2_offset.weight"].shape == (27, 512, 3, 3)


def test_deform_conv_module_naming() -> None:
    conv = DeformConv2d(4, 8, 3, 2, 1)
    assert list(conv.state_dict()) == ["weight"]
    assert conv(torch.zeros(1, 4, 6, 6), torch.zeros(1, 18, 3, 3)).shape == (1, 8, 3, 3)


# ------------------------------------------------------------------------------------------------
# Forward shapes and the model contract
# ------------------------------------------------------------------------------------------------

SMALL = [
    ("FastPose-R18", lambda: FastPose(7, depth=18, input_size=(64, 32)), 7),
    ("FastPose-R50-DCN-v2", lambda: FastPose(7, depth=50, conv_dim=256, input_size=(32, 64),
                                             dcn=DCNConfig(modulated=True, deform_group=2)), 7),
    ("FastPoseDUC-shuffle-R50", lambda: FastPoseDUC(6, backbone="shuffle", input_size=(64, 32)), 6),
    ("FastPoseDUC-shuffle-R50-DCN", lambda: FastPoseDUC(6, backbone="shuffle", dcn=DCNConfig(),
                                                        input_size=(32, 32)), 6),
    ("FastPoseDUC-resnet-R18", lambda: FastPoseDUC(5, depth=18, backbone="resnet",
                                                   input_size=(32, 64)), 5),
    ("FastPoseDUCDense", lambda: FastPoseDUCDense(4, 9, depth=18, input_size=(32, 32)), 9),
    ("SimplePose-R18", lambda: SimplePose(5, depth=18, input_size=(64, 32)), 5),
    ("HRNet-W32", lambda: HRNet(4, stages=hrnet_stages(32), input_size=(32, 32)), 4),
    ("HRNet-W18-k3", lambda: HRNet(3, stages=hrnet_stages(18), final_conv_kernel=3,
                                   input_size=(32, 64)), 3),
]


@pytest.mark.parametrize("make,joints", [(m, j) for _, m, j in SMALL], ids=[n for n, _, _ in SMALL])
def test_forward_shape_small(make, joints: int) -> None:
    torch.manual_seed(0)
    model = make().eval()
    h, w = model.input_size
    assert model.num_keypoints == joints
    assert model.output_size == (h // 4, w // 4)
    with torch.no_grad():
        out = model(torch.randn(2, 3, h, w))
    assert out.shape == (2, joints, h // 4, w // 4)
    assert torch.isfinite(out).all()


def test_hrnet_w48_layout() -> None:
    with torch.device("meta"):
        model = build_model(ModelConfig("PoseHighResolutionNet", 17,
                                        hrnet_stages=hrnet_stages(48)))
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == official_hrnet(48, 17)


def test_fastpose_res50_forward_256x192() -> None:
    torch.manual_seed(0)
    model = build_model(get_official_config("coco/resnet/256x192_res50_lr1e-3_1x").model).eval()
    assert (model.num_keypoints, model.input_size, model.output_size) == (17, (256, 192), (64, 48))
    with torch.no_grad():
        out = model(torch.randn(1, 3, 256, 192))
    assert out.shape == (1, 17, 64, 48)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", list(OFFICIAL), ids=list(OFFICIAL))
def test_model_contract(name: str) -> None:
    cfg = get_official_config(name).model
    model = _meta_model(name)
    expected_k = cfg.num_joints_dense or cfg.num_joints
    assert (model.num_keypoints, model.input_size, model.output_size) == (
        expected_k, (256, 192), (64, 48))


@pytest.mark.parametrize("name", ["coco/hrnet/256x192_w32_lr1e-3",
                                  "coco/resnet/256x192_res50_lr1e-3_1x-duc"],
                         ids=["hrnet-w32", "duc-shuffle-r50"])
def test_official_size_output_shape(name: str) -> None:
    """Shape propagation at 256x192 on the meta device (no arithmetic)."""
    with torch.no_grad():
        out = _meta_model(name)(torch.empty(2, 3, 256, 192, device="meta"))
    assert out.shape == (2, 17, 64, 48)


# ------------------------------------------------------------------------------------------------
# Registry
# ------------------------------------------------------------------------------------------------


def test_registry_lists_official_types() -> None:
    assert list_models() == ("FastPose", "FastPose_DUC", "FastPose_DUC_Dense", "SimplePose",
                             "PoseHighResolutionNet")


def test_registry_miss_lists_valid_names() -> None:
    with pytest.raises(ValueError) as info:
        build_model(ModelConfig("FastPos_DUC", 17))
    message = str(info.value)
    assert "unknown model type 'FastPos_DUC'" in message
    assert all(name in message for name in MODEL_BUILDERS)
    assert "Did you mean 'FastPose_DUC'?" in message


@pytest.mark.parametrize("name", NOT_BUILT, ids=["hard68", "hard85"])
def test_official_but_unbuilt_type(name: str) -> None:
    with pytest.raises(ValueError, match="HarDNetPose.*no published weights"):
        build_model(get_official_config(name).model)


def test_registry_duplicate_and_type_errors() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_model("FastPose", lambda cfg: nn.Identity())
    with pytest.raises(TypeError, match="expected a ModelConfig"):
        build_model({"TYPE": "FastPose"})  # type: ignore[arg-type]


def test_input_size_must_be_multiple_of_32() -> None:
    with pytest.raises(ValueError, match="multiples of 32"):
        FastPose(17, input_size=(250, 192))


def test_basic_blocks_refuse_dcn() -> None:
    with pytest.raises(ValueError, match="bottleneck"):
        FastPose(17, depth=18, dcn=DCNConfig())


# ------------------------------------------------------------------------------------------------
# Checkpoints: remapping, refusal, mismatch messages, config matching
# ------------------------------------------------------------------------------------------------

COCO = "coco/resnet/256x192_res50_lr1e-3_1x"
COCO_DCN = "coco/resnet/256x192_res50_lr1e-3_2x-dcn"
H136 = "halpe_136/resnet/256x192_res50_lr1e-3_2x"


def test_remap_strips_data_parallel_prefix_and_wrapper() -> None:
    a, b = torch.ones(2), torch.zeros(3)
    assert remap_state_dict({"module.conv_out.bias": a, "module.x": b}) == {"conv_out.bias": a,
                                                                           "x": b}
    wrapped = {"epoch": 3, "state_dict": {"module.conv_out.bias": a}}
    assert remap_state_dict(wrapped) == {"conv_out.bias": a}
    partial = {"module.a": a, "b": b}                # not every key prefixed: left alone
    assert remap_state_dict(partial) == partial


def test_remap_rejects_non_tensors() -> None:
    with pytest.raises(ValueError, match="expected \\{name: tensor\\}.*'cfg'"):
        remap_state_dict({"conv_out.bias": torch.ones(1), "cfg": {"MODEL": 1}})
    with pytest.raises(TypeError, match="mapping"):
        remap_state_dict([torch.ones(1)])  # type: ignore[arg-type]


def test_data_parallel_checkpoint_loads(tmp_path) -> None:
    model = _meta_model(COCO)
    state = _random_state(official_fastpose(50, 17, 128, False))
    path = tmp_path / "dp.pth"
    torch.save({f"module.{k}": v for k, v in state.items()}, path)
    assert load_checkpoint(model, path, assign=True).ok
    assert torch.equal(model.conv_out.weight, state["conv_out.weight"])


def test_missing_num_batches_tracked_is_filled() -> None:
    model = _meta_model(COCO)
    state = {k: v for k, v in _random_state(official_fastpose(50, 17, 128, False)).items()
             if not k.endswith("num_batches_tracked")}
    assert load_checkpoint(model, state, assign=True).ok
    assert int(model.duc1.bn.num_batches_tracked) == 0


def test_weights_only_refusal(tmp_path) -> None:
    path = tmp_path / "whole_model.pth"
    torch.save(nn.Linear(2, 2), path)       # a pickled module, not a state dict
    with pytest.raises(ValueError) as info:
        load_checkpoint(FastPose(17, depth=18, input_size=(32, 32)), path)
    message = str(info.value)
    assert "refused" in message and "torch.nn.modules.linear.Linear" in message
    assert "weights_only=True" in message and "arbitrary code" in message


def test_not_a_checkpoint(tmp_path) -> None:
    path = tmp_path / "notes.pth"
    path.write_text("hello")
    with pytest.raises(ValueError, match="not a readable PyTorch checkpoint"):
        read_state_dict(path)
    with pytest.raises(FileNotFoundError):
        read_state_dict(tmp_path / "absent.pth")


def test_mismatch_unexpected_keys_name_the_fitting_config() -> None:
    """A DCN checkpoint into a plain FastPose: 26 unexpected offset convs; names the DCN config."""
    state = _random_state(official_fastpose(50, 17, 128, dcn=True))
    with pytest.raises(ValueError) as info:
        load_checkpoint(_meta_model(COCO), state)
    message = str(info.value)
    assert "0 missing, 26 unexpected, 0 wrong-shape" in message
    assert "unexpected (26): preact.layer2.0.conv2_offset.weight" in message
    assert "(+20 more)" in message
    assert f"official config '{COCO_DCN}' exactly (374 keys)" in message


def test_mismatch_wrong_shapes_name_the_fitting_configs() -> None:
    """A Halpe-136 CONV_DIM-256 checkpoint into the COCO model: head shapes differ."""
    state = _random_state(official_fastpose(50, 136, 256, dcn=False))
    with pytest.raises(ValueError) as info:
        load_checkpoint(_meta_model(COCO), state)
    message = str(info.value)
    assert "0 missing, 0 unexpected, 7 wrong-shape" in message     # duc2 conv + 4 BN, conv_out
    assert "duc2.conv.weight: checkpoint (1024, 256, 3, 3) vs model (512, 256, 3, 3)" in message
    assert "(+3 more)" in message
    assert (f"'{H136}', 'halpe_136/resnet/256x192_res50_lr1e-3_2x-regression' exactly"
            in message)


def test_mismatch_missing_keys_and_closest_config() -> None:
    state = _random_state(official_fastpose(50, 17, 128, dcn=False))
    for key in [k for k in state if k.startswith("preact.layer4.2.")]:
        del state[key]
    with pytest.raises(ValueError) as info:
        load_checkpoint(_meta_model(COCO), state)
    message = str(info.value)
    # 3 convs + 3 x 4 BN tensors; the 3 BN counters are filled, not reported
    assert "missing (15): preact.layer4.2.conv1.weight" in message
    assert "(+9 more)" in message
    assert "Closest official config:" in message and f"'{COCO}'" in message
    assert "(333 of 333 checkpoint keys agree" in message


def test_non_strict_load_reports_and_loads_the_rest() -> None:
    state = _random_state(official_fastpose(50, 136, 256, dcn=False))
    model = _meta_model(COCO)
    report = load_checkpoint(model, state, strict=False, assign=True)
    assert not report.ok and len(report.wrong_shape) == 7
    assert torch.equal(model.duc1.conv.weight, state["duc1.conv.weight"])
    assert model.duc2.conv.weight.is_meta                 # wrong shape: left as it was


def test_match_official_configs_ranks_exact_first() -> None:
    state = _random_state(official_hrnet(32, 17))
    best = match_official_configs(state, top=2)
    assert best[0].names == ("coco/hrnet/256x192_w32_lr1e-3",) and best[0].exact
    assert best[1].score < 0.5


def test_load_model_from_config(tmp_path) -> None:
    state = _random_state(official_simplepose(17))
    path = tmp_path / "simple_res50_256x192.pth"
    torch.save(state, path)
    model = load_model(get_official_config("coco/resnet/256x192_res50_lr1e-3_1x-simple"), path)
    assert isinstance(model, SimplePose) and not model.training
    assert torch.equal(model.final_layer.weight, state["final_layer.weight"])
