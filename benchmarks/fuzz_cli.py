"""Mutation fuzzing of the real command line: hostile specs through `netspec`, every run judged.

    python benchmarks/fuzz_cli.py [--mutants 1000] [--seed 0] [--workers 2] [--timeout 10]
                                  [--in-process] [--all-commands] [--out DIR [--minimise]]
                                  [--json FILE] [--memory-mb 1024] [--slow 1.0]

Mutant i of a campaign is `tests/fuzz/mutate.py`'s ``mutant(seed + i)``: a shipped spec (seed
modulo the list picks which) with one to four mutations. Each mutant runs one command, round-robin
by its seed; ``--all-commands`` runs all four on every mutant:

    check M | check --json M | compile M -o out.py | draw M --format dot -o out.dot

Each run is a child process in a directory of its own, the mutant saved there as
``mutant-SEED.yaml``, killed after ``--timeout`` seconds of wall time, its address space capped
at ``--memory-mb`` (RLIMIT_AS, set in the child before it runs anything; in-process, that much
beyond the address space the fork starts with, which is gigabytes in a process that has
imported torch). By default the child
execs ``python -m netspec ...``, the whole command as a user runs it (Python's start-up, about
0.25 s, included). ``--in-process`` forks a fresh child per run from this process, which has
imported netspec and run each command once on a shipped spec; the child calls
``netspec.cli.main([...])`` and exits with its status. Nothing carries over from one run to the
next, and 20,000 runs take minutes, not hours. Wall times are the child's, fork to exit; peak
memory is the child's maximum resident set size as the kernel reports it (os.wait4; a forked
child counts the pages of the parent's it touches).

A run is judged on: its exit status (0, 1, 2 are clean; 3 is an internal error, any other
status or a signal a crash), a Python traceback in its output, stderr lines that start with
neither the mutant's file name (``mutant-SEED.yaml:LINE:COL: ...`` or ``mutant-SEED.yaml: ...``)
nor ``wrote`` (or ``netspec``/``usage:`` for a usage error), raw control characters in its output
(a spec's text acting on the terminal), `check --json` output that is not JSON, a compiled file
that is not Python, a wall time over ``--slow`` seconds (1 s), and the timeout. Failing runs are
grouped into classes (exit 3 by exception type and message, the others by what went wrong) and,
with ``--out``, saved as ``SEED-COMMAND.yaml`` (the mutant) and ``SEED-COMMAND.txt`` (command,
mutations, exit status, time, memory, output); ``--minimise`` then shrinks the first mutant of
each class to ``min-N-SEED-COMMAND.yaml`` (index: ``minimised.md``). ``--seed K --mutants 1``
runs mutant K again.

Exit status: 0 when no run exited 3, crashed, printed a traceback or timed out; else 1. (Slow
runs, unprefixed lines, control characters and bad outputs are reported, and saved with --out,
but do not fail the campaign.)
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import io
import json
import os
import re
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fuzz.mutate import Mutant, mutant  # noqa: E402

COMMANDS: dict[str, list[str]] = {
    "check": ["check", "{spec}"],
    "check-json": ["check", "--json", "{spec}"],
    "compile": ["compile", "{spec}", "-o", "out.py"],
    "draw": ["draw", "{spec}", "--format", "dot", "-o", "out.dot"],
}
CLEAN_EXITS = (0, 1, 2)
EXIT_HARNESS = 125  # the in-process child could not run main() or it raised past it
KEPT_OUTPUT = 4_000  # characters of stdout kept per run (stderr is kept whole)
MAX_READ = 256 * 1024 * 1024  # bytes of output judged per stream
TRACEBACK = "Traceback (most recent call last)"
# C0 controls but tab and newline, DEL, and C1 controls as UTF-8 (0x9b is a CSI on some
# terminals): none of them may reach the terminal from a spec.
_RAW_CONTROLS = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
_INTERNAL = re.compile(r"netspec: internal error: (.*)")
_VERDICT = re.compile(
    r": (ok|\d+ errors?(, \d+ warnings?)?|\d+ warnings?|not compiled: .*|nothing .*)$"
)


@dataclass
class Run:
    """One command on one mutant, and what came of it."""

    seed: int
    source: str
    mutations: tuple[str, ...]
    command: str  # a key of COMMANDS
    argv: list[str]
    exit_code: int | None = None  # None when killed by a signal
    signal: int | None = None
    timed_out: bool = False
    wall_s: float = 0.0
    max_rss_kib: int = 0
    stdout: str = ""  # the last KEPT_OUTPUT characters
    stderr: str = ""
    problems: list[str] = field(default_factory=list)  # failure classes, see judge()
    lines_without_position: int = 0  # diagnostics with `file:` but no `line:col`

    @property
    def spec_name(self) -> str:
        return f"mutant-{self.seed}.yaml"


# ---------------------------------------------------------------------------------------------
# Running one command in a child process


def _stream(fd: int, like: io.TextIOBase | None) -> io.TextIOWrapper:
    """A text stream on ``fd`` with the encoding and error handling Python gave the original."""
    return io.TextIOWrapper(
        io.FileIO(fd, "w", closefd=False),
        encoding=getattr(like, "encoding", None) or "utf-8",
        errors=getattr(like, "errors", None) or "strict",
    )


def _address_space() -> int:
    """This process's virtual memory size in bytes (Linux), else 0."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _child(directory: Path, argv: list[str], in_process: bool, memory_bytes: int) -> NoReturn:
    """In the forked child: confine, redirect, run the command, exit with its status."""
    try:
        os.setsid()  # its own process group, so that a timeout kills all of it
        os.chdir(directory)
        if memory_bytes:
            # A forked child starts with the parent's address space (gigabytes, if the parent
            # has imported torch): it may grow by memory_bytes; an exec'd one starts afresh.
            limit = memory_bytes + (0 if not in_process else _address_space())
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        for fd, name, flags in (
            (0, os.devnull, os.O_RDONLY),
            (1, "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
            (2, "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        ):
            opened = os.open(name, flags, 0o644)
            os.dup2(opened, fd)
            os.close(opened)
        os.environ.pop("NETSPEC_DEBUG", None)
        if not in_process:
            os.execv(sys.executable, [sys.executable, "-m", "netspec", *argv])
        sys.stdout = _stream(1, sys.__stdout__)
        sys.stderr = _stream(2, sys.__stderr__)
        from netspec.cli import main

        status = main(argv)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
            sys.stderr.flush()
        os._exit(EXIT_HARNESS)


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(MAX_READ)
    except OSError:
        return b""


@dataclass
class _Running:
    run: Run
    directory: Path
    started: float
    killed: bool = False


def _finish(job: _Running, status: int, usage: resource.struct_rusage, slow_s: float) -> Run:
    run = job.run
    run.wall_s = time.perf_counter() - job.started
    run.max_rss_kib = usage.ru_maxrss
    if os.WIFEXITED(status):
        run.exit_code = os.WEXITSTATUS(status)
    else:
        run.signal = os.WTERMSIG(status)
    run.timed_out = job.killed
    stdout, stderr = _read(job.directory / "stdout"), _read(job.directory / "stderr")
    run.stdout = stdout.decode("utf-8", "backslashreplace")[-KEPT_OUTPUT:]
    run.stderr = stderr.decode("utf-8", "backslashreplace")
    judge(run, stdout, stderr, job.directory, slow_s)
    shutil.rmtree(job.directory, ignore_errors=True)
    return run


def run_all(
    jobs: Iterable[tuple[Mutant, str]],
    *,
    in_process: bool,
    workers: int = 2,
    timeout_s: float = 10.0,
    memory_mb: int = 1024,
    slow_s: float = 1.0,
) -> Iterator[Run]:
    """Run each (mutant, command) in a child of its own, ``workers`` at a time; yield each
    judged run as it finishes (not in order)."""
    if in_process:
        warm_up()
    pending = deque(jobs)
    running: dict[int, _Running] = {}
    with tempfile.TemporaryDirectory(prefix="netspec-fuzz-") as scratch:
        try:
            yield from _schedule(
                pending, running, Path(scratch), in_process, workers, timeout_s, memory_mb, slow_s
            )
        finally:  # the caller stopped early: no child is left running or unreaped
            for pid in running:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)


def _schedule(
    pending: deque[tuple[Mutant, str]],
    running: dict[int, _Running],
    scratch: Path,
    in_process: bool,
    workers: int,
    timeout_s: float,
    memory_mb: int,
    slow_s: float,
) -> Iterator[Run]:
    while pending or running:
        while pending and len(running) < workers:
            item, command = pending.popleft()
            directory = scratch / f"{item.seed}-{command}"
            directory.mkdir()
            spec_name = f"mutant-{item.seed}.yaml"
            (directory / spec_name).write_bytes(item.data)
            argv = [part.format(spec=spec_name) for part in COMMANDS[command]]
            run = Run(item.seed, item.source, item.mutations, command, argv)
            sys.stdout.flush()
            sys.stderr.flush()
            started = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                _child(directory, argv, in_process, memory_mb * 1024 * 1024)
            running[pid] = _Running(run, directory, started)
        finished = []
        for pid in list(running):
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:  # judged at once: the time is taken before the caller sees any run
                finished.append(_finish(running.pop(pid), status, usage, slow_s))
        if finished:
            yield from finished
            continue
        now = time.perf_counter()
        for pid, job in running.items():
            if not job.killed and now - job.started > timeout_s:
                job.killed = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        time.sleep(0.001)


_warmed = False


def warm_up() -> None:
    """Import what the commands import and run each once on a shipped spec, here in the
    parent, so that a forked child's time is its own run's work."""
    global _warmed
    if _warmed:
        return
    _warmed = True
    from netspec.cli import main

    spec = str(ROOT / "specs" / "residual_cnn.yaml")
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as devnull:
        for command in COMMANDS.values():
            argv = [part.format(spec=spec) for part in command]
            argv = [str(Path(tmp) / a) if a.startswith("out.") else a for a in argv]
            with contextlib.redirect_stdout(devnull), contextlib.redirect_stderr(devnull):
                main(argv)


# ---------------------------------------------------------------------------------------------
# Judging a run


def _normalise(text: str, width: int = 110) -> str:
    """A message with its particulars (numbers, quoted text, file names) blanked, so that runs
    failing the same way fall into one class."""
    text = re.sub(r"mutant-\d+\.yaml", "M", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"\d+", "N", text)
    return text[:width]


def judge(run: Run, stdout: bytes, stderr: bytes, directory: Path, slow_s: float) -> None:
    """Fill ``run.problems`` with the failure classes of this run (none when it is clean)."""
    problems = run.problems
    text = run.stderr
    if run.timed_out:
        problems.append(f"timeout: {run.command}")
    elif run.signal is not None:
        problems.append(f"killed by {signal.Signals(run.signal).name}: {run.command}")
    elif run.exit_code == 3:
        match = _INTERNAL.search(text)
        problems.append(f"exit 3: {_normalise(match.group(1)) if match else text[:80]}")
    elif run.exit_code not in CLEAN_EXITS:
        last = text.strip().split("\n")[-1:]
        problems.append(f"exit {run.exit_code}: {_normalise(last[0])}")
    for output in (stdout, stderr):
        if TRACEBACK.encode() in output:
            lines = output.decode("utf-8", "replace").strip().split("\n")
            problems.append(f"traceback: {_normalise(lines[-1] if lines else '')}")
            break
    if run.timed_out or run.exit_code not in CLEAN_EXITS:
        return
    allowed = (f"{run.spec_name}:", "wrote ")
    if run.exit_code == 2:
        allowed += ("netspec", "usage:")
    for line in text.split("\n"):  # a terminal's lines: U+2028 and the like do not break them
        if line and not line.startswith(allowed):
            problems.append(f"unprefixed stderr: {_normalise(line, 60)}")
            break
        if line.startswith(f"{run.spec_name}: ") and not _VERDICT.search(line):
            run.lines_without_position += 1
    if _RAW_CONTROLS.search(stdout) or _RAW_CONTROLS.search(stderr):
        where = "stdout" if _RAW_CONTROLS.search(stdout) else "stderr"
        problems.append(f"control characters on {where}: {run.command}")
    if run.command == "check-json" and run.exit_code in (0, 1):
        try:
            json.loads(stdout.decode("utf-8"))
        except ValueError as error:
            problems.append(f"bad output: check --json is not JSON ({type(error).__name__})")
    if run.command == "compile" and run.exit_code == 0:
        try:
            ast.parse((directory / "out.py").read_bytes())
        except (OSError, SyntaxError, ValueError) as error:
            problems.append(f"bad output: compiled file is not Python ({type(error).__name__})")
    if run.wall_s > slow_s:
        problems.append(f"slow (> {slow_s:g} s): {run.command}")


FAILING = ("timeout", "killed by", "exit", "traceback")  # classes that fail the campaign


def is_failure(problem: str) -> bool:
    return problem.startswith(FAILING)


def minimise(
    item: Mutant,
    command: str,
    problem: str,
    *,
    budget: int = 400,
    budget_s: float = 60.0,
    **options: Any,
) -> bytes:
    """The smallest part of ``item``'s bytes found (delta debugging, by lines then by bytes,
    at most ``budget`` runs and about ``budget_s`` seconds) on which ``command`` still shows
    ``problem``. ``options`` go to run_all()."""
    tries = 0
    deadline = time.monotonic() + budget_s

    def still_fails(data: bytes) -> bool:
        nonlocal tries
        tries += 1
        if time.monotonic() > deadline:  # a timeout class costs --timeout a try
            tries = budget
            return False
        candidate = dataclasses.replace(item, data=data)
        return any(problem in run.problems for run in run_all([(candidate, command)], **options))

    data = item.data
    for parts in (data.splitlines(keepends=True), None):
        parts = parts if parts is not None else [data[i : i + 1] for i in range(len(data))]
        pieces = 2
        while len(parts) >= 2 and tries < budget:
            size = -(-len(parts) // pieces)
            for start in range(0, len(parts), size):
                candidate = parts[:start] + parts[start + size :]
                if tries < budget and still_fails(b"".join(candidate)):
                    parts, pieces = candidate, max(pieces - 1, 2)
                    break
            else:
                if pieces >= len(parts):
                    break
                pieces = min(len(parts), pieces * 2)
        data = b"".join(parts)
    return data


# ---------------------------------------------------------------------------------------------
# The campaign


def campaign_jobs(seed: int, mutants: int, all_commands: bool) -> Iterator[tuple[Mutant, str]]:
    names = list(COMMANDS)
    for current in range(seed, seed + mutants):
        item = mutant(current)
        for command in names if all_commands else [names[current % len(names)]]:
            yield item, command


def save(run: Run, data: bytes, out: Path) -> None:
    stem = f"{run.seed}-{run.command}"
    (out / f"{stem}.yaml").write_bytes(data)
    status = f"signal {run.signal}" if run.signal is not None else f"exit {run.exit_code}"
    (out / f"{stem}.txt").write_text(
        f"command: netspec {' '.join(run.argv)}   (in the mutant's directory)\n"
        f"source: {run.source}\nmutations: {'; '.join(run.mutations)}\n"
        f"status: {status}{' (timed out)' if run.timed_out else ''}\n"
        f"wall: {run.wall_s:.3f} s\npeak RSS: {run.max_rss_kib / 1024:.1f} MiB\n"
        f"problems: {'; '.join(run.problems)}\n\n"
        f"--- stderr\n{run.stderr}\n--- stdout (tail)\n{run.stdout}\n",
        encoding="utf-8",
        errors="backslashreplace",
    )


@dataclass
class FailureClass:
    runs: int = 0
    examples: list[str] = field(default_factory=list)  # the first few, as SEED-COMMAND


@dataclass
class Summary:
    runs: int = 0
    mutants: int = 0
    exits: Counter[str] = field(default_factory=Counter)
    exit_3: int = 0
    crashes: int = 0  # other exit statuses and signals, timeouts aside
    tracebacks: int = 0
    timeouts: int = 0
    unprefixed: int = 0
    control_characters: int = 0
    bad_outputs: int = 0
    lines_without_position: int = 0
    slow: int = 0
    max_wall_s: float = 0.0
    max_wall_run: str = ""
    median_wall_s: float = 0.0
    max_rss_mib: float = 0.0
    max_rss_run: str = ""
    elapsed_s: float = 0.0
    classes: dict[str, FailureClass] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.exit_3 or self.crashes or self.tracebacks or self.timeouts)


def summarise(runs: list[Run], elapsed_s: float) -> Summary:
    summary = Summary(runs=len(runs), mutants=len({r.seed for r in runs}), elapsed_s=elapsed_s)
    for run in runs:
        key = f"signal {run.signal}" if run.signal is not None else str(run.exit_code)
        summary.exits[key] += 1
        summary.exit_3 += run.exit_code == 3
        summary.timeouts += run.timed_out
        summary.crashes += not run.timed_out and run.exit_code not in (*CLEAN_EXITS, 3)
        summary.tracebacks += any(p.startswith("traceback") for p in run.problems)
        summary.unprefixed += any(p.startswith("unprefixed") for p in run.problems)
        summary.control_characters += any(p.startswith("control") for p in run.problems)
        summary.bad_outputs += any(p.startswith("bad output") for p in run.problems)
        summary.lines_without_position += run.lines_without_position
        summary.slow += any(p.startswith("slow") for p in run.problems)
        label = f"{run.seed} {run.command}"
        if run.wall_s > summary.max_wall_s:
            summary.max_wall_s, summary.max_wall_run = run.wall_s, label
        if run.max_rss_kib / 1024 > summary.max_rss_mib:
            summary.max_rss_mib, summary.max_rss_run = run.max_rss_kib / 1024, label
        for problem in run.problems:
            entry = summary.classes.setdefault(problem, FailureClass())
            entry.runs += 1
            if len(entry.examples) < 5:
                entry.examples.append(f"{run.seed}-{run.command}")
    if runs:
        summary.median_wall_s = statistics.median(r.wall_s for r in runs)
    return summary


def print_summary(summary: Summary, args: argparse.Namespace) -> None:
    mode = "in-process (fork per run)" if args.in_process else "subprocess (python -m netspec)"
    exits = ", ".join(f"{code}: {count:,}" for code, count in sorted(summary.exits.items()))
    rows = [
        ("mode", mode),
        (
            "mutants / runs",
            f"{summary.mutants:,} / {summary.runs:,} (seeds {args.seed}–"
            f"{args.seed + args.mutants - 1})",
        ),
        ("exit statuses", exits),
        ("clean exits (0, 1, 2)", f"{sum(summary.exits[str(c)] for c in CLEAN_EXITS):,}"),
        ("exit 3 (internal error)", f"{summary.exit_3:,}"),
        ("crashes (other status, signal)", f"{summary.crashes:,}"),
        ("tracebacks in output", f"{summary.tracebacks:,}"),
        ("timeouts", f"{summary.timeouts:,} (limit {args.timeout:g} s)"),
        ("runs with stderr lines lacking `file:`", f"{summary.unprefixed:,}"),
        ("diagnostics with `file:` but no line:col", f"{summary.lines_without_position:,}"),
        ("runs with raw control characters out", f"{summary.control_characters:,}"),
        ("bad outputs (JSON, compiled Python)", f"{summary.bad_outputs:,}"),
        (f"runs over {args.slow:g} s", f"{summary.slow:,}"),
        (
            "median / max wall per run",
            f"{summary.median_wall_s:.3f} s / {summary.max_wall_s:.3f} s ({summary.max_wall_run})",
        ),
        ("max peak RSS", f"{summary.max_rss_mib:.0f} MiB ({summary.max_rss_run})"),
        ("campaign wall time", f"{summary.elapsed_s:.0f} s ({args.workers} workers)"),
    ]
    print("| measure | value |\n|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")
    if summary.classes:
        print("\n| failure class | runs | examples (seed-command) |\n|---|---|---|")
        ranked = sorted(summary.classes.items(), key=lambda item: -item[1].runs)
        for problem, entry in ranked[:40]:
            cell = problem.replace("|", "\\|").replace("`", "'")
            print(f"| {cell} | {entry.runs:,} | {', '.join(entry.examples)} |")
        if len(ranked) > 40:
            print(f"\n({len(ranked) - 40} more classes: see --json)")


def write_minimised(
    summary: Summary, runs: list[Run], data_by_seed: dict[int, bytes], args: argparse.Namespace
) -> None:
    """One shrunk reproducer per failure class, with an index ``minimised.md``."""
    by_label = {f"{run.seed}-{run.command}": run for run in runs}
    index = ["| file | failure class | from |", "|---|---|---|"]
    for number, (problem, entry) in enumerate(summary.classes.items(), 1):
        run = by_label[entry.examples[0]]
        item = Mutant(run.seed, run.source, run.mutations, data_by_seed[run.seed])
        data = minimise(
            item,
            run.command,
            problem,
            in_process=args.in_process,
            workers=1,
            timeout_s=args.timeout,
            memory_mb=args.memory_mb,
            slow_s=args.slow,
        )
        name = f"min-{number}-{run.seed}-{run.command}.yaml"
        (args.out / name).write_bytes(data)
        index.append(
            f"| {name} | {problem.replace('|', '/')} | {len(item.data):,} → {len(data):,} bytes |"
        )
        print(
            f"minimised {entry.examples[0]}: {len(item.data):,} → {len(data):,} bytes",
            file=sys.stderr,
        )
    (args.out / "minimised.md").write_text("\n".join(index) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=1000, help="how many (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="the first mutant's seed")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time (default 2)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--memory-mb", type=int, default=1024, help="RLIMIT_AS per run")
    parser.add_argument("--slow", type=float, default=1.0, help="a run over this is slow (s)")
    parser.add_argument(
        "--in-process", action="store_true", help="fork a child that calls netspec.cli.main per run"
    )
    parser.add_argument(
        "--all-commands",
        action="store_true",
        help="run every command on every mutant, not one round-robin",
    )
    parser.add_argument("--out", type=Path, help="keep failing mutants and their output here")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    parser.add_argument(
        "--minimise",
        action="store_true",
        help="with --out: shrink the first failing mutant of each class to min-N-SEED-COMMAND.yaml",
    )
    args = parser.parse_args(argv)

    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    runs: list[Run] = []
    data_by_seed: dict[int, bytes] = {}
    jobs = list(campaign_jobs(args.seed, args.mutants, args.all_commands))
    for item, _ in jobs:
        data_by_seed[item.seed] = item.data
    for run in run_all(
        jobs,
        in_process=args.in_process,
        workers=args.workers,
        timeout_s=args.timeout,
        memory_mb=args.memory_mb,
        slow_s=args.slow,
    ):
        runs.append(run)
        if args.out and run.problems:
            save(run, data_by_seed[run.seed], args.out)
        if len(runs) % 500 == 0:
            print(
                f"{len(runs):,}/{len(jobs):,} runs, {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    runs.sort(key=lambda r: (r.seed, r.command))
    summary = summarise(runs, time.perf_counter() - started)
    print_summary(summary, args)
    if args.json:
        report = {
            **asdict(summary),
            "exits": dict(summary.exits),
            "failed": summary.failed,
            "runs_with_problems": [
                {k: v for k, v in asdict(r).items() if k not in ("stdout",)}
                for r in runs
                if r.problems
            ],
        }
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    if args.out and args.minimise:
        write_minimised(summary, runs, data_by_seed, args)
    if args.out:
        print(f"\nfailing mutants: {args.out}/SEED-COMMAND.yaml (+ .txt)")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
