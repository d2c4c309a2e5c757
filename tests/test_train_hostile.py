"""`netspec train` and `netspec eval` against hostile and broken input: damaged or hand-edited
checkpoints, a run directory shared or left by a killed run, missing or oversized data, bad
settings, a full disk, a model too large to build. Each ends with one clear message and exit
1 or 2, never an internal error (3) or a traceback."""

from __future__ import annotations

import errno
import gzip
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from datagen import idx_bytes, write_cifar10, write_idx_dataset

from netspec.cli import main
from netspec.train import cache, train
from netspec.train import checkpoint as checkpoints
from netspec.train.datasets import DataError, load, read_idx
from netspec.train.rundir import locked

# 64 train images in batches of 16: 4 steps an epoch. Dropout makes the random number
# generator matter, so an exact resume must restore it.
TINY = """
name: tiny
input: [1, 28, 28]
layers:
  - flatten
  - dropout: 0.5
  - linear: 10
train:
  data: fashion_mnist
  batch_size: 16
  epochs: 2
  lr: 0.01
  schedule: onecycle
"""
STEPS_PER_EPOCH = 4


def write_data(directory: Path) -> Path:
    return write_idx_dataset(directory, train=64, test=32)


# every test gets its own data directory and cache, and no downloads (conftest.py)
pytestmark = pytest.mark.usefixtures("isolated_data")


@pytest.fixture
def fashion(isolated_data: Path) -> Path:
    return write_data(isolated_data / "FashionMNIST" / "raw")


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


class KilledError(Exception):
    """Stands for the process being killed: nothing after it runs."""


def crash_at(epoch: int, step: int) -> Callable[[Any], None]:
    def callback(run: Any) -> None:
        if (run.position.epoch, run.position.step) == (epoch, step):
            raise KilledError

    return callback


