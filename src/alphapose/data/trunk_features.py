"""A frozen pretrained trunk: encoder features of the embedded BlazePose body landmark model.

The paper's FastPose starts from an ImageNet-pretrained ResNet; no such weights are here, but the
embedded default ships pretrained conv nets. :class:`BlazeTrunk` runs the body landmark model
(``pose_landmark_full.tflite``, 256 x 256 RGB in [0, 1]) on a crop and reads one intermediate
tensor with the interpreter's ``experimental_preserve_all_tensors``: by default
:data:`TRUNK_TENSOR`, the output of the last stride-32 inverted-residual block of the encoder
(``add_8``, 8 x 8 x 144 for a 256 x 256 crop). It is generic trunk output, the analogue of the
ResNet's stride-32 output that FastPose's head reads. After it the model's decoder upsamples and
adds the stride-16 / 8 / 4 skips (``add_9`` .. ``add_11``) and feeds its own heatmap and
segmentation heads; none of those is read here.

The same invoke also gives the model's own 33-point regression, returned as COCO-17 crop pixels
(the teacher's answer on the crop, a reference for what the trunk's full model reaches).

Convention: crop pixels, pixel centres at integer coordinates; the model's regression is in
input units with 0 at the left edge of the first pixel, hence the ``- 0.5``.

No torch here.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np

from alphapose.estimators.blaze_body import BLAZE_TO_COCO17, BODY_MODELS, INPUT_SIZE, NUM_POINTS
from alphapose.runtime.litert import native_stderr_silenced
from alphapose.structures import check_image
from alphapose.weights import get_model_file

__all__ = ["TRUNK_TENSOR", "BlazeTrunk"]

#: Encoder output at stride 32 of the ``full`` body landmark model (8 x 8 x 144); the ``lite``
#: and ``heavy`` models number their blocks differently.
TRUNK_TENSOR = "model_1/model/add_8/add"


class BlazeTrunk:
    """Frozen trunk features of a BlazePose body landmark model.

    Args:
        model: ``"lite"``, ``"full"`` or ``"heavy"``.
        tensor: name of the intermediate tensor to read (NHWC float32).
        num_threads: interpreter threads.
        path: a ``.tflite`` file instead of the bundled one.

    Example:
        >>> trunk = BlazeTrunk()                                     # doctest: +SKIP
        >>> features, teacher = trunk(crop_bgr)                      # doctest: +SKIP
        >>> features.shape, teacher.shape                            # doctest: +SKIP
        ((8, 8, 144), (17, 2))
    """

    input_size = (INPUT_SIZE, INPUT_SIZE)

    def __init__(self, model: str = "full", tensor: str = TRUNK_TENSOR, num_threads: int = 1,
                 path: str | Path | None = None) -> None:
        if model not in BODY_MODELS:
            raise ValueError(f"model: expected one of {list(BODY_MODELS)}, got {model!r}")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as error:  # pragma: no cover - a core dependency
            raise ImportError("trunk features need ai-edge-litert: pip install ai-edge-litert"
                              ) from error
        self.path = Path(path) if path is not None else get_model_file(BODY_MODELS[model])
        with warnings.catch_warnings(), native_stderr_silenced():
            # the interpreter warns that keeping every tensor costs memory: here it is the point
            warnings.simplefilter("ignore", UserWarning)
            self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads,
                                            experimental_preserve_all_tensors=True)
            self._interpreter.allocate_tensors()
        details = {d["name"]: d for d in self._interpreter.get_tensor_details()}
        if tensor not in details:
            near = [n for n in details if n.split(";")[0].endswith("/add")]
            raise ValueError(f"tensor: {tensor!r} is not in {self.path.name}; block outputs "
                             f"there: {', '.join(sorted(near)[:12])} ...")
        self.tensor = tensor
        self._feature_index = int(details[tensor]["index"])
        self.feature_shape = tuple(int(s) for s in details[tensor]["shape"][1:])
        (self._input,) = self._interpreter.get_input_details()
        self._landmarks_index = int(self._interpreter.get_output_details()[0]["index"])

    def __call__(self, crop_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features and the model's own COCO-17 points for one crop.

        Args:
            crop_bgr: ``(256, 256, 3)`` uint8 BGR crop.

        Returns:
            ``(features, teacher)``: ``(h, w, c)`` float16 trunk features and ``(17, 2)``
            float32 points in crop pixels.
        """
        check_image(crop_bgr, "crop_bgr")
        if crop_bgr.shape[:2] != self.input_size:
            raise ValueError(f"crop_bgr: expected {self.input_size} pixels, got "
                             f"{crop_bgr.shape[:2]}")
        rgb = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2RGB)
        tensor = np.divide(rgb, np.float32(255.0), dtype=np.float32)[None]
        self._interpreter.set_tensor(int(self._input["index"]), tensor)
        self._interpreter.invoke()
        features = self._interpreter.get_tensor(self._feature_index)[0].astype(np.float16)
        landmarks = self._interpreter.get_tensor(self._landmarks_index).reshape(NUM_POINTS, 5)
        teacher = (landmarks[BLAZE_TO_COCO17, :2] - 0.5).astype(np.float32)
        return features, teacher
