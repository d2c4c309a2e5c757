"""A hostile-input campaign: mutated specs through the real CLI, every run judged.

Each mutant of a shipped spec (tests/mutants.py) goes through one of `check`, `check --json`,
`compile -o` and `draw --format dot -o`, chosen by its seed. The default runs each in a forked
child of a process that has imported netspec already, which is how thousands of runs fit in
minutes; `--subprocess` starts `python -m netspec` for each instead (the whole command, Python's
start-up included). Reported: runs, clean exits (0, 1, 2), exit 3 or other codes, tracebacks,
messages with no file or `netspec` prefix, timeouts, runs over 1 s, the slowest run and the
largest peak memory. Failing mutants are kept in --out with their command and output.

    .venv/bin/python benchmarks/fuzz_specs.py --mutants 20000
    .venv/bin/python benchmarks/fuzz_specs.py --mutants 500 --subprocess

Exit status 0 when every run was clean and none took over 1 s, else 1.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import mutants

SLOW_S = 1.0
# `python -m netspec ARGS`, then its own peak resident size (VmHWM) at the end of stderr
_PEAK_START, _PEAK_END = "\n<peak kB ", ">"
_PROBE = f"""
import sys
from netspec.cli import main
try:
    code = main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM"))
    sys.stderr.write({_PEAK_START!r} + peak + {_PEAK_END!r})
sys.exit(code)
"""


def _preload() -> None:
    """Import what the commands use, so that each forked run measures the work alone."""
    import graphviz  # noqa: F401

    import netspec.backends.codegen
    import netspec.backends.diagram
    import netspec.cli
    import netspec.report  # noqa: F401


def _run_subprocess(seed: int, work: Path, timeout: float) -> tuple[str, mutants.Outcome]:
    _, data = mutants.mutant(seed)
    spec = work / f"mutant-{seed}.yaml"
    spec.write_bytes(data)
    command = mutants.COMMANDS[seed % len(mutants.COMMANDS)]
    argv = [part.format(spec=spec, out=work / f"out-{seed}") for part in command]
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _PROBE, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _, stderr = child.communicate(timeout=timeout)
        code: int | None = child.returncode
    except subprocess.TimeoutExpired:
        child.kill()
        _, stderr = child.communicate()
        code = None
    seconds = time.perf_counter() - start
    text = stderr.decode(errors="replace")
    peak = 0.0
    if code is not None and text.endswith(_PEAK_END):
        text, _, hwm = text[: -len(_PEAK_END)].rpartition(_PEAK_START)
        peak = int(hwm) / 1024
    spec.unlink()
    for leftover in work.glob(f"out-{seed}.*"):
        leftover.unlink()
    return str(spec), mutants.Outcome(tuple(argv), code, seconds, peak, text)


def _worker(task: tuple[list[int], float, bool, str | None]) -> list[dict[str, object]]:
    seeds, timeout, use_subprocess, keep = task
    results = []
    with tempfile.TemporaryDirectory(prefix="netspec-fuzz-") as directory:
        work = Path(directory)
        for seed in seeds:
            if use_subprocess:
                spec, outcome = _run_subprocess(seed, work, timeout)
            else:
                spec, outcome = mutants.run_mutant(seed, work, timeout)
            problems = outcome.problems(spec)
            if (problems or outcome.seconds > SLOW_S) and keep:
                _keep(Path(keep), seed, outcome, problems)
            results.append(
                {
                    "seed": seed,
                    "command": outcome.argv[0] + (" --json" if "--json" in outcome.argv else ""),
                    "exit": outcome.exit_code,
                    "seconds": outcome.seconds,
                    "peak_mib": outcome.peak_mib,
                    "problems": problems,
                }
            )
    return results


def _keep(folder: Path, seed: int, outcome: mutants.Outcome, problems: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    source, data = mutants.mutant(seed)
    (folder / f"mutant-{seed}.yaml").write_bytes(data)
    report = {
        "seed": seed,
        "from": source,
        "argv": list(outcome.argv),
        "exit": outcome.exit_code,
        "seconds": round(outcome.seconds, 3),
        "problems": problems,
        "stderr": outcome.stderr[-4000:],
    }
    (folder / f"mutant-{seed}.json").write_text(json.dumps(report, indent=2))


def campaign(
    count: int, first: int, workers: int, timeout: float, use_subprocess: bool, keep: str | None
) -> list[dict[str, object]]:
    seeds = list(range(first, first + count))
    chunks = [seeds[i : i + 50] for i in range(0, len(seeds), 50)]
    tasks = [(chunk, timeout, use_subprocess, keep) for chunk in chunks]
    _preload()
    context = multiprocessing.get_context("fork")
    results: list[dict[str, object]] = []
    with context.Pool(workers) as pool:
        for done in pool.imap_unordered(_worker, tasks):
            results.extend(done)
    return results


def summary(results: list[dict[str, object]]) -> dict[str, object]:
    problems = Counter(p.split(":")[0] for r in results for p in r["problems"])  # type: ignore[attr-defined]
    seconds = [float(r["seconds"]) for r in results]  # type: ignore[arg-type]
    slowest = max(results, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
    return {
        "runs": len(results),
        "clean exits (0/1/2)": sum(r["exit"] in (0, 1, 2) for r in results),
        "exit 0": sum(r["exit"] == 0 for r in results),
        "exit 1": sum(r["exit"] == 1 for r in results),
        "exit 2": sum(r["exit"] == 2 for r in results),
        "exit 3": sum(r["exit"] == 3 for r in results),
        "other exit": sum(r["exit"] not in (0, 1, 2, 3, None) for r in results),
        "timeouts": sum(r["exit"] is None for r in results),
        "tracebacks": problems.get("traceback", 0),
        "unlocated messages": problems.get("unlocated message", 0),
        f"over {SLOW_S:g} s": sum(s > SLOW_S for s in seconds),
        "median s": round(sorted(seconds)[len(seconds) // 2], 3),
        "slowest s": round(float(slowest["seconds"]), 3),  # type: ignore[arg-type]
        "slowest": f"seed {slowest['seed']} ({slowest['command']})",
        "max peak MiB": round(max(float(r["peak_mib"]) for r in results), 1),  # type: ignore[arg-type]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutants", type=int, default=2000, metavar="N")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="the first seed")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="W")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="T", help="seconds a run")
    parser.add_argument("--subprocess", action="store_true", help="python -m netspec per run")
    parser.add_argument("--out", metavar="DIR", help="keep failing and slow mutants here")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    start = time.perf_counter()
    results = campaign(
        args.mutants, args.seed, args.workers, args.timeout, args.subprocess, args.out
    )
    figures = summary(results)
    figures["wall s"] = round(time.perf_counter() - start, 1)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        width = max(map(len, figures))
        for name, value in figures.items():
            print(f"{name:<{width}}  {value}")
    bad = sum(
        int(figures[key])  # type: ignore[call-overload]
        for key in ("exit 3", "other exit", "timeouts", "tracebacks", "unlocated messages")
    )
    return 0 if bad == 0 and figures[f"over {SLOW_S:g} s"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
