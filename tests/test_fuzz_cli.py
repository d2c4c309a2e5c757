"""Hostile specs through the real command line: a fixed slice of benchmarks/fuzz_cli.py's campaign.

150 mutants of the shipped specs (tests/fuzz/mutate.py, seeds 0–149), each through one of
`check`, `check --json`, `compile -o` and `draw --format dot -o` in a forked child that calls
`netspec.cli.main`: no internal error, no crash, no traceback, every message on stderr of a
failing run names the mutant's file, and every run finishes well within a second (2 s here, for
a noisy shared machine; the campaign's report uses 1 s). Long campaigns: benchmarks/README.md.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fuzz.mutate import SOURCES, mutant, mutate
from helpers import ROOT

import netspec
from netspec.backends.codegen import CompileError

SEED, MUTANTS = 0, 150
RUN_BOUND_S = 2.0


def _load_runner() -> ModuleType:
    path = ROOT / "benchmarks" / "fuzz_cli.py"
    spec = importlib.util.spec_from_file_location("fuzz_cli", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_cli"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


fuzz_cli = _load_runner()


@pytest.fixture(scope="module")
def runs() -> list:
    jobs = fuzz_cli.campaign_jobs(SEED, MUTANTS, all_commands=False)
    found = list(fuzz_cli.run_all(jobs, in_process=True, workers=2, timeout_s=10.0))
    return sorted(found, key=lambda run: run.seed)


def _described(runs: list) -> Iterator[str]:
    for run in runs:
        status = f"signal {run.signal}" if run.signal is not None else f"exit {run.exit_code}"
        yield (
            f"seed {run.seed} ({run.source}; {'; '.join(run.mutations)}) `{' '.join(run.argv)}`"
            f" -> {status}, {run.wall_s:.2f} s: {run.stderr.strip()[:300]}"
        )


def test_the_slice_covers_every_shipped_spec_and_command(runs: list) -> None:
    assert len(runs) == MUTANTS
    assert {run.source for run in runs} == {str(p.relative_to(ROOT)) for p in SOURCES}
    assert {run.command for run in runs} == set(fuzz_cli.COMMANDS)


def test_no_internal_error_crash_or_timeout(runs: list) -> None:
    bad = [r for r in runs if r.timed_out or r.exit_code not in (0, 1, 2)]
    assert not bad, "\n".join(_described(bad))


def test_no_traceback(runs: list) -> None:
    bad = [r for r in runs if "Traceback" in r.stderr or "Traceback" in r.stdout]
    assert not bad, "\n".join(_described(bad))


def test_every_message_of_a_failing_spec_names_the_mutant(runs: list) -> None:
    bad = []
    for run in runs:
        if run.exit_code != 1:
            continue
        # `draw` writes a broken spec's diagram too, its failing layers in red, and says so.
        allowed = (f"{run.spec_name}:", "wrote ") if run.command == "draw" else run.spec_name
        lines = run.stderr.split("\n")  # as a terminal breaks them: not at U+2028
        if not all(line.startswith(allowed) for line in lines if line):
            bad.append(run)
    assert not bad, "\n".join(_described(bad))


def test_no_control_characters_or_broken_output(runs: list) -> None:
    kinds = ("control characters", "bad output")
    bad = [r for r in runs if any(p.startswith(kinds) for p in r.problems)]
    assert not bad, "\n".join(
        f"{r.problems}: {d}" for r, d in zip(bad, _described(bad), strict=True)
    )


def test_every_run_is_fast(runs: list) -> None:
    slow = [r for r in runs if r.wall_s > RUN_BOUND_S]
    assert not slow, "\n".join(_described(slow))


def test_the_mutator_is_deterministic() -> None:
    text = (ROOT / "specs" / "resnet18.yaml").read_text(encoding="utf-8")
    assert [mutate(text, seed) for seed in range(40)] == [mutate(text, seed) for seed in range(40)]
    assert mutant(12345) == mutant(12345)
    assert len({mutant(seed).data for seed in range(60)}) > 50  # and seeds differ
    assert all(isinstance(mutant(seed).data, bytes) for seed in range(20))


def test_the_judge_sees_what_fails(tmp_path: Path) -> None:
    def judged(exit_code: int, stderr: str, stdout: str = "") -> list[str]:
        run = fuzz_cli.Run(7, "specs/lenet.yaml", (), "check", ["check", "mutant-7.yaml"])
        run.exit_code, run.stderr = exit_code, stderr
        fuzz_cli.judge(run, stdout.encode(), stderr.encode(), tmp_path, slow_s=1.0)
        return run.problems

    assert judged(1, "mutant-7.yaml:3:4: bad\nmutant-7.yaml: 1 error\n") == []
    assert judged(3, "netspec: internal error: ValueError: 12 digits\nThis is a bug\n") == [
        "exit 3: ValueError: N digits"
    ]
    assert judged(1, "oops\n") == ["unprefixed stderr: oops"]
    assert judged(0, "mutant-7.yaml: ok\n", "\x1b]0;x\x07") == [
        "control characters on stdout: check"
    ]
    assert judged(1, "Traceback (most recent call last):\n  x\nKeyError: 'a'\n")[0] == (
        "traceback: KeyError: '…'"
    )


def _clean_mutants(count: int) -> list[tuple[int, str]]:
    """The first mutants (by seed) that check clean: whatever check accepts must compile."""
    found = []
    for seed in range(5_000):
        try:
            text = mutant(seed).data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if netspec.check_text(text, f"mutant-{seed}.yaml").ok:
            found.append((seed, text))
            if len(found) == count:
                return found
    raise AssertionError("too few mutants check clean")


CLEAN = _clean_mutants(10)


@pytest.mark.parametrize(("seed", "text"), CLEAN, ids=[f"seed {seed}" for seed, _ in CLEAN])
def test_a_mutant_that_checks_clean_compiles_to_a_file_that_runs(
    seed: int, text: str, tmp_path: Path
) -> None:
    checked = netspec.check_text(text, f"mutant-{seed}.yaml")
    try:
        source = netspec.compile_source(checked)
    except CompileError as error:  # compile's documented limits, said plainly
        pytest.skip(str(error))
    model_file = tmp_path / "model.py"
    model_file.write_text(source)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        runpy.run_path(str(model_file), run_name="__main__")
    assert "ok: output shape (2, " in printed.getvalue()
