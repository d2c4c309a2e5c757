"""Wall time of the torch-free commands as a user runs them: a fresh process each time.

    python benchmarks/check_startup.py [--runs 15] [SPEC ...]

Prints the median, min and max of several runs of `netspec check` per spec, of `netspec
compile` and `netspec draw` (SVG, Graphviz included) on the first spec, and of
`python -c "import netspec.cli"` for comparison. `check` must stay under 0.5 s; none of these
may import torch (which alone costs about 4.5 s on the team's 2-core machines).

Then the start-up ratios, measured in alternating rounds (the machine is shared and noisy): each
round times `netspec check` on the first spec and the floor it cannot go below, `python -c
"import pydantic, ruamel.yaml, rich.console"`, and prints the median ratio with its middle half.
pydantic 2 imports lazily, so that floor never loads `BaseModel`; the second floor also
defines and validates one one-field pydantic model, the least any validation with pydantic
costs (its model machinery and its plugin loader). Each further spec is timed against the
first the same way (`specs/lenet.yaml specs/zoo/vit_b_16.yaml`: a big network's check against
the smallest's).

Byte-code caching is on, as for an installed package (PYTHONDONTWRITEBYTECODE would make every
run compile netspec's sources again, about 80 ms here).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
FLOOR = "import pydantic, ruamel.yaml, rich.console"
FLOOR_WITH_MODELS = (
    FLOOR + "\nfrom pydantic import BaseModel\nclass M(BaseModel):\n    a: int\nM(a=1)"
)


def time_once(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, capture_output=True, check=False, env=ENV)
    return time.perf_counter() - start


def time_command(command: list[str], runs: int) -> list[float]:
    time_once(command)  # warm the disk and byte-code caches
    return [time_once(command) for _ in range(runs)]


def ratios(command: list[str], baseline: list[str], rounds: int) -> list[float]:
    """command ÷ baseline, one pair per round, the two run one after the other."""
    time_once(command)
    time_once(baseline)
    return [time_once(command) / time_once(baseline) for _ in range(rounds)]


def middle_half(values: list[float]) -> str:
    ordered = sorted(values)
    quarter = len(ordered) // 4
    return f"{ordered[quarter]:.2f} … {ordered[-1 - quarter]:.2f}"


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
    print("\n| ratio, alternating rounds | median | middle half | rounds |\n|---|---|---|---|")
    for floor in (FLOOR, FLOOR_WITH_MODELS):
        found = ratios([netspec, "check", first], [sys.executable, "-c", floor], args.runs)
        shown = floor.replace("\n", "; ").replace(":; ", ": ")
        print(
            f'| `netspec check {first}` ÷ `python -c "{shown}"` | '
            f"{statistics.median(found):.2f} | {middle_half(found)} | {len(found)} |"
        )
    for spec in args.specs[1:]:  # a big network against the first (issue 11: ViT vs LeNet)
        found = ratios([netspec, "check", spec], [netspec, "check", first], args.runs)
        print(
            f"| `netspec check {spec}` ÷ `netspec check {first}` | "
            f"{statistics.median(found):.2f} | {middle_half(found)} | {len(found)} |"
        )


if __name__ == "__main__":
    main()
