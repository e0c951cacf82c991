"""Config dataclasses and the official-YAML reader, checked against the official
``configs/**/*.yaml``."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from alphapose.config import (
    DCNConfig,
    HRNetStage,
    LossConfig,
    ModelConfig,
    PoseConfig,
    get_official_config,
    hrnet_stages,
    list_official_configs,
    official_config_path,
    read_official_config,
)

# configs/**/*.yaml, one row per config: MODEL.TYPE, NUM_LAYERS, CONV_DIM, DCN, NUM_JOINTS,
# LOSS.TYPE, DATASET.TRAIN.TYPE. (HRNet's depth is not used; HarDNet's NUM_LAYERS is its own depth.)
R = "resnet/256x192_res"
TABLE = {
    f"coco/{R}50_lr1e-3_1x": ("FastPose", 50, 128, False, 17, "MSELoss", "Mscoco"),
    f"coco/{R}50_lr1e-3_2x": ("FastPose", 50, 128, False, 17, "MSELoss", "Mscoco"),
    f"coco/{R}50_lr1e-3_2x-dcn": ("FastPose", 50, 128, True, 17, "MSELoss", "Mscoco"),
    f"coco/{R}50_lr1e-3_2x-regression": ("FastPose", 50, 128, False, 17, "L1JointRegression",
                                         "Mscoco"),
    f"coco/{R}50_lr1e-3_1x-duc": ("FastPose_DUC", 50, None, False, 17, "MSELoss", "Mscoco"),
    f"coco/{R}152_lr1e-3_1x-duc": ("FastPose_DUC", 152, None, False, 17, "MSELoss", "Mscoco"),
    f"coco/{R}50_lr1e-3_1x-simple": ("SimplePose", 50, None, False, 17, "MSELoss", "Mscoco"),
    f"coco/{R}50_lr1e-3_1x-concat": ("FastPose", 50, 128, False, 33, "MSELoss", "ConcatDataset"),
    "coco/hrnet/256x192_w32_lr1e-3": ("PoseHighResolutionNet", None, None, False, 17, "MSELoss",
                                      "Mscoco"),
    "coco/hardnet/256x192_hard68_lr1e-3_1x": ("HarDNetPose", 68, None, False, 17, "MSELoss",
                                              "Mscoco"),
    "coco/hardnet/256x192_hard85_lr1e-3_1x": ("HarDNetPose", 85, None, False, 17, "MSELoss",
                                              "Mscoco"),
    f"halpe_26/{R}50_lr1e-3_1x": ("FastPose", 50, 128, False, 26, "MSELoss", "Halpe_26"),
    f"halpe_26/{R}50_lr1e-3_2x": ("FastPose", 50, 128, False, 26, "MSELoss", "Halpe_26"),
    f"halpe_26/{R}50_lr1e-3_2x-regression": ("FastPose", 50, 256, False, 26, "L1JointRegression",
                                             "Halpe_26"),
    f"halpe_26/{R}50_lr1e-3_2x-dcn-regression": ("FastPose", 50, 256, True, 26,
                                                 "L1JointRegression", "Halpe_26"),
    f"halpe_136/{R}50_lr1e-3_2x": ("FastPose", 50, 256, False, 136, "MSELoss", "Halpe_136"),
    f"halpe_136/{R}50_lr1e-3_2x-regression": ("FastPose", 50, 256, False, 136,
                                              "L1JointRegression", "Halpe_136"),
    f"halpe_136/{R}50_lr1e-3_2x-dcn-regression": ("FastPose", 50, 256, True, 136,
                                                  "L1JointRegression", "Halpe_136"),
    f"halpe_136/{R}50_lr1e-3_2x-dcn-combined": ("FastPose", 50, 256, True, 136, "Combined",
                                                "Halpe_136"),
    f"halpe_136/{R}152_lr1e-3_1x-duc": ("FastPose", 152, 256, False, 136, "L1JointRegression",
                                        "Halpe_136"),
    f"coco_wholebody/{R}50_lr1e-3_2x-regression": ("FastPose", 50, 128, False, 133,
                                                   "L1JointRegression", "coco_wholebody"),
    f"coco_wholebody/{R}50_lr1e-3_2x-dcn-regression": ("FastPose", 50, 256, True, 133,
                                                       "L1JointRegression", "coco_wholebody"),
    f"coco_wholebody/{R}50_lr1e-3_2x-combined": ("FastPose", 50, 256, False, 133, "Combined",
                                                 "coco_wholebody"),
    f"coco_wholebody/{R}50_lr1e-3_2x-dcn-combined": ("FastPose", 50, 256, True, 133, "Combined",
                                                     "coco_wholebody"),
    f"coco_wholebody/{R}152_lr1e-3_1x-duc": ("FastPose", 152, 256, False, 133,
                                             "L1JointRegression", "coco_wholebody"),
    f"halpe_coco_wholebody_136/{R}50_lr1e-3_2x-regression": (
        "FastPose", 50, 128, False, 136, "L1JointRegression", "Halpe_coco_wholebody_136"),
    f"halpe_coco_wholebody_136/{R}50_lr1e-3_2x-dcn-combined": (
        "FastPose", 50, 256, True, 136, "Combined", "Halpe_coco_wholebody_136"),
    f"halpe_68_noface/{R}50_lr1e-3_2x-dcn-combined": ("FastPose", 50, 256, True, 68, "Combined",
                                                      "Halpe_68_noface"),
    f"single_hand/{R}50_lr1e-3_2x-dcn-regression": ("FastPose", 50, 256, True, 21,
                                                    "L1JointRegression", "SingleHand"),
    "dense_coco/resnet50/256x192_adam_lr1e-3-duc-dcn_1x_crop": ("FastPose_DUC_Dense", 50, None,
                                                                True, 17, "MSELoss", "densecoco"),
}
SMPL = "smpl/256x192_adam_lr1e-3-res34_smpl_24_3d_base_2x_mix"


def test_packaged_configs_are_exactly_the_documented_ones() -> None:
    assert set(list_official_configs()) == set(TABLE) | {SMPL}
    assert len(list_official_configs()) == 31


@pytest.mark.parametrize("name", list(TABLE), ids=list(TABLE))
def test_official_config_values(name: str) -> None:
    model_type, layers, conv_dim, dcn, joints, loss, train = TABLE[name]
    cfg = get_official_config(name)
    assert cfg.name == name
    assert cfg.model.type == model_type
    if layers is not None:
        assert cfg.model.num_layers == layers
    if conv_dim is not None:
        assert cfg.model.conv_dim == conv_dim
    if dcn:
        assert cfg.model.dcn == DCNConfig(modulated=False, deform_group=1, fallback_on_stride=False)
        assert cfg.model.stage_with_dcn == (False, True, True, True)
    else:
        assert cfg.model.dcn is None
    assert cfg.model.num_joints == cfg.preset.num_joints == joints
    assert cfg.model.input_size == cfg.preset.image_size == (256, 192)       # shared by all configs
    assert cfg.preset.heatmap_size == cfg.model.output_size == (64, 48)
    assert cfg.preset.sigma == 2.0 and cfg.preset.type == "simple"
    assert cfg.loss.type == loss
    assert cfg.train_dataset == train
    if loss == "MSELoss":
        assert cfg.loss.norm_type is None and cfg.preset.loss_type is None
    else:
        assert cfg.loss.norm_type == "sigmoid" and cfg.preset.loss_type == loss
    if loss == "Combined":
        assert cfg.loss.loss_1 == LossConfig("MSELoss")
        assert cfg.loss.loss_2 == LossConfig("L1JointRegression", norm_type="sigmoid")
    assert cfg.ignored["TRAIN"]["OPTIMIZER"] == "adam"


@pytest.mark.parametrize("name,backbone", [(f"coco/{R}50_lr1e-3_1x-duc", "shuffle"),
                                           (f"coco/{R}152_lr1e-3_1x-duc", "se-resnet")],
                         ids=["shuffle", "se-resnet"])
def test_duc_configs(name: str, backbone: str) -> None:
    model = get_official_config(name).model
    assert model.backbone == backbone
    assert model.duc_num_conv == (4, 2, 1)


def test_dense_config() -> None:
    cfg = get_official_config("dense_coco/resnet50/256x192_adam_lr1e-3-duc-dcn_1x_crop")
    assert (cfg.model.num_joints, cfg.model.num_joints_dense) == (17, 49)
    assert cfg.layout is None


def test_hrnet_config_stages() -> None:
    model = get_official_config("coco/hrnet/256x192_w32_lr1e-3").model
    assert model.final_conv_kernel == 1
    stage2, stage3, stage4 = model.hrnet_stages
    assert stage2 == HRNetStage(1, 2, (4, 4), (32, 64))
    assert stage3 == HRNetStage(4, 3, (4, 4, 4), (32, 64, 128))
    assert stage4 == HRNetStage(3, 4, (4, 4, 4, 4), (32, 64, 128, 256), "BASIC", "SUM")
    assert model.hrnet_stages == hrnet_stages(32)


def test_single_hand_preset_norm_type_and_schedules() -> None:
    cfg = get_official_config(f"single_hand/{R}50_lr1e-3_2x-dcn-regression")
    assert cfg.preset.norm_type == "sigmoid"
    assert cfg.ignored["TRAIN"]["END_EPOCH"] == 100
    noface = get_official_config(f"halpe_68_noface/{R}50_lr1e-3_2x-dcn-combined")
    assert noface.ignored["TRAIN"]["LR"] == pytest.approx(1e-4)
    assert noface.ignored["TRAIN"]["BATCH_SIZE"] == 52


@pytest.mark.parametrize("name,layout", [
    (f"coco/{R}50_lr1e-3_1x", "coco17"), (f"halpe_26/{R}50_lr1e-3_1x", "halpe26"),
    (f"halpe_136/{R}50_lr1e-3_2x", "halpe136"),
    (f"halpe_coco_wholebody_136/{R}50_lr1e-3_2x-regression", "halpe136"),
    (f"coco_wholebody/{R}50_lr1e-3_2x-regression", "coco_wholebody133"),
    (f"coco/{R}50_lr1e-3_1x-concat", None), (f"single_hand/{R}50_lr1e-3_2x-dcn-regression", None),
], ids=["coco", "halpe26", "halpe136", "multi-domain", "wholebody", "concat33", "hand21"])
def test_layout(name: str, layout: str | None) -> None:
    assert get_official_config(name).layout == layout


@pytest.mark.parametrize("name", list(TABLE), ids=list(TABLE))
def test_round_trip(name: str) -> None:
    cfg = get_official_config(name)
    again = read_official_config(yaml.safe_load(yaml.safe_dump(cfg.to_official_dict())),
                                 name=name)
    assert again == cfg
    assert again.ignored == cfg.ignored


def test_smpl_config_refused() -> None:
    with pytest.raises(ValueError, match="Simple3DPoseBaseSMPLCam.*3D.*2D pose configs only"):
        get_official_config(SMPL)


def _minimal(**sections) -> dict:
    base = {"MODEL": {"TYPE": "FastPose", "NUM_LAYERS": 50}, "DATA_PRESET": {"NUM_JOINTS": 17}}
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value}
    return base


def test_defaults_of_a_minimal_config() -> None:
    cfg = read_official_config(_minimal())
    assert cfg.model == ModelConfig("FastPose", 17)
    assert cfg.model.conv_dim == 128 and cfg.model.dcn is None
    assert cfg.preset.image_size == (256, 192) and cfg.preset.heatmap_size == (64, 48)
    assert cfg.loss == LossConfig("MSELoss")
    assert cfg.name == "" and cfg.train_dataset == "" and dict(cfg.ignored) == {}


@pytest.mark.parametrize("data,expected", [
    ({"MODLE": {}}, r"unknown key MODLE \(did you mean 'MODEL'\?\)"),
    (_minimal(MODEL={"CONV_DIMS": 256}), r"unknown key MODEL\.CONV_DIMS \(did you mean 'CONV_DIM'"),
    (_minimal(MODEL={"conv_dim": 256}), r"unknown key MODEL\.conv_dim \(did you mean 'CONV_DIM'"),
    (_minimal(DATA_PRESET={"NUM_JOINT": 17}),
     r"DATA_PRESET\.NUM_JOINT \(did you mean 'NUM_JOINTS'"),
    (_minimal(LOSS={"NORMTYPE": "sigmoid"}), r"LOSS\.NORMTYPE \(did you mean 'NORM_TYPE'"),
    (_minimal(MODEL={"DCN": {"MODULATE": True}}),
     r"MODEL\.DCN\.MODULATE \(did you mean 'MODULATED'"),
    (_minimal(MODEL={"STAGE1": {"NUM_CONVS": 4}, "STAGE2": {"NUM_CONV": 2},
                     "STAGE3": {"NUM_CONV": 1}}), r"MODEL\.STAGE1\.NUM_CONVS"),
    (_minimal(LOSS={"TYPE": "Combined", "NORM_TYPE": "sigmoid", "LOSS_1": {"TPYE": "MSELoss"}}),
     r"LOSS\.LOSS_1\.TPYE \(did you mean 'TYPE'"),
], ids=["top-level", "model", "model-case", "preset", "loss", "dcn", "duc-stage", "loss-part"])
def test_unknown_keys_suggest_close_matches(data: dict, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        read_official_config(data)


@pytest.mark.parametrize("data,expected", [
    ({"DATA_PRESET": {"NUM_JOINTS": 17}}, r"MODEL\.TYPE is required"),
    ({"MODEL": {"TYPE": "FastPose"}}, r"DATA_PRESET\.NUM_JOINTS is required"),
    (_minimal(DATA_PRESET={"NUM_JOINTS": "17"}),
     r"DATA_PRESET\.NUM_JOINTS: expected int, got '17'"),
    (_minimal(DATA_PRESET={"NUM_JOINTS": True}), r"NUM_JOINTS: expected int, got True"),
    (_minimal(DATA_PRESET={"IMAGE_SIZE": [256]}), r"IMAGE_SIZE: expected 2 ints"),
    (_minimal(DATA_PRESET={"HEATMAP_SIZE": [32, 24]}), r"HEATMAP_SIZE \[32, 24\] must be"),
    (_minimal(DATA_PRESET={"IMAGE_SIZE": [250, 192], "HEATMAP_SIZE": [62, 48]}),
     r"multiples of 32"),
    (_minimal(MODEL={"NUM_LAYERS": 51}), r"num_layers.*ResNet backbone.*got 51"),
    (_minimal(MODEL={"STAGE_WITH_DCN": [0, 1, 1, 1]}), r"STAGE_WITH_DCN: expected a list of 4"),
    (_minimal(MODEL={"BACKBONE": "se_resnet"}), r"BACKBONE.*did you mean 'se-resnet'"),
    (_minimal(LOSS={"TYPE": "L1JointRegresion"}), r"did you mean 'L1JointRegression'"),
    (_minimal(LOSS={"TYPE": "L1JointRegression"}), r"LOSS\.NORM_TYPE is required"),
    (_minimal(LOSS={"TYPE": "MSELoss", "LOSS_1": {"TYPE": "MSELoss"}}), r"only valid when TYPE"),
    (_minimal(MODEL={"STAGE1": {"NUM_CONV": 4}}), r"STAGE1, STAGE2 and STAGE3"),
    ({"MODEL": {"TYPE": "PoseHighResolutionNet", "STAGE2": {}}, "DATA_PRESET": {"NUM_JOINTS": 17}},
     r"needs MODEL\.STAGE2, STAGE3 and STAGE4"),
    (["MODEL"], r"expected a path or a mapping"),
], ids=["no-type", "no-joints", "str-int", "bool-int", "short-size", "heatmap", "not-32",
        "depth", "dcn-flags", "backbone", "loss-type", "no-norm", "part-not-combined",
        "duc-stages", "hrnet-stages", "not-a-mapping"])
def test_bad_values_fail_with_the_key(data, expected: str) -> None:
    with pytest.raises((ValueError, TypeError), match=expected):
        read_official_config(data)


def test_read_user_file_keeps_ignored_sections(tmp_path) -> None:
    path = tmp_path / "my_fastpose.yaml"
    data = _minimal(MODEL={"PRETRAINED": "", "TRY_LOAD": "x.pth", "CONV_DIM": 256},
                    DATASET={"TRAIN": {"TYPE": "Halpe_26", "ROOT": "./data/halpe/"}},
                    DETECTOR={"NAME": "yolo", "NMS_THRES": 0.6})
    path.write_text(yaml.safe_dump(data))
    cfg = read_official_config(path)
    assert cfg.name == "my_fastpose" and cfg.model.conv_dim == 256
    assert cfg.train_dataset == "Halpe_26"
    assert cfg.ignored["MODEL"] == {"PRETRAINED": "", "TRY_LOAD": "x.pth"}
    assert cfg.ignored["DETECTOR"]["NMS_THRES"] == 0.6
    out = cfg.to_official_dict()
    assert out["MODEL"]["TRY_LOAD"] == "x.pth"
    assert out["DATASET"]["TRAIN"]["ROOT"] == "./data/halpe/"


def test_read_errors_for_files(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        read_official_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("MODEL: [unclosed")
    with pytest.raises(ValueError, match="not valid YAML"):
        read_official_config(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="expected a mapping of sections"):
        read_official_config(listing)


def test_official_names_are_normalised_and_misses_suggest() -> None:
    name = "coco/resnet/256x192_res50_lr1e-3_2x-dcn"
    assert official_config_path(f"configs/{name}.yaml") == official_config_path(name)
    assert read_official_config(official_config_path(name)).name == name
    with pytest.raises(ValueError, match=r"Did you mean 'coco/resnet/256x192_res50_lr1e-3_2x-dcn'"):
        get_official_config("coco/resnet/256x192_res50_lr1e-3_2x_dcn")


def test_model_config_validation() -> None:
    with pytest.raises(ValueError, match="multiples of 32"):
        ModelConfig("FastPose", 17, input_size=(256, 190))
    with pytest.raises(ValueError, match="stage 3 must have 3 branches"):
        ModelConfig("PoseHighResolutionNet", 17,
                    hrnet_stages=(hrnet_stages(32)[0], hrnet_stages(32)[0], hrnet_stages(32)[2]))
    with pytest.raises(ValueError, match="num_joints_dense"):
        ModelConfig("FastPose_DUC_Dense", 17, num_joints_dense=17)
    with pytest.raises(TypeError, match="num_joints"):
        ModelConfig("FastPose", 17.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2 entries"):
        HRNetStage(1, 2, (4,), (32, 64))
    assert ModelConfig("FastPose", 17, input_size=[128, 96]).input_size == (128, 96)
    assert hash(get_official_config("coco/hrnet/256x192_w32_lr1e-3")) is not None


def test_pose_config_is_frozen() -> None:
    cfg = get_official_config(f"coco/{R}50_lr1e-3_1x")
    assert isinstance(cfg, PoseConfig)
    with pytest.raises(AttributeError):
        cfg.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.ignored["TRAIN"] = {}  # type: ignore[index]


def test_config_imports_without_torch() -> None:
    code = ("import sys, alphapose.config as c; c.list_official_configs(); "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