def stop_at(epoch: int, step: int) -> Callable[[Any], None]:
    def callback(run: Any) -> None:
        if (run.position.epoch, run.position.step) == (epoch, step):
            run.request_stop()

    return callback


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run stopped in its second epoch, trained once for the module: best.pt after epoch 1,
    last.pt at epoch 2, step 2. Tests copy it before changing anything."""
    root = tmp_path_factory.mktemp("saved")
    spec_path = root / "tiny.yaml"
    spec_path.write_text(TINY)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NETSPEC_DATA", str(write_data(root / "data")))
        patch.setenv("NETSPEC_CACHE", str(root / "cache"))
        result = train(spec_path, {}, out=root / "run", callbacks=[stop_at(1, 2)])
    assert result.status == "interrupted"
    return root / "run"


@pytest.fixture
def run_copy(saved_run: Path, tmp_path: Path, fashion: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(saved_run, copy)
    return copy


def tamper(path: Path, edit: Callable[[dict[str, Any]], None], sign: bool = True) -> None:
    """Edit a checkpoint's contents; ``sign`` recomputes its checksum, as a careful forger
    would, so that what is checked is the field and not the checksum."""
    state = torch.load(path, weights_only=True)
    edit(state)
    if sign and "checksum" in state:
        state["checksum"] = checkpoints.checksum(state)
    torch.save(state, path)


def run_cli(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(arguments)
    return code, capsys.readouterr().err.strip()


# --- checkpoints -------------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that sets the field at a path (``config/train/lr``)."""

    def edit(state: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        target: Any = state
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] = value

    return edit


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(state: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        target: Any = state
        for part in parents:
            target = target[part]
        del target[last]

    return edit


def _poison(state: dict[str, Any]) -> None:
    state["model"]["linear_1.weight"][0, 0] = float("nan")


# (edit, message after "CHECKPOINT" or "CHECKPOINT does not fit SPEC")
EVAL_CASES = {
    "extra weight": (
        _set("model/extra.weight", torch.zeros(3)),
        "{fit}: unexpected weight 'extra.weight'",
    ),
    "missing weight": (_delete("model/linear_1.bias"), "{fit}: weight 'linear_1.bias' is missing"),
    "wrong shape": (
        _set("model/linear_1.weight", torch.zeros(10, 3)),
        "{fit}: weight 'linear_1.weight' is 10×3 in the checkpoint, 10×784 in the spec",
    ),
    "wrong dtype": (
        _set("model/linear_1.bias", torch.zeros(10, dtype=torch.float64)),
        "{fit}: weight 'linear_1.bias' is torch.float64 in the checkpoint, torch.float32 in the "
        "spec",
    ),
    "NaN weight": (_poison, "{path}: model.linear_1.weight: holds NaN or infinite values"),
    "not a tensor": (
        _set("model/linear_1.bias", [0.0] * 10),
        "{path}: model.linear_1.bias: expected a tensor, got a list",
    ),
    "unknown data set": (
        _set("dataset", "imagenet"),
        "{path}: dataset is 'imagenet' but config.data is 'fashion_mnist'",
    ),
    "data set disagrees": (
        _set("dataset", "mnist"),
        "{path}: dataset is 'mnist' but config.data is 'fashion_mnist'",
    ),
    "one process's generators": (
        _set("rng/processes", [1]),
        "{path}: rng.processes: expected the states of 2 or more processes, got [1]",
    ),
    "a process's generator": (
        _set("rng/processes", [{"torch": torch.get_rng_state()}, {"torch": "x"}]),
        "{path}: rng.processes[1].torch: expected a uint8 tensor of shape [5056], got 'x' (a "
        "string)",
    ),
    "bad lr": (
        _set("config/train/lr", -0.5),
        "{path}: config: train.lr: must be > 0.0, got -0.5",
    ),
    "NaN lr": (
        _set("config/train/lr", float("nan")),
        "{path}: config: train.lr: expected a finite number, got nan",
    ),
    "negative epochs": (
        _set("config/train/epochs", -3),
        "{path}: config: train.epochs: must be ≥ 1, got -3",
    ),
    "epochs as text": (
        _set("config/train/epochs", "2"),
        "{path}: config: train.epochs: expected an integer, got '2' (a string)",
    ),
    "huge seed": (
        _set("config/train/seed", 2**70),
        f"{{path}}: config: train.seed: must be ≤ 4294967295, got {2**70}",
    ),
    "unknown config field": (
        _set("config/colour", "blue"),
        "{path}: config: unexpected field 'colour'",
    ),
    "std of zero": (
        _set("normalization/std", [0.0]),
        "{path}: normalization.std: must be > 0, got 0.0",
    ),
    "std not finite": (
        _set("normalization/std", [float("inf")]),
        "{path}: normalization.std: expected a list of 1 finite number(s), got [inf]",
    ),
    "classes": (
        _set("classes", ["a", "b"]),
        "{path}: classes: expected the fashion_mnist classes, got ['a', 'b']",
    ),
    "empty optimizer": (
        _set("optimizer", {}),
        "{path}: optimizer: expected a mapping of state and param_groups, got an empty mapping",
    ),
    "position as text": (
        _set("position/epoch", "1"),
        "{path}: position.epoch: expected a whole number ≥ 0, got '1' (a string)",
    ),
    "position past the end": (
        _set("position/epoch", 7),
        "{path}: position.epoch is 7, but the run has 2 epoch(s)",
    ),
    "history of another length": (
        _set("history", []),
        "{path}: history has 0 epoch(s) but position.epoch is 1",
    ),
    "best accuracy": (
        _set("best_accuracy", 2.0),
        "{path}: best_accuracy is 2.0, but the best validation accuracy in history is {best}",
    ),
    "rng of the wrong size": (
        _set("rng/torch", torch.zeros(10, dtype=torch.uint8)),
        "{path}: rng.torch: expected a uint8 tensor of shape [5056], got a uint8 tensor of "
        "shape [10]",
    ),
    "extra field": (_set("comment", "hi"), "{path}: unexpected field 'comment'"),
    "missing field": (_delete("history"), "{path}: missing field 'history'"),
    "old version": (
        _set("version", 1),
        "{path}: a version 1 checkpoint, written by an older netspec; this netspec reads "
        "version 4: train again to get one",
    ),
    "no checksum": (_delete("checksum"), "{path}: has no checksum"),
}


@pytest.mark.parametrize("case", list(EVAL_CASES))
def test_eval_refuses_a_wrong_checkpoint(
    case: str, run_copy: Path, spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit, message = EVAL_CASES[case]
    last = run_copy / "last.pt"
    best = checkpoints.load(last)["best_accuracy"]
    tamper(last, edit)
    code, err = run_cli(["eval", str(spec), "--checkpoint", str(last)], capsys)
    expected = message.format(path=last, fit=f"{last} does not fit {spec}", best=best)
    assert (code, err) == (1, f"netspec eval: {expected}")


def test_files_that_are_no_checkpoint(
    spec: Path, fashion: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)  # would block torch.load forever
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(bytes(range(256)) * 8)
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"call": os.system}, unsafe)  # a pickle that would run code
    cases = {
        "/dev/zero": "/dev/zero is not a checkpoint: not a regular file",
        str(fifo): f"{fifo} is not a checkpoint: not a regular file",
        str(garbage): f"{garbage} is not a readable checkpoint: not a file torch.save wrote, "
        "or a damaged one",
        str(unsafe): f"{unsafe} is not a readable checkpoint: it holds objects other than "
        "tensors and plain values, which netspec never loads",
    }
    for path, message in cases.items():
        code, err = run_cli(["eval", str(spec), "--checkpoint", path], capsys)
        assert (code, err) == (1, f"netspec eval: {message}")


