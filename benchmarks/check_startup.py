"""Wall time of the torch-free commands as a user runs them: a fresh process each time.

    python benchmarks/check_startup.py [--runs 15] [SPEC ...]

Prints the median, min and max of several runs of `netspec check` per spec, of `netspec
compile` and `netspec draw` (SVG, Graphviz included) on the first spec, and of
`python -c "import netspec.cli"` for comparison. `check` must stay under 0.5 s; none of these
may import torch (which alone costs about 4.5 s on the team's 2-core machines).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def time_command(command: list[str], runs: int) -> list[float]:
    subprocess.run(command, cwd=ROOT, capture_output=True, check=False)  # warm the disk cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", default=["specs/lenet.yaml"])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    netspec = shutil.which("netspec", path=str(Path(sys.executable).parent)) or "netspec"
    rows = [
        (f"netspec check {spec}", time_command([netspec, "check", spec], args.runs))
        for spec in args.specs
    ]
    first = args.specs[0]
    with tempfile.TemporaryDirectory() as tmp:
        for command in ("compile", "draw"):
            suffix = ".py" if command == "compile" else ".svg"
            output = str(Path(tmp) / f"out{suffix}")
            rows.append(
                (
                    f"netspec {command} {first} -o out{suffix}",
                    time_command([netspec, command, first, "-o", output], args.runs),
                )
            )
    rows.append(
        (
            'python -c "import netspec.cli"',
            time_command([sys.executable, "-c", "import netspec.cli"], args.runs),
        )
    )
    rows.append(('python -c "pass"', time_command([sys.executable, "-c", "pass"], args.runs)))
    print("| command | median | min | max | runs |\n|---|---|---|---|---|")
    for label, times in rows:
        print(
            f"| `{label}` | {statistics.median(times):.3f} s | {min(times):.3f} s | "
            f"{max(times):.3f} s | {len(times)} |"
        )


if __name__ == "__main__":
    main()
