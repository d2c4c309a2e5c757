"""A derandomised slice of the hostile-input campaign (benchmarks/fuzz_specs.py runs long ones).

Mutants of every shipped spec go through the real CLI, each in a forked child: no exit 3, no
traceback, no hang, every message located; and every mutant that checks clean compiles to a
file that runs.
"""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path

import mutants
import pytest

import netspec
from netspec.backends.codegen import CompileError

SLICE = range(0, 160)
CI_BOUND_S = 5.0  # a hang, not noise; the campaign holds every run to 1 s


def test_mutants_are_deterministic() -> None:
    assert [mutants.mutant(seed) for seed in (0, 7, 123)] == [
        mutants.mutant(seed) for seed in (0, 7, 123)
    ]
    assert len({mutants.mutant(seed)[1] for seed in range(50)}) > 45
    assert {name for name, _ in map(mutants.mutant, range(200))} == {
        path.name for path in mutants.SOURCES
    }


def test_a_slice_of_mutants_runs_clean(tmp_path: Path) -> None:
    failures, slow, exits = [], [], set()
    for seed in SLICE:
        spec, outcome = mutants.run_mutant(seed, tmp_path, timeout=30)
        exits.add(outcome.exit_code)
        if problems := outcome.problems(spec):
            failures.append((seed, outcome.argv[0], problems, outcome.stderr[-500:]))
        if outcome.seconds > CI_BOUND_S:
            slow.append((seed, outcome.argv[0], round(outcome.seconds, 2)))
    assert failures == []
    assert slow == []
    assert exits == {0, 1}  # the slice reaches both verdicts


def clean_mutants(count: int) -> list[tuple[int, str]]:
    found = []
    for seed in range(10_000):
        _, data = mutants.mutant(seed)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if netspec.check_text(text, f"mutant-{seed}.yaml").ok:
            found.append((seed, text))
            if len(found) == count:
                return found
    raise AssertionError("too few mutants check clean")


CLEAN = clean_mutants(12)


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