def test_a_checkpoint_with_a_flipped_byte_is_refused(
    run_copy: Path, spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bytes of a weight changed inside the file (the zip holds tensors raw): the checksum
    finds it, where the model would otherwise load and evaluate to a wrong accuracy."""
    best = run_copy / "best.pt"
    weight = checkpoints.load(best)["model"]["linear_1.weight"]
    raw = bytearray(best.read_bytes())
    offset = raw.find(weight.numpy().tobytes()[:64])
    assert offset > 0
    raw[offset + 3] ^= 0x40
    best.write_bytes(bytes(raw))
    code, err = run_cli(["eval", str(spec), "--checkpoint", str(best)], capsys)
    assert (code, err) == (
        1,
        f"netspec eval: {best}: its contents do not match its checksum: the file is damaged "
        "or was edited; use another checkpoint",
    )


def _zero_optimizer_state(state: dict[str, Any]) -> None:
    state["optimizer"]["state"] = {}


def _shrink_moment(state: dict[str, Any]) -> None:
    state["optimizer"]["state"][0]["exp_avg"] = torch.zeros(3)


# Wrong in ways that only the network, the data or the settings show: found on --resume.
RESUME_CASES = {
    "empty optimizer state": (
        _zero_optimizer_state,
        "optimizer.state: empty, but the run has taken 6 step(s)",
    ),
    "moment of the wrong shape": (
        _shrink_moment,
        "optimizer.state.0.exp_avg: expected shape [10, 784], got [3]",
    ),
    "optimizer lr not finite": (
        _set("optimizer/param_groups/0/lr", float("inf")),
        "optimizer.param_groups[0].lr: expected a finite number ≥ 0, got inf",
    ),
    "optimizer lr as text": (
        _set("optimizer/param_groups/0/lr", "fast"),
        "optimizer.param_groups[0].lr: expected a finite number ≥ 0, got 'fast' (a string)",
    ),
    "schedule of another length": (
        _set("scheduler/total_steps", 9),
        "scheduler.total_steps: expected 8 (from the run's settings), got 9",
    ),
    "schedule out of step": (
        _set("scheduler/last_epoch", 2),
        "scheduler.last_epoch: expected 6 (the run's step count), got 2",
    ),
    "position out of step": (
        _set("position/global_step", 5),
        "position.global_step is 5, but epoch 1 of 4 steps, step 2 is step 6: the checkpoint "
        "does not fit this data",
    ),
    "position past the epoch": (
        lambda state: state["position"].update(step=9, global_step=13),
        "position.step is 9, but an epoch of fashion_mnist has 4 steps (batches of 16)",
    ),
    "invalid generator state": (
        _set("rng/torch", torch.zeros(5056, dtype=torch.uint8)),
        "rng: not a valid random number generator state (Invalid mt19937 state)",
    ),
}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_resume_refuses_a_wrong_checkpoint(
    case: str, run_copy: Path, spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit, message = RESUME_CASES[case]
    tamper(run_copy / "last.pt", edit)
    code, err = run_cli(["train", str(spec), "--resume", "--out", str(run_copy)], capsys)
    assert (code, err) == (1, f"netspec train: {run_copy / 'last.pt'}: {message}")


def test_the_unchanged_copy_resumes(
    run_copy: Path, spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cases above fail because of their edit, not because copies cannot resume."""
    tamper(run_copy / "last.pt", lambda state: None)
    code, err = run_cli(["train", str(spec), "--resume", "--out", str(run_copy)], capsys)
    assert code == 0, err
    assert checkpoints.load(run_copy / "last.pt")["position"]["global_step"] == 8


# --- the run directory -------------------------------------------------------------------------


def test_a_second_run_of_the_same_directory_is_refused(
    fashion: Path, spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    with locked(out):  # as a run in another process holds it
        assert (out / ".netspec.lock").exists()
        code, err = run_cli(["train", str(spec), "--out", str(out)], capsys)
        assert (code, err) == (
            1,
            f"netspec train: {out}: another netspec run is using this directory; wait for "
            "it to finish, or choose another --out",
        )
        code, _ = run_cli(["train", str(spec), "--out", str(out), "--resume"], capsys)
        assert code == 2  # nothing to resume yet: no last.pt
    assert not out.exists()  # the lock, and the directory it made, went with their holder
    code, err = run_cli(["train", str(spec), "--out", str(out), "--epochs", "1"], capsys)
    assert code == 0, err
    assert not (out / ".netspec.lock").exists()


def test_a_failed_start_leaves_no_empty_run_directory(
    isolated_data: Path, spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run_cli(["train", str(spec), "--out", str(tmp_path / "run")], capsys)
    assert code == 1  # no data
    assert not (tmp_path / "run").exists()


def test_resume_removes_what_a_killed_run_left_half_written(
    run_copy: Path, spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = [run_copy / ".last.pt.k7x_9q2a", run_copy / ".metrics.csv.abcdefgh"]
    kept = [run_copy / ".notes.txt.abcdefgh", run_copy / "last.pt.backup"]
    for path in (*stale, *kept):
        path.write_bytes(b"partial")
    code, err = run_cli(["train", str(spec), "--resume", "--out", str(run_copy)], capsys)
    assert code == 0, err
    assert [path.exists() for path in stale] == [False, False]
    assert [path.exists() for path in kept] == [True, True]


def test_best_pt_is_written_before_last_pt(
    fashion: Path, spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed between the two writes leaves a last.pt whose best accuracy is in a
    best.pt that exists."""
    written: list[str] = []
    write = checkpoints.write_atomically

    def recording(path: Path, data: bytes) -> None:
        written.append(Path(path).name)
        if written.count("last.pt") == 1:
            raise KilledError  # killed while writing the first last.pt
        write(path, data)

    monkeypatch.setattr(checkpoints, "write_atomically", recording)
    with pytest.raises(KilledError):
        train(spec, {}, out=tmp_path / "run")
    assert written == ["best.pt", "last.pt"]
    assert checkpoints.load(tmp_path / "run" / "best.pt")["position"]["epoch"] == 1


# --- mid-epoch checkpoints ---------------------------------------------------------------------


def test_a_run_killed_mid_epoch_resumes_exactly_from_save_every(
    fashion: Path, spec: Path, tmp_path: Path
) -> None:
    settings = {"epochs": 1}
    whole = train(spec, settings, out=tmp_path / "whole")
    assert whole.status == "finished"
    with pytest.raises(KilledError):  # killed after 3 steps: the last checkpoint is at step 2
        train(spec, settings, out=tmp_path / "parted", save_every=2, callbacks=[crash_at(0, 3)])
    position = checkpoints.load(tmp_path / "parted" / "last.pt")["position"]
    assert (position["epoch"], position["step"]) == (0, 2)
    resumed = train(spec, {}, out=tmp_path / "parted", resume=True)
    assert resumed.status == "finished"
    first = checkpoints.load(tmp_path / "whole" / "last.pt")["model"]
    second = checkpoints.load(tmp_path / "parted" / "last.pt")["model"]
    for name in first:
        assert torch.equal(first[name], second[name]), name
    assert resumed.history[0]["train_loss"] == whole.history[0]["train_loss"]


@pytest.mark.slow
def test_kill_9_mid_epoch_then_resume_from_the_command_line(
    fashion: Path, spec: Path, tmp_path: Path
) -> None:
    """A real `netspec train --save-every 1` killed with SIGKILL in its only epoch; --resume
    removes what the kill left half-written and ends with the uninterrupted run's weights."""
    write_idx_dataset(fashion, train=1600, test=32)  # 200 steps of 8: time to kill it
    settings = ["--epochs", "1", "--batch-size", "8"]
    whole = train(spec, {"epochs": 1, "batch_size": 8}, out=tmp_path / "whole")
    assert whole.status == "finished"
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "netspec", "train", str(spec), "--out", str(out), *settings]
    process = subprocess.Popen(
        [*command, "--save-every", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not (out / "last.pt").exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    step = checkpoints.load(out / "last.pt")["position"]["step"]
    assert 0 < step < 200
    resumed = subprocess.run(
        [sys.executable, "-m", "netspec", "train", str(spec), "--out", str(out), "--resume"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert [path.name for path in out.iterdir() if path.name.startswith(".")] == []
    first = checkpoints.load(tmp_path / "whole" / "last.pt")["model"]
    second = checkpoints.load(out / "last.pt")["model"]
    for name in first:
        assert torch.equal(first[name], second[name]), name


def test_without_save_every_a_killed_first_epoch_leaves_nothing(
    fashion: Path, spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(KilledError):
        train(spec, {"epochs": 1}, out=tmp_path / "run", callbacks=[crash_at(0, 3)])
    code, err = run_cli(["train", str(spec), "--resume", "--out", str(tmp_path / "run")], capsys)
    assert (code, err) == (
        2,
        f"netspec: error: --resume: no run to resume in {tmp_path / 'run'} (no last.pt)",
    )


def test_save_every_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert (
        "--save-every N also write last.pt every N training steps, so a killed run resumes "
        "from there (default: only at the end of each epoch and on Ctrl-C)"
    ) in help_text


# --- data --------------------------------------------------------------------------------------


def test_a_data_dir_missing_files_is_not_replaced_by_another(
    fashion: Path, spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--data-dir lacks two files; $NETSPEC_DATA (and maybe the system) hold the whole data
    set: netspec names the missing files rather than train on other data."""
    given = write_data(tmp_path / "mine")
    (given / "t10k-labels-idx1-ubyte.gz").unlink()
    (given / "t10k-images-idx3-ubyte").write_bytes(b"")  # not gzipped: counts as there
    (given / "t10k-images-idx3-ubyte.gz").unlink()
    (given / "train-labels-idx1-ubyte.gz").unlink()
    code, err = run_cli(["train", str(spec), "--data-dir", str(given)], capsys)
    folders = ("", "FashionMNIST/raw", "fashion_mnist", "fashion-mnist", "FashionMNIST")
    assert (code, err) == (
        1,
        "netspec train: fashion_mnist not found. Looked in:\n"
        + "".join(f"  {given / folder}\n" for folder in folders)
        + f"--data-dir {given}: {given} lacks train-labels-idx1-ubyte[.gz], "
        "t10k-labels-idx1-ubyte[.gz]\n"
        "A data directory was given, so netspec looked nowhere else and did not download.\n"
        "On Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist. Or put the four IDX "
        "files (train-images-idx3-ubyte.gz, …) in a directory and pass --data-dir.",
    )


def test_a_data_dir_that_does_not_exist(
    fashion: Path, spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ.pop("NETSPEC_DATA")
    code, err = run_cli(["train", str(spec), "--data-dir", str(tmp_path / "nowhere")], capsys)
    assert code == 1
    assert f"\n--data-dir {tmp_path / 'nowhere'}: no such directory\n" in err


def _replace_images(directory: Path, data: bytes) -> Path:
    path = directory / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(data, compresslevel=1))
    return path


def test_an_idx_file_of_zero_images(fashion: Path, spec: Path) -> None:
    path = _replace_images(fashion, idx_bytes(torch.zeros(0, 28, 28, dtype=torch.uint8).numpy()))
    with pytest.raises(DataError) as error:
        load("fashion_mnist")
    assert str(error.value) == f"{path} is empty: its header declares 0 items"


def test_idx_headers_are_checked_before_the_data_is_read(fashion: Path) -> None:
    header = (0x0803).to_bytes(4, "big")
    path = _replace_images(fashion, header + b"".join(n.to_bytes(4, "big") for n in (5, 32, 32)))
    with pytest.raises(DataError) as error:
        load("fashion_mnist")
    assert str(error.value) == (
        f"{path} holds items of 32×32, expected 28×28 (its header says 5×32×32)"
    )
    path = _replace_images(
        fashion, header + b"".join(n.to_bytes(4, "big") for n in (10**9, 28, 28))
    )
    with pytest.raises(DataError) as error:
        load("fashion_mnist")
    assert str(error.value) == (
        f"{path} declares 1,000,000,000 items, more than the 1,000,000 a data set of this kind "
        "can hold"
    )


def test_a_gzip_bomb_is_refused_without_decompressing_it(tmp_path: Path) -> None:
    """64 MiB of zeros behind a header promising 10 images: refused after reading a little."""
    path = tmp_path / "bomb-idx3-ubyte.gz"
    header = idx_bytes(torch.zeros(10, 28, 28, dtype=torch.uint8).numpy())
    with gzip.open(path, "wb", compresslevel=1) as stream:
        stream.write(header)
        zeros = bytes(1 << 20)
        for _ in range(64):
            stream.write(zeros)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as error:
            read_idx(path, 3, (28, 28))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(error.value) == (
        f"{path} is too long: its header promises 10×28×28 = 7,840 bytes of data, the file "
        "holds more"
    )
    assert peak < 4 << 20


def test_a_tampered_decoded_cache_is_rebuilt(
    fashion: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load("fashion_mnist")
    (cached,) = (tmp_path / "cache" / "decoded").glob("fashion_mnist-*.pt")
    saved = torch.load(cached, weights_only=True)
    tampered = {**saved["split"], "std": (0.0,), "test_labels": first.test_labels + 50}
    torch.save({**saved, "split": tampered}, cached)
    monkeypatch.setattr(cache, "_MEMORY", {})  # as a new process would
    again = load("fashion_mnist")
    assert again is not first
    assert again.std == first.std
    assert torch.equal(again.test_labels, first.test_labels)


def test_cifar10_batches_are_bounded(isolated_data: Path) -> None:
    folder = write_cifar10(isolated_data, per_batch=8, test=8)
    huge = folder / "data_batch_2"
    with huge.open("r+b") as stream:  # sparse: costs no disk
        stream.truncate(100 << 20)
    with pytest.raises(DataError) as error:
        load("cifar10")
    assert str(error.value) == (
        f"{huge} is not a CIFAR-10 batch: 104,857,600 bytes, more than the 67,108,864 a batch "
        "of 10,000 images takes"
    )
    write_cifar10(isolated_data, per_batch=8, test=8)
    empty = {"labels": [], "data": np.zeros((0, 3072), dtype=np.uint8)}
    (folder / "test_batch").write_bytes(pickle.dumps(empty, protocol=4))
    with pytest.raises(DataError) as error:
        load("cifar10")
    assert str(error.value) == f"{folder / 'test_batch'} holds 0 images, expected 1 to 10,000"


# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--lr", "nan"], "--lr: expected a finite number, got nan"),
        (["--lr", "inf"], "--lr: expected a finite number, got inf"),
        (["--lr", "0"], "--lr: must be > 0.0, got 0.0"),
        (["--weight-decay", "-1"], "--weight-decay: must be ≥ 0.0, got -1.0"),
        (["--weight-decay", "inf"], "--weight-decay: expected a finite number, got inf"),
        (["--seed", "-1"], "--seed: must be ≥ 0, got -1"),
        (["--epochs", "-2"], "netspec train: error: argument --epochs: must be ≥ 1, got -2"),
        (["--batch-size", "0"], "netspec train: error: argument --batch-size: must be ≥ 1, got 0"),
        (["--save-every", "0"], "netspec train: error: argument --save-every: must be ≥ 1, got 0"),
    ],
)
def test_bad_settings_on_the_command_line_are_usage_errors(
    fashion: Path, spec: Path, flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(["train", str(spec), *flags], capsys)
    assert code == 2
    assert err.splitlines()[-1] == (
        message if message.startswith("netspec") else f"netspec: error: {message}"
    )
    assert not Path("runs").exists()


def test_a_seed_in_the_spec_out_of_range(
    fashion: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "seeded.yaml"
    spec.write_text(TINY + f"  seed: {2**40}\n")
    code, err = run_cli(["train", str(spec)], capsys)
    assert (code, err) == (
        1,
        f"{spec}:14:9: train.seed: must be ≤ 4294967295, got 1099511627776",
    )


# --- resources ---------------------------------------------------------------------------------


def test_a_full_disk_stops_the_run_cleanly(
    fashion: Path,
    spec: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The disk fills while the second epoch's last.pt is written: exit 1, and the first
    epoch's last.pt is still there, whole, with no temporary file beside it."""
    out = tmp_path / "run"
    fsync = os.fsync
    writes = []

    def full_disk(descriptor: int) -> None:
        name = Path(os.readlink(f"/proc/self/fd/{descriptor}")).name
        if name.startswith(".last.pt."):
            writes.append(name)
            if len(writes) == 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", full_disk)
    code, err = run_cli(["train", str(spec), "--out", str(out)], capsys)
    assert (code, err) == (
        1,
        f"netspec train: {out / 'last.pt'}: cannot write: No space left on device",
    )
    assert checkpoints.load(out / "last.pt")["position"]["epoch"] == 1
    assert sorted(path.name for path in out.iterdir() if path.name.startswith(".")) == []


def test_a_model_too_large_for_memory(
    fashion: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "huge.yaml"
    spec.write_text(
        "name: huge\ninput: [1, 28, 28]\nlayers: [flatten, {linear: 1000000000}, {linear: 10}]\n"
    )
    expected = (
        "not enough memory to build the model: 795,000,000,010 parameters (2,961.6 GiB as float32)"
    )
    code, err = run_cli(["train", str(spec), "--data", "fashion_mnist"], capsys)
    assert (code, err) == (1, f"netspec train: {expected}")


def test_an_allocation_failure_while_building(
    fashion: Path, spec: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where free memory cannot be known, torch's own failure is reported the same way."""
    import netspec
    from netspec.train import runner

    def failing_build(checked: Any) -> Any:
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
            "memory: you tried to allocate 31360 bytes. Error code 12"
        )

    monkeypatch.setattr(runner, "available_memory", lambda: None)
    monkeypatch.setattr(netspec, "build", failing_build)
    code, err = run_cli(["train", str(spec)], capsys)
    assert (code, err) == (
        1,
        "netspec train: not enough memory to build the model: 7,850 parameters (0.0 GiB as "
        "float32)",
    )
