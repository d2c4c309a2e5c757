"""Training in several processes under torchrun (netspec/train/distributed.py).

Every test starts real torchrun processes (gloo on CPU) on a small Fashion-MNIST, so every one
is slow and each subprocess has a timeout: a hang fails the test instead of the suite. The runs
that several tests compare with are made once per module (``reference``).
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from datagen import write_idx_dataset
from helpers import ROOT

from netspec.cli import main
from netspec.train import checkpoint as checkpoints
from netspec.train import train

pytestmark = pytest.mark.slow

LENET = ROOT / "specs" / "lenet.yaml"  # no batch norm, no dropout: nothing that sees the batch
TRAIN_IMAGES = 1030  # 927 to train on: 29 steps of 16 × 2 an epoch, the last one 16 + 15
STEPS = 29
TEST_IMAGES = 256
# lr 2e-4: 66 % then 71 % validation accuracy (at 1e-3 it is 100 %: nothing to compare)
SETTINGS = ["--epochs", "2", "--seed", "1", "--lr", "0.0002", "--device", "cpu"]
PER_PROCESS = ["--batch-size", "16"]  # × 2 processes: the one process's batch of 32
TIMEOUT = 120  # seconds for any one command: a run here takes about ten
TIMING = ("images_per_second", "seconds")
# What a finished run leaves in its directory (rank 0 alone writes).
ARTEFACTS = {
    "best.pt",
    "config.json",
    "confusion.png",
    "curves.png",
    "last.pt",
    "metrics.csv",
    "metrics.json",
    "report.json",
}
# Two processes end within 1e-7 of one process (Adam, 58 steps; 6e-7 at lr 1e-3): each step
# sums its gradient in another order (two halves of 16, then the all-reduce), float32 rounds
# differently, and Adam's division by √v carries that along. A real mismatch is far larger:
# plain DDP averaging of the unevenly split last batch (the mean of the two processes' means of
# 16 and 15 images, not the batch's mean) ends 6e-4 away; one wrong sample or order, further.
ATOL = RTOL = 1e-5


@dataclass(frozen=True)
class Reference:
    env: dict[str, str]
    work: Path
    one: Path  # one process, batch 32
    two: Path  # two processes (`--nproc 2`: torchrun --standalone), batch 16 each
    two_output: subprocess.CompletedProcess[str]  # that command's


def _environment(work: Path) -> dict[str, str]:
    """The isolated_data fixture's environment, for subprocesses: a data directory, cache and
    no downloads of their own; nothing left from an enclosing torchrun."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_PORT"}
    }
    env.update(
        NETSPEC_DATA=str(work / "data"),
        NETSPEC_CACHE=str(work / "cache"),
        NETSPEC_NO_DOWNLOAD="1",
    )
    return env


def _torchrun(*launch: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", *launch, "-m", "netspec", "train"]


def _two_processes(*words: str) -> list[str]:
    """netspec train WORDS in two processes on this machine (--standalone: a free port)."""
    return [*_torchrun("--standalone", "--nproc-per-node", "2"), *words]


def _run(command: list[str], reference: Reference) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=reference.env,
        cwd=reference.work,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    """The data, a one-process run (batch 32) and a two-process run (16 each) of lenet. The
    latter is started as `netspec train … --nproc 2`, which runs `python -m
    torch.distributed.run --standalone --nproc-per-node=2 -m netspec train …` (test e checks
    that it did): torchrun's start-up is most of a test's time, and one serves (a) and (e)."""
    work = tmp_path_factory.mktemp("distributed")
    write_idx_dataset(work / "data" / "FashionMNIST" / "raw", train=TRAIN_IMAGES, test=TEST_IMAGES)
    env = _environment(work)
    one, two = work / "one", work / "two"
    with pytest.MonkeyPatch.context() as patch:  # one process: in this one, as isolated_data
        for key in ("NETSPEC_DATA", "NETSPEC_CACHE", "NETSPEC_NO_DOWNLOAD"):
            patch.setenv(key, env[key])
        result = train(
            LENET, {"epochs": 2, "batch_size": 32, "seed": 1, "lr": 2e-4}, out=one, device="cpu"
        )
    assert result.status == "finished", result.message
    command = [sys.executable, "-m", "netspec", "train", str(LENET), "--out", str(two)]
    ran = subprocess.run(
        [*command, *SETTINGS, *PER_PROCESS, "--nproc", "2"],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        timeout=TIMEOUT,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    yield Reference(env, work, one, two, ran)


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return checkpoints.load(run_dir / "last.pt")["model"]


def _assert_equal_weights(first: Path, second: Path) -> None:
    a, b = _weights(first), _weights(second)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def _metrics(run_dir: Path) -> list[dict[str, Any]]:
    return json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))


