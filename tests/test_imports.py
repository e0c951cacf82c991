"""The core and the embedded default never import torch (deployments can skip it)."""

from __future__ import annotations

import subprocess
import sys


def test_core_modules_do_not_import_torch() -> None:
    code = ("import sys, alphapose, alphapose.cli, alphapose.pipeline, alphapose.writers, "
            "alphapose.render, alphapose.nms, alphapose.sources, alphapose.skeletons, "
            "alphapose.detection.blaze, alphapose.estimators.blaze, alphapose.evaluate; "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
