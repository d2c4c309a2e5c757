"""Images per second of one training process against two (torchrun), on real Fashion-MNIST.

    python benchmarks/processes.py [--rounds 6] [--steps 300] [--batch 128] [--spec PATH]

Trains specs/fashion_cnn.yaml on the CPU for ``--steps`` steps (``--max-steps``) per round,
with the same step batch both ways: one process of ``--batch`` images (``netspec train``) and
two of half as many each (``python -m torch.distributed.run --standalone --nproc-per-node 2
-m netspec train``). Rounds alternate, 1 process then 2, ``--rounds`` times each, so both see
the same machine. The figure is the run's own images/s (metrics.json: the training steps only,
not start-up, data loading or evaluation); the wall time of the whole command is shown too. The
ratio is each pair's two-process figure over its one-process one; their median ends the table.

Needs the data in /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist) or
$NETSPEC_DATA.

On CPU both ways share the same cores, so two processes can only lose (gloo's all-reduce, two
interpreters, smaller matrix products). What N GPUs would do, per step of a global batch B:
time ≈ compute(B/N on one GPU) + all-reduce, and a ring all-reduce moves 2·(N−1)/N × the
parameter bytes through each GPU's link. fashion_cnn has 108,154 parameters, 432,616 bytes in
float32: for N = 2 that is 433 kB, ≈ 1 µs on NVLink (~450 GB/s), ≈ 17 µs on PCIe (~25 GB/s);
for N = 8, 757 kB, ≈ 1.7 µs and ≈ 30 µs. Its compute (2.7 M MACs a sample forward, ≈ 2 GFLOP
a step of 128 with the backward pass) is launch-bound on any current GPU, so B/N barely shortens
a step: more GPUs pay for models whose compute per step dwarfs their all-reduce, not this one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def check_data() -> None:
    from netspec.train.catalog import DATASETS, find

    source, _ = find(DATASETS["fashion_mnist"], None)
    if source is None:
        sys.exit(
            "Fashion-MNIST not found: apt-get install dataset-fashion-mnist, or set NETSPEC_DATA"
        )


def command(processes: int, spec: Path, out: Path, batch: int, steps: int) -> list[str]:
    words = [
        "train", str(spec), "--data", "fashion_mnist", "--device", "cpu", "--out", str(out),
        "--batch-size", str(batch // processes), "--max-steps", str(steps), "--seed", "0",
    ]  # fmt: skip
    if processes == 1:
        return [sys.executable, "-m", "netspec", *words]
    launch = ["--standalone", f"--nproc-per-node={processes}"]
    return [sys.executable, "-m", "torch.distributed.run", *launch, "-m", "netspec", *words]


def one_round(
    processes: int, spec: Path, work: Path, index: int, batch: int, steps: int
) -> tuple[float, float, float]:
    """(images/s of the training steps, their seconds, the command's wall seconds)."""
    out = work / f"round-{index}-{processes}"
    env = dict(os.environ, NETSPEC_CACHE=str(work / "cache"))
    started = time.perf_counter()
    ran = subprocess.run(
        command(processes, spec, out, batch, steps),
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        timeout=600,
        check=False,
    )
    wall = time.perf_counter() - started
    if ran.returncode != 0:
        sys.exit(f"round {index} ({processes} processes) failed:\n{ran.stderr}")
    (row,) = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    if row["steps"] != steps:
        sys.exit(f"round {index}: {row['steps']} steps, not {steps}")
    return float(row["images_per_second"]), float(row["seconds"]), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each (default 6)")
    parser.add_argument("--steps", type=int, default=300, help="steps a round (default 300)")
    parser.add_argument("--batch", type=int, default=128, help="a step's images (default 128)")
    parser.add_argument("--spec", type=Path, default=ROOT / "specs" / "fashion_cnn.yaml")
    args = parser.parse_args()
    check_data()
    rows = []
    ratios = []
    with tempfile.TemporaryDirectory(prefix="netspec-processes-") as temporary:
        work = Path(temporary)
        for pair in range(args.rounds):
            figures = {}
            for processes in (1, 2):
                index = 2 * pair + processes
                rate, seconds, wall = one_round(
                    processes, args.spec, work, index, args.batch, args.steps
                )
                figures[processes] = rate
                per = f"{args.batch // processes}" + (f" × {processes}" if processes > 1 else "")
                rows.append((index, processes, per, rate, seconds, wall))
                print(
                    f"round {index}: {processes} process(es), {rate:,.0f} images/s "
                    f"({seconds:.1f} s training, {wall:.1f} s wall)",
                    file=sys.stderr,
                )
            ratios.append(figures[2] / figures[1])
    print(
        f"{args.spec.name}, {args.steps} steps of {args.batch} images a round, CPU, "
        f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}"
        " CPUs\n"
    )
    print("| round | processes | batch per process | images/s | training s | wall s |")
    print("|---|---|---|---|---|---|")
    for index, processes, per, rate, seconds, wall in rows:
        print(f"| {index} | {processes} | {per} | {rate:,.0f} | {seconds:.1f} | {wall:.1f} |")
    print()
    print("| ratio, 2 processes ÷ 1, alternating rounds | median | min | max | pairs |")
    print("|---|---|---|---|---|")
    print(
        f"| images/s | {statistics.median(ratios):.2f} | {min(ratios):.2f} | "
        f"{max(ratios):.2f} | {len(ratios)} |"
    )


if __name__ == "__main__":
    main()