def _report(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "report.json").read_text(encoding="utf-8"))


def _untimed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k not in TIMING} for row in rows]


# --- finding torchrun's workers ----------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        import psutil  # type: ignore[import-not-found]
    except ImportError:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            # "pid (command) state ppid …": the command may hold spaces and parentheses
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        return found
    try:
        return [child.pid for child in psutil.Process(pid).children()]
    except psutil.NoSuchProcess:
        return []


def _rank(pid: int) -> int | None:
    try:
        variables = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for variable in variables:
        if variable.startswith(b"RANK="):
            return int(variable[5:])
    return None


def _signal_after_first_epoch(
    process: subprocess.Popen[str], run_dir: Path, rank: int, signum: signal.Signals
) -> float:
    """Send ``signum`` to torchrun's worker ``rank`` once the run's first epoch has ended (its
    metrics.json is written: the second epoch is starting); when it was sent. Kills torchrun
    if that does not happen."""
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            assert process.poll() is None, f"torchrun ended early ({process.returncode})"
            assert time.monotonic() < deadline, "no first epoch"
            if (run_dir / "metrics.json").exists():
                workers = {_rank(pid): pid for pid in _children(process.pid)}
                if rank in workers:
                    os.kill(workers[rank], signum)
                    return time.monotonic()
            time.sleep(0.005)
    except BaseException:
        for pid in _children(process.pid):  # its workers first: orphans would train on
            os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait()
        raise


def _start(command: list[str], reference: Reference, log: Path) -> subprocess.Popen[str]:
    """A command running in the background, its output in files (a pipe nobody reads would
    fill and stop it)."""
    return subprocess.Popen(
        command,
        stdout=(log.with_suffix(".out")).open("w"),
        stderr=(log.with_suffix(".err")).open("w"),
        text=True,
        env=reference.env,
        cwd=reference.work,
    )


def _wait(process: subprocess.Popen[str], log: Path) -> tuple[int, str]:
    try:
        code = process.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    return code, log.with_suffix(".err").read_text(encoding="utf-8")


# --- the tests ----------------------------------------------------------------------------------


