"""``make demo``: the main job on real pictures of people, with the embedded default.

It lives beside the package, not in it: it reads the repository's neighbour ``shared/data``.

Inputs: scikit-image's astronaut (a photograph that ships inside a dependency) and, when the
project sits beside ``shared/data``, its photos and demo video. Writes the AlphaPose JSON, the
OpenPose JSON, JSON lines and rendered images (and video) into ``--outdir``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

from alphapose.cli import main as cli_main

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def demo_inputs(workdir: Path) -> list[str]:
    """The demo's inputs: the astronaut (written to ``workdir``) and shared data if present."""
    try:
        from skimage import data
    except ImportError as error:
        raise SystemExit("make demo needs scikit-image: pip install 'alphapose[dev]'") from error
    workdir.mkdir(parents=True, exist_ok=True)
    astronaut = workdir / "astronaut.png"
    cv2.imwrite(str(astronaut), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    inputs = [str(workdir)]
    for folder in ("alphapose", "mmpose/coco", "openpifpaf/coco"):
        if (SHARED / folder).is_dir():
            inputs.append(str(SHARED / folder))
    return inputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", default="out/demo")
    parser.add_argument("--no-video", action="store_true", help="skip the shared demo video")
    args = parser.parse_args(argv)
    outdir = Path(args.outdir)
    inputs = demo_inputs(outdir / "inputs")
    video = SHARED / "mmpose" / "demo" / "demo.mp4"
    status = cli_main(["run", *inputs, "-o", str(outdir / "images"), "--save-img",
                       "--format", "alphapose,openpose,jsonl"])
    if video.is_file() and not args.no_video:
        status |= cli_main(["run", str(video), "-o", str(outdir / "video"), "--save-video",
                            "--format", "alphapose,jsonl"])
    print(f"demo outputs: {outdir.resolve()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
