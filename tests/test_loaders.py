"""Loaders read all of a file or say where they stopped (issue #14, items 3, 9, 10).

Results (AlphaPose / COCO lists, JSON lines, PoseTrack), detection files and ground truth: a file
corrupted anywhere is refused with the position; only a killed run's file (cut short at its end)
is read, with a warning that says so.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from alphapose.cli import main
from alphapose.evaluate.tracking import load_posetrack, load_tracking_results
from alphapose.formats import load_alphapose_json, load_json_lines


def _entry(image: int, person: int = 0) -> dict:
    keypoints = np.arange(17 * 3, dtype=np.float64) + 10 * image + person
    keypoints[2::3] = 0.9
    return {"image_id": f"{image}.jpg", "category_id": 1, "keypoints": keypoints.tolist(),
            "score": 2.5, "box": [1.0, 2.0, 30.0, 40.0], "idx": [0.0]}


def _results_text(frames: int = 4) -> str:
    return "[\n" + ",\n".join(json.dumps(_entry(i)) for i in range(frames)) + "\n]\n"


# -- item 3: `alphapose track` and the results readers ---------------------------------------


def test_track_refuses_results_corrupted_in_the_middle(tmp_path: Path, capsys) -> None:
    text = _results_text(4)
    lines = text.split("\n")
    lines[2] = lines[2][:40] + "#garbage#" + lines[2][40:]  # entry 2 of 4 damaged
    (tmp_path / "res.json").write_text("\n".join(lines))
    out = tmp_path / "tracked.json"
    status = main(["track", str(tmp_path / "res.json"), "-o", str(out)])
    err = capsys.readouterr().err
    assert status != 0
    assert not out.exists()
    assert "line 3 column 41" in err and "res.json" in err


def test_track_refuses_a_broken_first_entry(tmp_path: Path, capsys) -> None:
    (tmp_path / "res.json").write_text("[{broken")
    out = tmp_path / "tracked.json"
    assert main(["track", str(tmp_path / "res.json"), "-o", str(out)]) != 0
    assert "line 1 column 3" in capsys.readouterr().err
    assert not out.exists()


def test_track_reads_a_killed_runs_results_with_a_warning(tmp_path: Path, caplog) -> None:
    text = _results_text(3)
    cut = text.rstrip().rstrip("]").rstrip()  # the closing bracket never written
    (tmp_path / "res.json").write_text(cut)
    out = tmp_path / "tracked.json"
    with caplog.at_level(logging.WARNING, logger="alphapose"):
        assert main(["track", str(tmp_path / "res.json"), "-o", str(out)]) == 0
    assert [e["image_id"] for e in json.loads(out.read_text())] == ["0.jpg", "1.jpg", "2.jpg"]
    assert "without the closing ']'" in caplog.text and "killed" in caplog.text


@pytest.mark.parametrize(("text", "complete"), [
    ("[\n", 0),
    ('[{"image_id": "0.jpg", "keypoints": [1, 2, 0.5]},\n', 1),
    ('[{"image_id": "0.jpg", "keypoints": [1, 2, 0.5]},\n{"image_id": "1.jpg", "keyp', 1),
    ('[{"image_id": "0.jpg", "keypoints": [1, 2, 0.5]},\n{"image_id": "1.jpg", "keypoints": [1.',
     1),
], ids=["open-bracket", "trailing-comma", "cut-in-a-name", "cut-in-a-number"])
def test_results_cut_at_the_end_are_read_with_a_warning(tmp_path: Path, caplog, text: str,
                                                        complete: int) -> None:
    (tmp_path / "r.json").write_text(text)
    with caplog.at_level(logging.WARNING, logger="alphapose"):
        assert len(load_alphapose_json(tmp_path / "r.json")) == complete
    assert "r.json: the file ends at line" in caplog.text


@pytest.mark.parametrize(("text", "position"), [
    ('[{"image_id": "0.jpg", "keypoints": [1, 2, 0.5]} {"image_id": "1.jpg"}]', "column 50"),
    ('[{"image_id": "0.jpg", "keypoints": [1, 2, 0.5]},\n@@@,\n{"image_id": "1.jpg"}]',
     "line 2 column 1"),
    ('[{"image_id": "0.jpg", "keypoints": [1, 2, 0.5]}] trailing', "column 51"),
    ('[{"image_id": "0.jpg", "keypoints": [1, 2, 0.5]},]', "column 50"),
], ids=["missing-comma", "garbage-line", "extra-data", "dangling-comma"])
def test_results_corrupted_before_the_end_are_refused_with_the_position(
        tmp_path: Path, text: str, position: str) -> None:
    (tmp_path / "r.json").write_text(text)
    with pytest.raises(ValueError, match=position):
        load_alphapose_json(tmp_path / "r.json")


@pytest.mark.parametrize(("entry", "message"), [
    ({"keypoints": [1, 2, 3]}, "image_id"),
    ({"image_id": "a.jpg", "keypoints": [1, 2]}, "keypoints"),
    ({"image_id": "a.jpg", "keypoints": [1, 2, "x"]}, "keypoints"),
    ({"image_id": "a.jpg", "keypoints": [1, 2, 3], "score": "high"}, "score"),
    ({"image_id": True, "keypoints": [1, 2, 3]}, "image_id"),
], ids=["no-image-id", "not-triples", "text-value", "text-score", "bool-id"])
def test_results_entries_are_checked(tmp_path: Path, entry: dict, message: str) -> None:
    (tmp_path / "r.json").write_text(json.dumps([_entry(0), entry]))
    with pytest.raises(ValueError, match=f"r.json: entry 2.*{message}"):
        load_alphapose_json(tmp_path / "r.json")


def test_json_lines_refuse_a_broken_line_in_the_middle_and_warn_on_a_cut_last_line(
        tmp_path: Path, caplog) -> None:
    lines = [json.dumps({"frame": i, "image_id": f"{i}.jpg", "people": []}) for i in range(3)]
    path = tmp_path / "r.jsonl"
    path.write_text(lines[0] + "\n" + lines[1][:10] + "\n" + lines[2] + "\n")
    with pytest.raises(ValueError, match="r.jsonl: line 2"):
        load_json_lines(path)
    path.write_text(lines[0] + "\n" + lines[1] + "\n" + "[1, 2]\n")
    with pytest.raises(ValueError, match="line 3: expected a JSON object"):
        load_json_lines(path)
    path.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:12])
    with caplog.at_level(logging.WARNING, logger="alphapose"):
        assert [r["frame"] for r in load_json_lines(path)] == [0, 1]
    assert "line 3 is cut short" in caplog.text


def _posetrack_results(n: int) -> str:
    anns = [{"id": i, "image_id": i, "track_id": 1, "category_id": 1,
             "keypoints": [float(i)] * 51, "scores": [0.5] * 17, "bbox": [0, 0, 10, 10]}
            for i in range(n)]
    return ('{"categories":[{"id":1}],\n"annotations":[\n'
            + ",\n".join(json.dumps(a) for a in anns))


def test_posetrack_results_of_a_killed_run_keep_their_annotations(tmp_path: Path,
                                                                  caplog) -> None:
    path = tmp_path / "track.json"
    path.write_text(_posetrack_results(3))  # the writer died before "images" and the "}"
    with caplog.at_level(logging.WARNING, logger="alphapose"):
        frames = load_tracking_results(path)
    assert sorted(frames) == ["0", "1", "2"]
    assert frames["2"].keypoints[0, 0].tolist() == [2.0, 2.0]
    assert "'annotations'" in caplog.text
    path.write_text(_posetrack_results(3).replace('"track_id": 1', '"track_id": "x"', 1))
    with pytest.raises(ValueError, match=r"track.json: annotations\[0\]: 'track_id'"):
        load_tracking_results(path)


def test_posetrack_ground_truth_is_refused_when_cut_or_malformed(tmp_path: Path) -> None:
    gt = {"images": [{"id": 1, "file_name": "a/000001.jpg", "vid_id": "a", "frame_id": 1}],
          "annotations": [{"image_id": 1, "track_id": 0, "bbox": [0, 0, 5, 5],
                           "keypoints": [1.0] * 51}]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    assert len(load_posetrack(path)["a"][0][1]) == 1
    path.write_text(json.dumps(gt)[:-3])
    with pytest.raises(ValueError, match="gt.json: not valid JSON: the file ends at line 1"):
        load_posetrack(path)
    gt["annotations"][0]["keypoints"] = [1.0] * 50
    path.write_text(json.dumps(gt))
    with pytest.raises(ValueError, match=r"annotations\[0\]: 'keypoints' must be a list of 51"):
        load_posetrack(path)


def test_parse_json_positions_count_bytes_of_utf8() -> None:
    from alphapose.jsonfile import parse_json

    with pytest.raises(ValueError, match=r"line 2 column 3 \(byte 9\)"):
        parse_json('["é",\n  x]', "t.json")


# -- item 9: --detfile -----------------------------------------------------------------------


def test_detfile_nan_box_is_dropped_and_the_image_keeps_its_valid_boxes(tmp_path: Path,
                                                                       caplog) -> None:
    from alphapose.detection.from_file import FileDetector

    path = tmp_path / "det.json"
    path.write_text('[{"image_id": "a.jpg", "bbox": [NaN, 2, 3, 4], "score": 0.9},\n'
                    ' {"image_id": "a.jpg", "bbox": [10, 20, 30, 40], "score": 0.8},\n'
                    ' {"image_id": "a.jpg", "bbox": [5, 5, -3, 4], "score": 0.7}]')
    with caplog.at_level(logging.WARNING, logger="alphapose"):
        detector = FileDetector(path)
    found = detector.lookup("a.jpg")
    np.testing.assert_allclose(found.xyxy, [[10, 20, 40, 60]])
    np.testing.assert_allclose(found.scores, [0.8])
    assert "2 unusable box(es)" in caplog.text
    assert "entry 1 (image a.jpg): bbox is not finite" in caplog.text
    assert "entry 3 (image a.jpg): bbox has no area" in caplog.text


def test_detfile_matching_no_input_warns_once_naming_file_and_input(tmp_path: Path,
                                                                   caplog) -> None:
    from alphapose.detection.from_file import FileDetector

    path = tmp_path / "det.json"
    path.write_text(json.dumps([{"image_id": 785, "bbox": [1, 2, 3, 4], "score": 0.9}]))
    detector = FileDetector(path)
    with caplog.at_level(logging.WARNING, logger="alphapose"):
        assert len(detector.lookup("holiday.jpg")) == 0
        assert len(detector.lookup("beach.jpg")) == 0
    assert len(caplog.records) == 1
    assert "det.json: no boxes for input 'holiday.jpg'" in caplog.text
    assert "e.g. '785'" in caplog.text
    assert detector.unmatched == ["holiday.jpg", "beach.jpg"] and detector.matched == 0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="alphapose"):
        assert len(detector.lookup("000000000785.jpg")) == 1
    assert caplog.text == "" and detector.matched == 1


def test_detfile_annotation_form_refuses_an_input_it_does_not_list(tmp_path: Path) -> None:
    from alphapose.detection.from_file import FileDetector

    path = tmp_path / "gt.json"
    path.write_text(json.dumps({"images": [{"id": 7, "file_name": "x.jpg"},
                                           {"id": 8, "file_name": "empty.jpg"}],
                                "annotations": [{"image_id": 7, "bbox": [0, 0, 10, 10]}]}))
    detector = FileDetector(path)
    assert len(detector.lookup("x.jpg")) == 1
    assert len(detector.lookup("empty.jpg")) == 0  # listed, nobody in it
    with pytest.raises(ValueError, match="gt.json does not list this image"):
        detector.lookup("other.jpg")


def test_detfile_score_is_optional_and_every_message_says_so(tmp_path: Path) -> None:
    from alphapose.detection.from_file import FileDetector

    path = tmp_path / "det.json"
    path.write_text(json.dumps([{"image_id": "a.jpg", "bbox": [1, 2, 3, 4]}]))
    np.testing.assert_allclose(FileDetector(path).lookup("a.jpg").scores, [1.0])
    for entry, field in [({"bbox": [1, 2, 3, 4]}, "image_id"),
                         ({"image_id": "a.jpg", "bbox": [1, 2]}, "bbox"),
                         ({"image_id": "a.jpg", "bbox": [1, 2, 3, 4], "score": "hi"}, "score")]:
        path.write_text(json.dumps([entry]))
        with pytest.raises(ValueError, match=f"entry 1: '{field}'.*score is optional"):
            FileDetector(path)


# -- item 10: alphapose eval -----------------------------------------------------------------


def _gt_with(shared_data: Path, tmp_path: Path, **changes) -> Path:
    gt = json.loads((shared_data / "mmpose/coco/test_coco.json").read_text())
    gt["annotations"][1].update(changes)
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    return path


def _coco_results(shared_data: Path, tmp_path: Path) -> Path:
    gt = json.loads((shared_data / "mmpose/coco/test_coco.json").read_text())
    results = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"],
                "score": 1.0} for a in gt["annotations"] if a["num_keypoints"]]
    path = tmp_path / "res.json"
    path.write_text(json.dumps(results))
    return path


@pytest.mark.parametrize(("changes", "message"), [
    ({"bbox": None}, "'bbox' must be 4 finite numbers"),
    ({"area": -5000.0}, "'area' must be a finite number >= 0"),
    ({"bbox": [10, 10, -4, 20]}, "negative width or height"),
    ({"iscrowd": 2}, "'iscrowd' must be 0 or 1"),
], ids=["null-bbox", "negative-area", "negative-width", "iscrowd-2"])
def test_eval_validates_ground_truth_as_strictly_as_results(shared_data: Path, tmp_path: Path,
                                                           capsys, changes: dict,
                                                           message: str) -> None:
    gt = _gt_with(shared_data, tmp_path, **changes)
    status = main(["eval", "--gt", str(gt), "--res", str(_coco_results(shared_data, tmp_path))])
    err = capsys.readouterr().err
    assert status == 2
    assert "gt.json: annotation" in err and message in err
    assert "Traceback" not in err


def test_eval_converts_halpe136_results_to_wholebody_ground_truth_by_name(
        shared_data: Path, tmp_path: Path, capsys, caplog) -> None:
    from alphapose.evaluate.keypoints import load_ground_truth
    from alphapose.skeletons import convert

    gt_path = shared_data / "mmpose/coco/test_coco_wholebody.json"
    gt = load_ground_truth(gt_path)
    assert gt.layout.name == "coco_wholebody133"
    results = []
    for ann in gt.data["annotations"]:
        if not ann["num_keypoints"]:
            continue
        triples = np.asarray(ann["keypoints"], np.float64).reshape(133, 3)
        kp, sc = convert(triples[:, :2], (triples[:, 2] > 0).astype(np.float64),
                         "coco_wholebody133", "halpe136")
        results.append({"image_id": ann["image_id"], "category_id": 1, "score": 1.0,
                        "keypoints": np.concatenate([kp, sc[:, None]], 1).ravel().tolist()})
    res_path = tmp_path / "alphapose-results.json"
    res_path.write_text(json.dumps(results))
    out = tmp_path / "ap.json"
    with caplog.at_level(logging.WARNING, logger="alphapose"):
        status = main(["eval", "--gt", str(gt_path), "--res", str(res_path), "--json", str(out)])
    assert status == 0, capsys.readouterr().err
    report = json.loads(out.read_text())["parts"]
    assert report["body"]["AP"] == pytest.approx(1.0)
    assert report["whole"]["AP"] == pytest.approx(1.0)
    converted = [r.getMessage() for r in caplog.records if "converted" in r.getMessage()]
    assert len(converted) == 1
    assert (f"{len(results)} result(s) in layout halpe136 converted to the ground truth's "
            f"coco_wholebody133 by keypoint name (head, neck, hip left out)") in converted[0]


def test_eval_refuses_results_that_lack_ground_truth_points(shared_data: Path,
                                                            tmp_path: Path) -> None:
    from alphapose.evaluate.keypoints import load_ground_truth, load_results

    gt = load_ground_truth(shared_data / "mmpose/coco/test_coco_wholebody.json")
    res = [{"image_id": gt.image_ids[0], "keypoints": [1.0] * 51, "score": 1.0}]
    with pytest.raises(ValueError, match="coco17 cannot be converted to it by name: it lacks "
                                         "left_big_toe"):
        load_results(res, gt)