def test_two_processes_of_half_the_batch_train_as_one_process(reference: Reference) -> None:
    """(a) 2 × 16 under torchrun ends where 1 × 32 does: the weights (to float rounding), the
    metrics, and the validation and test figures, counted over both processes' slices."""
    one, two = _weights(reference.one), _weights(reference.two)
    assert one.keys() == two.keys()
    for name in one:
        torch.testing.assert_close(two[name], one[name], atol=ATOL, rtol=RTOL, msg=name)

    metrics_one, metrics_two = _metrics(reference.one), _metrics(reference.two)
    assert [row["epoch"] for row in metrics_two] == [1, 2]
    assert (
        [row["steps"] for row in metrics_two]
        == [row["steps"] for row in metrics_one]
        == [STEPS] * 2
    )
    for row_one, row_two in zip(metrics_one, metrics_two, strict=True):
        # accuracies are counts over the whole validation split, equal as the weights agree
        assert row_two["val_accuracy"] == row_one["val_accuracy"]
        assert row_two["train_accuracy"] == row_one["train_accuracy"]
        assert row_two["val_loss"] == pytest.approx(row_one["val_loss"], rel=1e-4)
        assert row_two["train_loss"] == pytest.approx(row_one["train_loss"], rel=1e-4)
        assert row_two["lr"] == row_one["lr"]

    report_one, report_two = _report(reference.one), _report(reference.two)
    assert report_two["final"]["samples"] == TEST_IMAGES  # both slices, not rank 0's half
    assert report_two["final"]["confusion"] == report_one["final"]["confusion"]
    assert report_two["test_accuracy"] == report_one["test_accuracy"]
    assert report_two["best_val_accuracy"] == report_one["best_val_accuracy"]
    assert report_two["steps"] == report_one["steps"] == 2 * STEPS
    totals = [row["total"] for row in report_two["final"]["per_class"]]
    assert sum(totals) == TEST_IMAGES


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="simulating two nodes needs two CPUs to give one to each",
)
def test_two_nodes_on_localhost_train_as_two_local_processes(
    reference: Reference, tmp_path: Path
) -> None:
    """(b) Two torchrun invocations, one process each, joined by a static rendezvous
    (--nnodes 2 --node-rank 0/1 --master-addr/--master-port: node 0 holds the store, so its
    process is rank 0, the one that writes), end with the two-process run's weights."""
    # Each "node" gets its own half of the CPUs, as a real node has its own: netspec gives each
    # process its CPUs ÷ the processes on its node, so unpinned both would take them all and
    # crowd each other (10 × slower here), and a different thread count rounds differently.
    cpus = sorted(os.sched_getaffinity(0))
    half = len(cpus) // 2
    port = _free_port()
    out = tmp_path / "nodes"
    nodes = []
    for node in (0, 1):
        launch = (
            "--nnodes", "2", "--node-rank", str(node), "--nproc-per-node", "1",
            "--master-addr", "127.0.0.1", "--master-port", str(port),
        )  # fmt: skip
        command = [*_torchrun(*launch), str(LENET), "--out", str(out), *SETTINGS, *PER_PROCESS]
        mine = set(cpus[node * half : (node + 1) * half])
        nodes.append(
            subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=reference.env,
                cwd=reference.work,
                preexec_fn=functools.partial(os.sched_setaffinity, 0, mine),
            )
        )
    outputs = []
    try:
        for process in nodes:
            outputs.append(process.communicate(timeout=TIMEOUT))
    finally:
        for process in nodes:
            if process.poll() is None:
                process.kill()
                process.wait()
    for process, (_, err) in zip(nodes, outputs, strict=True):
        assert process.returncode == 0, err
    # Same processes, same slices, same collectives: bit for bit what --standalone computes
    # (two floats add up the same whichever process holds which).
    _assert_equal_weights(out, reference.two)
    assert "finished: " in outputs[0][1] and "finished: " not in outputs[1][1]
    assert outputs[1][0] == ""  # node 1's rank 1 prints nothing
    assert {path.name for path in out.iterdir()} == ARTEFACTS
    assert _untimed(_metrics(out)) == _untimed(_metrics(reference.two))


