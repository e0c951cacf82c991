"""How long ``alphapose --help`` takes (the median of 5 runs, each a fresh interpreter).

Usage: ``.venv/bin/python bench/startup.py``; last line ``help_s=...``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def main() -> None:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "alphapose", "--help"], check=True,
                       capture_output=True)
        times.append(time.perf_counter() - start)
    print("runs: " + " ".join(f"{t:.2f}" for t in times))
    print(f"help_s={statistics.median(times):.2f}")


if __name__ == "__main__":
    main()
