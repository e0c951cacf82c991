"""Property-based fuzzing of every loader (issue #14): any input gives a result or one clear
``ValueError`` naming the file, never another exception, never a silent partial read.

Inputs: random JSON / YAML values, valid files with one value swapped for another type or for
NaN / inf / huge numbers, truncations and byte flips of valid files, random bytes. Examples are
few per loader (a few seconds in all); the strategies aim at the shapes the loaders expect so
that the checks deep inside are reached.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

_NUMBERS = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
                     st.sampled_from([0, 1, -1, 0.5, 1e308, -1e308, 17, 133, 136]))
_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, st.text(max_size=8))
_JSON = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=6)),
    max_leaves=25)


def _write(data: bytes | str, suffix: str = ".json") -> Path:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    path = folder / f"input{suffix}"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _dump(value: Any) -> str:
    return json.dumps(value)  # NaN / Infinity written as JSON's common extension


def _check(load, path: Path) -> Any:
    """``load(path)`` returns, or raises a ValueError whose message names the file."""
    try:
        return load(path)
    except ValueError as error:
        assert str(path.name) in str(error), f"message does not name the file: {error}"
        assert "\n" not in str(error).strip() or "does not fit" in str(error), str(error)
        return None


def _mutations(valid: Any) -> st.SearchStrategy:
    """``valid`` with one leaf (or one container) replaced by a random value."""
    paths: list[tuple] = []

    def walk(value: Any, at: tuple) -> None:
        paths.append(at)
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*at, key))
        elif isinstance(value, list):
            for i, child in enumerate(value[:4]):
                walk(child, (*at, i))

    walk(valid, ())

    def swap(choice: tuple, new: Any) -> Any:
        copy = json.loads(json.dumps(valid))
        if not choice:
            return new
        target = copy
        for key in choice[:-1]:
            target = target[key]
        target[choice[-1]] = new
        return copy

    return st.builds(swap, st.sampled_from(paths), _JSON)


def _text_damage(text: str) -> st.SearchStrategy:
    cut = st.integers(0, len(text)).map(lambda n: text[:n])
    flip = st.tuples(st.integers(0, max(len(text) - 1, 0)), st.characters(max_codepoint=127)).map(
        lambda a: text[:a[0]] + a[1] + text[a[0] + 1:])
    return st.one_of(cut, flip)


# -- results: AlphaPose and COCO lists --------------------------------------------------------

_RESULTS = [{"image_id": f"{i}.jpg", "category_id": 1,
             "keypoints": [float(v) for v in range(51)], "score": 1.5,
             "box": [1.0, 2.0, 3.0, 4.0], "idx": [0.0]} for i in range(3)]
_RESULTS_TEXT = "[\n" + ",\n".join(json.dumps(e) for e in _RESULTS) + "\n]\n"


@FUZZ
@given(st.one_of(_mutations(_RESULTS).map(_dump), _text_damage(_RESULTS_TEXT),
                 _JSON.map(_dump)))
def test_fuzz_alphapose_results(text: str) -> None:
    from alphapose.formats import load_alphapose_json

    _check(load_alphapose_json, _write(text))


@FUZZ
@given(st.integers(0, len(_RESULTS_TEXT)))
def test_fuzz_truncated_results_are_never_read_silently_in_part(cut: int) -> None:
    from alphapose.formats import load_alphapose_json

    path = _write(_RESULTS_TEXT[:cut])
    logger = logging.getLogger("alphapose")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        entries = _check(load_alphapose_json, path)
    finally:
        logger.removeHandler(handler)
    if entries is not None:
        assert entries == _RESULTS[:len(entries)]
        if len(entries) < len(_RESULTS):
            assert any(path.name in r.getMessage() for r in records)


@FUZZ
@given(st.one_of(_mutations(_RESULTS).map(_dump), _text_damage(_RESULTS_TEXT)))
def test_fuzz_coco_results_against_ground_truth(text: str) -> None:
    from alphapose.evaluate.keypoints import load_ground_truth, load_results

    gt = load_ground_truth({"images": [{"id": i, "file_name": f"{i}.jpg"} for i in range(3)],
                            "annotations": [{"id": 1, "image_id": 0, "bbox": [0, 0, 9, 9],
                                             "keypoints": [1.0, 1.0, 2.0] * 17}]})
    _check(lambda p: load_results(p, gt), _write(text))


# -- ground truth -----------------------------------------------------------------------------

_GT = {"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 50.0,
                        "bbox": [0, 0, 5, 10], "num_keypoints": 17,
                        "keypoints": [1.0, 2.0, 2.0] * 17}],
       "categories": [{"id": 1, "name": "person"}]}


@FUZZ
@given(st.one_of(_mutations(_GT).map(_dump), _text_damage(_dump(_GT)), _JSON.map(_dump)))
def test_fuzz_ground_truth(text: str) -> None:
    from alphapose.evaluate.keypoints import KeypointEvaluator, load_ground_truth

    gt = _check(load_ground_truth, _write(text))
    if gt is not None:
        KeypointEvaluator(gt)  # what it accepted, pycocotools takes


# -- detection files --------------------------------------------------------------------------

_DETS = [{"image_id": 785, "bbox": [10.0, 20.0, 30.0, 40.0], "score": 0.9, "category_id": 1},
         {"image_id": "a.jpg", "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.5}]


@FUZZ
@given(st.one_of(_mutations(_DETS).map(_dump), _mutations(_GT).map(_dump),
                 _text_damage(_dump(_DETS)), _JSON.map(_dump)))
def test_fuzz_detection_file(text: str) -> None:
    from alphapose.detection.from_file import FileDetector

    detector = _check(FileDetector, _write(text))
    if detector is not None:
        for name in ("000000000785.jpg", "a.jpg", "a.jpg"):
            try:
                found = detector.lookup(name)
            except ValueError as error:  # an annotation file that does not list the image
                assert "does not list this image" in str(error)
                continue
            assert found.xyxy.shape[1] == 4


# -- PoseTrack files --------------------------------------------------------------------------

_POSETRACK = {"images": [{"id": 10, "file_name": "seq/000001.jpg", "vid_id": "seq",
                          "frame_id": 1, "is_labeled": True}],
              "annotations": [{"id": 0, "image_id": 10, "track_id": 3, "category_id": 1,
                               "bbox": [1.0, 2.0, 30.0, 40.0], "bbox_head": [1, 2, 5, 5],
                               "keypoints": [5.0, 6.0, 1.0] * 17, "scores": [0.5] * 17}]}


@FUZZ
@given(st.one_of(_mutations(_POSETRACK).map(_dump), _text_damage(_dump(_POSETRACK)),
                 _JSON.map(_dump)))
def test_fuzz_posetrack_annotations(text: str) -> None:
    from alphapose.evaluate.tracking import load_posetrack

    _check(load_posetrack, _write(text))


_JSONL = "\n".join(json.dumps({"frame": i, "image_id": f"{i}.jpg", "layout": "coco17",
                               "people": [{"keypoints": [[1.0, 2.0, 0.5]] * 17,
                                           "box": [0, 0, 5, 5], "track_id": i}]})
                   for i in range(2)) + "\n"


@FUZZ
@given(st.one_of(_mutations(_POSETRACK).map(_dump), _text_damage(_dump(_POSETRACK)),
                 _mutations(_RESULTS).map(_dump), _text_damage(_JSONL), _JSON.map(_dump)))
def test_fuzz_tracking_results(text: str) -> None:
    from alphapose.evaluate.tracking import load_tracking_results

    _check(load_tracking_results, _write(text))


# -- NMS parameters and model configs (YAML) --------------------------------------------------

_NMS = {"pose_nms": {"delta1": 1.0, "mu": 1.7, "delta2": 2.65, "gamma": 22.48,
                     "score_thresh": 0.3, "alpha": 0.1}}


@FUZZ
@given(st.one_of(_mutations(_NMS), _JSON), st.sampled_from([".yaml", ".json"]))
def test_fuzz_nms_params(data: Any, suffix: str) -> None:
    import yaml

    from alphapose.evaluate.nms_search import load_nms_params

    text = yaml.safe_dump(data) if suffix == ".yaml" else _dump(data)
    _check(load_nms_params, _write(text, suffix))


@FUZZ
@given(st.text(max_size=60))
def test_fuzz_nms_params_yaml_text(text: str) -> None:
    from alphapose.evaluate.nms_search import load_nms_params

    _check(load_nms_params, _write(text, ".yaml"))


_MODEL = {"MODEL": {"TYPE": "FastPose", "NUM_LAYERS": 50, "CONV_DIM": 128,
                    "PRETRAINED": ""},
          "DATA_PRESET": {"TYPE": "simple", "SIGMA": 2, "NUM_JOINTS": 17,
                          "IMAGE_SIZE": [256, 192], "HEATMAP_SIZE": [64, 48]},
          "LOSS": {"TYPE": "MSELoss"}}


@FUZZ
@given(st.one_of(_mutations(_MODEL), _JSON))
def test_fuzz_model_config(data: Any) -> None:
    import yaml

    from alphapose.config import read_official_config

    _check(read_official_config, _write(yaml.safe_dump(data), ".yaml"))


@FUZZ
@given(_text_damage("MODEL:\n  TYPE: FastPose\n  NUM_LAYERS: 50\nDATA_PRESET:\n  NUM_JOINTS: 17\n"
                    "  IMAGE_SIZE: [256, 192]\n"))
def test_fuzz_model_config_yaml_text(text: str) -> None:
    from alphapose.config import read_official_config

    _check(read_official_config, _write(text, ".yaml"))


# -- checkpoints ------------------------------------------------------------------------------


def _checkpoint_bytes(value: Any) -> bytes:
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def _valid_checkpoint() -> bytes:
    import torch

    return _checkpoint_bytes({"epoch": 1, "model": {"w": torch.ones(2, 2)}, "optimizer": {},
                              "history": [{"loss": 0.5}]})


@FUZZ
@given(st.data())
def test_fuzz_checkpoints(data) -> None:
    torch = pytest.importorskip("torch")
    from alphapose.detection.yolox import read_checkpoint
    from alphapose.models.checkpoint import read_state_dict
    from alphapose.train import read_training_state

    valid = _valid_checkpoint()
    kind = data.draw(st.sampled_from(["random", "truncated", "flipped", "swapped", "numbers"]))
    if kind == "random":
        blob = data.draw(st.binary(max_size=200))
    elif kind == "truncated":
        blob = valid[:data.draw(st.integers(0, len(valid) - 1))]
    elif kind == "flipped":
        at = data.draw(st.integers(0, len(valid) - 1))
        blob = valid[:at] + bytes([valid[at] ^ data.draw(st.integers(1, 255))]) + valid[at + 1:]
    elif kind == "swapped":
        blob = _checkpoint_bytes(data.draw(_mutations(
            {"epoch": 1, "model": {"w": 0}, "optimizer": {}, "history": []})))
    else:
        value = data.draw(st.sampled_from([float("nan"), float("inf"), 1e308, -1e308, 2**62]))
        blob = _checkpoint_bytes({"epoch": 1, "optimizer": {}, "history": [],
                                  "model": {"w": torch.full((2,), value, dtype=torch.float64)}})
    path = _write(blob, ".pth")
    for load in (read_state_dict, read_checkpoint, read_training_state):
        _check(load, path)