def test_a_stopped_two_process_run_resumes_to_the_uninterrupted_one(
    reference: Reference,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """(c) SIGTERM to one worker in the second epoch: both stop at one step, rank 0 saves one
    last.pt and says how to continue; --resume under torchrun ends bit for bit where the
    uninterrupted two-process run did; resuming with one process is refused."""
    out = tmp_path / "stopped"
    log = tmp_path / "stopped"
    command = _two_processes(str(LENET), "--out", str(out), *SETTINGS, *PER_PROCESS)
    process = _start(command, reference, log)
    # rank 1: the process that neither prints nor writes must still stop rank 0
    _signal_after_first_epoch(process, out, 1, signal.SIGTERM)
    code, err = _wait(process, log)
    assert code == 1, err  # torchrun's own code for workers that failed
    assert re.search(r"exitcode\s*:\s*130\b", err), err  # a worker's: interrupted
    checkpoint = checkpoints.load(out / "last.pt")
    position = checkpoint["position"]
    assert position["epoch"] == 1 and 0 < position["step"] < STEPS
    assert position["global_step"] == STEPS + position["step"]
    assert len(checkpoint["rng"]["processes"]) == 2
    assert (
        f"interrupted at epoch 2, step {position['step']}: saved {out / 'last.pt'}. "
        f"Continue with: netspec train {LENET} --resume --out {out} --nproc 2"
    ) in err
    assert err.count("interrupted at epoch") == 1  # rank 0 alone speaks
    # one last.pt (and the first epoch's best.pt), nothing half-written
    assert sorted(path.name for path in out.iterdir()) == [
        "best.pt", "config.json", "last.pt", "metrics.csv", "metrics.json",
    ]  # fmt: skip

    # One process may not resume a two-process run: its steps would be half as large.
    for key in ("NETSPEC_DATA", "NETSPEC_CACHE", "NETSPEC_NO_DOWNLOAD"):
        monkeypatch.setenv(key, reference.env[key])
    assert main(["train", str(LENET), "--resume", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        "netspec: error: this run was trained by 2 processes (each step took batch_size × 2 "
        "images); resume it with as many, not 1"
    )
    assert checkpoints.load(out / "last.pt")["position"] == position  # untouched

    resumed = _run(_two_processes(str(LENET), "--resume", "--out", str(out)), reference)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {out} at epoch 2, step {position['step']}" in resumed.stdout
    # Equal, not just close: the same single-threaded processes redo the same steps from the
    # saved weights, Adam state and generators, so every float is computed as before.
    _assert_equal_weights(out, reference.two)
    rows, whole = _untimed(_metrics(out)), _untimed(_metrics(reference.two))
    assert [{**row, "train_loss": None} for row in rows] == [
        {**row, "train_loss": None} for row in whole
    ]
    # the resumed epoch's loss sum is added up in another order (float64): the last digits
    for row, other in zip(rows, whole, strict=True):
        assert row["train_loss"] == pytest.approx(other["train_loss"], rel=1e-12, abs=0)
    assert _report(out)["final"] == _report(reference.two)["final"]


def test_a_killed_process_stops_the_other_with_a_message(
    reference: Reference, tmp_path: Path
) -> None:
    """(d) kill -9 of rank 1 in the second epoch: rank 0 does not wait for it in the next
    collective (for COLLECTIVE_TIMEOUT's ten minutes) but fails at once and says why."""
    out = tmp_path / "killed"
    log = tmp_path / "killed"
    command = _two_processes(str(LENET), "--out", str(out), *SETTINGS, *PER_PROCESS)
    process = _start(command, reference, log)
    killed = _signal_after_first_epoch(process, out, 1, signal.SIGKILL)
    code, err = _wait(process, log)
    waited = time.monotonic() - killed
    assert code == 1, err
    # Well under torchrun's 30 s between its SIGTERM and a SIGKILL: rank 0 ended by itself.
    assert waited < 20, f"{waited:.1f} s from the kill to the end"
    assert "netspec train: process 0 of 2 lost the others (" in err
    assert "another process of the run stopped or failed (its own message says why)" in err
    assert re.search(r"exitcode\s*:\s*-9\b", err), err  # torchrun's report: the killed one
    assert "finished: " not in err


def test_nproc_trains_in_two_processes_and_rank_0_alone_speaks_and_writes(
    reference: Reference,
) -> None:
    """(e) `netspec train … --nproc 2` (the module's two-process run) runs torchrun itself:
    one "training" line, one line per epoch, one "finished" line, the usual files written once
    (by rank 0: a second writer would have raced it for the lock or left temporaries)."""
    ran, out = reference.two_output, reference.two
    lines = (ran.stdout + ran.stderr).splitlines()
    assert sum("finished: " in line for line in lines) == 1
    assert sum(line.startswith("training lenet on ") for line in lines) == 1
    assert sum(line.startswith("epoch 1/2  train loss") for line in lines) == 1
    assert sum(line.startswith("epoch 2/2  train loss") for line in lines) == 1
    assert "batch 16 × 2 processes" in ran.stdout
    launched = [line for line in lines if line.startswith("netspec train: ")]
    assert len(launched) == 1  # what it ran: torchrun, two processes, without --nproc
    torchrun = " -m torch.distributed.run --standalone --nproc-per-node=2 -m netspec train "
    assert torchrun in launched[0]
    assert "--nproc " not in launched[0].split("-m netspec", 1)[1]
    assert {path.name for path in out.iterdir()} == ARTEFACTS
    assert {path.name for path in reference.one.iterdir()} == ARTEFACTS  # one process: the same
    csv_lines = (out / "metrics.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0].startswith("epoch,")
    assert [line.split(",")[0] for line in csv_lines[1:]] == ["1", "2"]
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["processes"] == 2
