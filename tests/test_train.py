"""The shared runner on small data sets written in each data set's real on-disk format."""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import pickle
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from datagen import write_cifar10, write_idx_dataset
from helpers import ROOT

import netspec
from netspec.cli import main
from netspec.train import checkpoint as checkpoints
from netspec.train import evaluate_checkpoint, train
from netspec.train.datasets import DataError, load, read_idx
from netspec.train.runner import validation_split

SMALL_CNN = """
name: small_cnn
input: [1, 28, 28]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3}
  - batchnorm2d
  - relu
  - maxpool2d: 2
  - dropout: 0.25
  - flatten
  - linear: 10
train:
  data: fashion_mnist
  batch_size: 32
  epochs: 2
  lr: 0.01
"""


# every test gets its own data directory and cache, and no downloads (conftest.py)
pytestmark = pytest.mark.usefixtures("isolated_data")


@pytest.fixture
def fashion(isolated_data: Path) -> Path:
    return write_idx_dataset(isolated_data / "FashionMNIST" / "raw")


@pytest.fixture
def small_spec(tmp_path: Path) -> Path:
    path = tmp_path / "small_cnn.yaml"
    path.write_text(SMALL_CNN)
    return path


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return checkpoints.load(run_dir / "last.pt")["model"]


def test_a_short_run_writes_every_artefact(fashion: Path, small_spec: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert main(["train", str(small_spec), "--out", str(run_dir), "--epochs", "2"]) == 0
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "best.pt", "config.json", "confusion.png", "curves.png", "last.pt", "metrics.csv",
        "metrics.json", "report.json",
    ]  # fmt: skip
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert list(rows[0]) == [
        "epoch", "steps", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
        "images_per_second", "seconds",
    ]  # fmt: skip
    assert rows[0]["steps"] == "8"  # 256 images less 26 held out, batches of 32
    assert json.loads((run_dir / "metrics.json").read_text())[1]["epoch"] == 2
    config = json.loads((run_dir / "config.json").read_text())
    assert config["data"] == "fashion_mnist"
    assert config["train"] | {"epochs": 2, "lr": 0.01, "batch_size": 32} == config["train"]
    report = json.loads((run_dir / "report.json").read_text())
    final = report["final"]
    assert final["samples"] == 128
    assert [c["class"] for c in final["per_class"]][:2] == ["T-shirt/top", "Trouser"]
    assert sum(map(sum, final["confusion"]["rows_true_columns_predicted"])) == 128
    assert final["accuracy"] == report["test_accuracy"]
    for image in ("curves.png", "confusion.png"):
        assert (run_dir / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = checkpoints.load(run_dir / "best.pt")
    assert best["best_accuracy"] == max(float(row["val_accuracy"]) for row in rows)
    assert best["best_accuracy"] == report["best_val_accuracy"]
    assert report["best_epoch"] == len(best["history"])  # best.pt is that epoch's model


def test_flags_override_the_spec(fashion: Path, small_spec: Path, tmp_path: Path) -> None:
    result = train(
        small_spec,
        {"epochs": 1, "batch_size": 64, "optimizer": "sgd", "lr": 0.05, "schedule": "cosine"},
        out=tmp_path / "run",
    )
    assert result.status == "finished"
    assert [row["steps"] for row in result.history] == [4]
    config = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert (config["optimizer"], config["lr"], config["batch_size"]) == ("sgd", 0.05, 64)


def _stop_at(epoch: int, step: int):
    def callback(run) -> None:
        if (run.position.epoch, run.position.step) == (epoch, step):
            run.request_stop()

    return callback


RESUMED_SETTINGS = {
    "onecycle": {"epochs": 3, "schedule": "onecycle"},
    "warmup and cosine": {"epochs": 3, "schedule": "cosine", "warmup": 0.5},
    "augmentation": {
        "epochs": 3,
        "augment": [
            {"randomcrop": {"padding": 2}},
            "randomhorizontalflip",
            "randomerasing",
            {"cutmix": {"alpha": 1.0}},
            {"mixup": {"alpha": 0.2}},
        ],
        "label_smoothing": 0.1,
    },
}


@pytest.mark.parametrize(
    ("settings", "epoch", "step"),
    [
        (RESUMED_SETTINGS["onecycle"], 0, 3),
        (RESUMED_SETTINGS["onecycle"], 1, 5),
        (RESUMED_SETTINGS["warmup and cosine"], 0, 3),  # stopped during the warmup
        (RESUMED_SETTINGS["augmentation"], 1, 5),
    ],
    ids=["onecycle-0-3", "onecycle-1-5", "warmup-0-3", "augmentation-1-5"],
)
def test_resume_equals_an_uninterrupted_run(
    fashion: Path,
    small_spec: Path,
    tmp_path: Path,
    epoch: int,
    step: int,
    settings: dict[str, Any],
) -> None:
    whole = train(small_spec, settings, out=tmp_path / "whole")
    assert whole.status == "finished"

    parted = train(small_spec, settings, out=tmp_path / "parted", callbacks=[_stop_at(epoch, step)])
    assert parted.status == "interrupted"
    assert f"interrupted at epoch {epoch + 1}, step {step}" in parted.message
    resumed = train(small_spec, {}, out=tmp_path / "parted", resume=True)
    assert resumed.status == "finished"

    first, second = weights(tmp_path / "whole"), weights(tmp_path / "parted")
    assert list(first) == list(second)
    for name in first:
        assert torch.equal(first[name], second[name]), name
    timing = {"seconds", "images_per_second"}
    strip = [{k: v for k, v in row.items() if k not in timing} for row in whole.history]
    assert strip == [{k: v for k, v in row.items() if k not in timing} for row in resumed.history]


def test_resume_refuses_changed_flags(fashion: Path, small_spec: Path, tmp_path: Path) -> None:
    train(small_spec, {"epochs": 1}, out=tmp_path / "run", callbacks=[_stop_at(0, 2)])
    code = main(["train", str(small_spec), "--resume", "--out", str(tmp_path / "run"), "--lr", "1"])
    assert code == 2
    assert main(["train", str(small_spec), "--out", str(tmp_path / "run")]) == 2


def test_resume_picks_the_latest_run(
    fashion: Path, small_spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train(small_spec, {"epochs": 1}, callbacks=[_stop_at(0, 2)])
    assert main(["train", str(small_spec), "--resume"]) == 0
    (run,) = Path("runs").iterdir()
    assert run.name.startswith("small_cnn-")
    assert "resuming runs/small_cnn-" in capsys.readouterr().out


def test_resume_picks_the_run_written_last_not_the_last_by_name(
    fashion: Path, small_spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = train(small_spec, {"epochs": 1}, out="runs/small_cnn-1", callbacks=[_stop_at(0, 2)])
    train(small_spec, {"epochs": 1}, out="runs/small_cnn-2", callbacks=[_stop_at(0, 1)])
    later = time.time() + 60
    os.utime(first.run_dir / "last.pt", (later, later))  # resumed since, say
    capsys.readouterr()
    assert main(["train", str(small_spec), "--resume"]) == 0
    assert "resuming runs/small_cnn-1 at epoch 1, step 2" in capsys.readouterr().out


def test_sigterm_saves_like_ctrl_c_and_the_printed_command_resumes(
    fashion: Path, small_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scheduler's preemption: the epoch in progress is saved; the command printed resumes
    the run as printed, though its data set came from a flag (the spec names none)."""
    spec = tmp_path / "no_data.yaml"
    spec.write_text(small_spec.read_text().replace("  data: fashion_mnist\n", ""))

    def preempt(run) -> None:
        if (run.position.epoch, run.position.step) == (0, 2):
            os.kill(os.getpid(), signal.SIGTERM)

    result = train(spec, {"data": "fashion_mnist"}, out=tmp_path / "run", callbacks=[preempt])
    assert result.status == "interrupted"
    assert "interrupted at epoch 1, step 2" in result.message
    assert "SIGTERM: stopping after this step to save a checkpoint" in capsys.readouterr().out
    command = result.message.split("Continue with: ")[1]
    assert command == f"netspec train {spec} --resume --out {tmp_path / 'run'}"
    assert main(shlex.split(command)[1:]) == 0
    rows = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [row["epoch"] for row in rows] == [1, 2]


def test_epochs_extend_a_finished_run(
    fashion: Path, small_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert train(small_spec, {"epochs": 1}, out=run).status == "finished"
    assert main(["train", str(small_spec), "--resume", "--out", str(run), "--epochs", "2"]) == 0
    rows = json.loads((run / "metrics.json").read_text())
    assert [row["epoch"] for row in rows] == [1, 2]
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 2
    # fewer epochs, or a schedule planned for the first count, cannot be resumed so
    assert main(["train", str(small_spec), "--resume", "--out", str(run), "--epochs", "1"]) == 2
    assert "a resumed run can only be given more epochs" in capsys.readouterr().err
    scheduled = tmp_path / "scheduled"
    train(small_spec, {"epochs": 1, "schedule": "cosine"}, out=scheduled)
    args = ["train", str(small_spec), "--resume", "--out", str(scheduled), "--epochs", "3"]
    assert main(args) == 2
    assert (
        "--epochs 3: this run's cosine schedule was planned for 1 epoch and cannot be stretched"
        in capsys.readouterr().err
    )


def test_data_and_spec_mismatch(fashion: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", str(ROOT / "specs" / "cifar10_lenet.yaml"), "--data", "fashion_mnist"])
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        "netspec train: spec input is 3×32×32 but fashion_mnist gives 1×28×28: add "
        "`resize: true` to the spec's train: section (or --resize) to convert the images once "
        "(grey → RGB, resized 28×28 → 32×32)"
    )
    five = Path("five.yaml")
    five.write_text("name: five\ninput: [1, 28, 28]\nlayers: [flatten, {linear: 5}]\n")
    assert main(["train", str(five), "--data", "fashion_mnist"]) == 1
    assert capsys.readouterr().err.strip() == (
        "netspec train: spec output is 5 but fashion_mnist has 10 classes: end with a layer "
        "of 10 outputs (e.g. `- linear: 10`)"
    )


def test_missing_data_lists_the_places_tried(
    isolated_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["train", str(ROOT / "specs" / "lenet.yaml"), "--data", "mnist", "--no-download"])
    assert code == 1
    message = capsys.readouterr().err
    assert message.startswith("netspec train: mnist not found. Looked in:\n")
    assert f"  {isolated_data}\n" in message
    assert f"  {isolated_data / 'MNIST/raw'}\n" in message
    assert "pass --data-dir" in message


def test_training_without_data_or_spec_default_is_a_usage_error(tmp_path: Path) -> None:
    spec = tmp_path / "nodata.yaml"
    spec.write_text("name: nodata\ninput: [1, 28, 28]\nlayers: [flatten, {linear: 10}]\n")
    assert main(["train", str(spec)]) == 2
    assert main(["train", str(spec), "--data", "mnist", "--lr", "-1"]) == 2


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[: len(b) // 2], "is corrupt: cannot decompress it"),
        (
            lambda b: gzip.compress(gzip.decompress(b)[:-100]),
            "is truncated: its header promises 256×28×28 = 200,704 bytes of data, the file "
            "holds 200,604",
        ),
        (
            lambda b: gzip.compress(b"\x00\x00\x09\x03" + gzip.decompress(b)[4:]),
            "is not an IDX file of uint8 with 3 dim(s): magic number 0x00000903, expected "
            "0x00000803",
        ),
    ],
)
def test_corrupt_idx_files_are_reported(fashion: Path, damage, message: str) -> None:
    images = fashion / "train-images-idx3-ubyte.gz"
    images.write_bytes(damage(images.read_bytes()))
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load("fashion_mnist")


def test_label_count_must_match(fashion: Path) -> None:
    labels = fashion / "t10k-labels-idx1-ubyte.gz"
    raw = gzip.decompress(labels.read_bytes())
    labels.write_bytes(gzip.compress(raw[:4] + (100).to_bytes(4, "big") + raw[8:108]))
    with pytest.raises(DataError, match=r"holds 128 images but .* 100 labels"):
        load("fashion_mnist")


def test_uncompressed_files_in_another_layout(isolated_data: Path) -> None:
    write_idx_dataset(isolated_data / "mnist", gz=False)
    split = load("mnist")
    assert tuple(split.train_images.shape) == (256, 1, 28, 28)
    assert split.train_images.dtype == torch.uint8
    assert tuple(split.test_labels.shape) == (128,)
    assert read_idx(isolated_data / "mnist" / "t10k-labels-idx1-ubyte", 1).dtype == torch.uint8


def test_decoded_data_is_cached(fashion: Path, tmp_path: Path) -> None:
    first = load("fashion_mnist")
    cached = list((tmp_path / "cache" / "decoded").glob("fashion_mnist-*.pt"))
    assert len(cached) == 1
    assert load("fashion_mnist") is first  # decoded once per process
    assert 0 < first.mean[0] < 1 and first.std[0] > 0


def test_cifar10_pickles(isolated_data: Path, tmp_path: Path) -> None:
    write_cifar10(isolated_data)
    split = load("cifar10")
    assert tuple(split.train_images.shape) == (320, 3, 32, 32)
    assert len(split.mean) == 3
    result = train(
        ROOT / "specs" / "cifar10_lenet.yaml", {"epochs": 1, "batch_size": 32}, out=tmp_path / "r"
    )
    assert result.status == "finished"
    assert result.final is not None and result.final.classes[0] == "plane"


def test_a_spec_with_blocks_trains_and_evaluates(isolated_data: Path, tmp_path: Path) -> None:
    write_cifar10(isolated_data)
    spec = ROOT / "specs" / "resnet_cifar.yaml"
    result = train(spec, {"epochs": 2, "batch_size": 64}, out=tmp_path / "run")
    assert result.status == "finished"
    saved = checkpoints.load(tmp_path / "run" / "best.pt")["model"]
    assert "stage2.down.shortcut_conv.weight" in saved
    evaluation = evaluate_checkpoint(spec, tmp_path / "run" / "best.pt", "cifar10")
    assert result.final is not None
    assert evaluation.accuracy == pytest.approx(result.final.accuracy)  # both: best.pt


def test_cifar10_pickles_cannot_run_code(isolated_data: Path) -> None:
    folder = write_cifar10(isolated_data)

    class Exploit:
        def __reduce__(self):
            return (os.system, ("touch pwned",))

    (folder / "data_batch_3").write_bytes(pickle.dumps({"data": Exploit()}))
    with pytest.raises(DataError, match=r"refusing to load (posix|os)\.system"):
        load("cifar10")
    assert not Path("pwned").exists()


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(
    fashion: Path, small_spec: Path, tmp_path: Path
) -> None:
    def poison(run) -> None:
        if (run.position.epoch, run.position.step) == (1, 2):
            with torch.no_grad():
                next(run.model.parameters()).fill_(float("nan"))

    result = train(small_spec, {"epochs": 3}, out=tmp_path / "run", callbacks=[poison])
    assert result.status == "diverged"
    assert result.message.startswith("the loss became nan at epoch 2, step 3: training stopped.")
    assert f"The last good checkpoint is {tmp_path / 'run' / 'last.pt'} (after 1 epoch)" in (
        result.message
    )
    saved = checkpoints.load(tmp_path / "run" / "last.pt")
    assert saved["position"]["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in saved["model"].values() if t.is_floating_point())


def test_divergence_from_the_command_line(
    fashion: Path, small_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "train",
            str(small_spec),
            "--out",
            str(tmp_path / "r"),
            "--optimizer",
            "sgd",
            "--lr",
            "1e30",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "training stopped. No checkpoint was saved: it diverged in the first epoch." in err
    assert "Try a lower learning rate (--lr, now 1e+30)." in err


def test_eval_reports_the_saved_model(
    fashion: Path, small_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = train(small_spec, {}, out=tmp_path / "run")
    best = tmp_path / "run" / "best.pt"
    evaluation = evaluate_checkpoint(small_spec, best, "fashion_mnist")
    assert result.final is not None
    assert evaluation.accuracy == pytest.approx(result.final.accuracy)  # both: best.pt
    capsys.readouterr()
    assert main(["eval", str(small_spec), "--checkpoint", str(best), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] == pytest.approx(evaluation.accuracy)
    assert len(report["per_class"]) == 10
    assert main(["eval", str(small_spec), "--checkpoint", str(best)]) == 0
    out = capsys.readouterr().out
    assert f"accuracy {evaluation.accuracy:.2%}" in out
    assert "confusion matrix" in out and "T-shirt/top" in out


def test_eval_refuses_a_checkpoint_of_another_network(
    fashion: Path, small_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train(small_spec, {"epochs": 1}, out=tmp_path / "run")
    other = ROOT / "specs" / "lenet.yaml"
    assert main(["eval", str(other), "--checkpoint", str(tmp_path / "run" / "last.pt")]) == 1
    assert "does not fit" in capsys.readouterr().err
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    assert main(["eval", str(small_spec), "--checkpoint", str(garbage)]) == 1
    assert "is not a readable checkpoint" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(fashion: Path, tmp_path: Path) -> None:
    """A real SIGINT to `netspec train`: exit 130, a checkpoint, and --resume completes."""
    write_idx_dataset(fashion, train=4000, test=128)  # long enough to interrupt
    spec = tmp_path / "spec.yaml"
    spec.write_text(SMALL_CNN.replace("batch_size: 32", "batch_size: 8"))
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "netspec", "train", str(spec), "--out", str(run_dir)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    for line in process.stdout:  # plain progress lines: the run is under way
        if line.startswith("epoch 1/2  "):
            break
        assert time.monotonic() < deadline
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert f"saved {run_dir / 'last.pt'}" in err
    position = checkpoints.load(run_dir / "last.pt")["position"]
    assert position["step"] > 0
    resumed = subprocess.run(
        [*command, "--resume"], capture_output=True, text=True, env=os.environ, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    assert len(json.loads((run_dir / "metrics.json").read_text())) == 2


FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.slow
@pytest.mark.skipif(
    not FASHION_MNIST.is_dir() and not os.environ.get("NETSPEC_REQUIRE_FASHION_MNIST"),
    reason="real Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist_smoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fraction of an epoch of fashion_cnn on the real data: far above chance (10 %)."""
    monkeypatch.delenv("NETSPEC_DATA")
    result = train(
        ROOT / "specs" / "fashion_cnn.yaml",
        {"data": "fashion_mnist"},
        out=tmp_path / "run",
        max_steps=400,
        device="cpu",
    )
    assert result.status == "finished"
    assert result.final is not None and result.final.samples == 10_000
    assert result.final.accuracy > 0.75
    assert math.isfinite(result.history[-1]["train_loss"])


def test_the_validation_split_is_seeded_disjoint_and_sized() -> None:
    train_part, held_out = validation_split(1000, 0.1, seed=3)
    assert len(held_out) == 100 and len(train_part) == 900
    assert set(train_part.tolist()).isdisjoint(held_out.tolist())
    assert sorted(train_part.tolist() + held_out.tolist()) == list(range(1000))
    again, held_again = validation_split(1000, 0.1, seed=3)
    assert torch.equal(held_out, held_again) and torch.equal(train_part, again)
    assert not torch.equal(held_out, validation_split(1000, 0.1, seed=4)[1])
    assert [len(part) for part in validation_split(5, 0.5, seed=0)] == [3, 2]  # 2.5 rounds to 2
    assert [len(part) for part in validation_split(2, 0.01, seed=0)] == [1, 1]  # one each


def test_best_pt_is_chosen_on_validation_and_the_test_set_is_read_once(
    fashion: Path, small_spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netspec.train import runner

    read: list[int] = []
    real = runner.evaluate

    def counted(model, batches, *args):  # type: ignore[no-untyped-def]
        read.append(batches.samples)
        return real(model, batches, *args)

    monkeypatch.setattr(runner, "evaluate", counted)
    result = train(small_spec, {"epochs": 3, "val_split": 0.25}, out=tmp_path / "run")
    assert result.status == "finished"
    assert read == [64, 64, 64, 128]  # the held-out quarter each epoch, the test set at the end
    assert "with best.pt (epoch" in result.message


def test_val_split_must_leave_training_data(fashion: Path, small_spec: Path) -> None:
    assert main(["train", str(small_spec), "--val-split", "0.9"]) == 2


def test_patience_stops_early_and_still_reports(
    fashion: Path, small_spec: Path, tmp_path: Path
) -> None:
    """With a learning rate too small to learn, the validation accuracy soon stops improving
    (batch norm's statistics still move it a little): the run stops one epoch after its best
    one, with the full report."""
    settings = {"epochs": 10, "lr": 1e-12, "patience": 1}
    result = train(small_spec, settings, out=tmp_path / "run")
    assert result.status == "finished"
    accuracies = [row["val_accuracy"] for row in result.history]
    best = accuracies.index(max(accuracies)) + 1
    assert len(result.history) == best + 1 < 10
    assert result.message.startswith(
        f"stopped early after epoch {best + 1} (no better validation accuracy in 1 epoch); "
        f"finished: test accuracy"
    )
    assert f"with best.pt (epoch {best}," in result.message
    for artefact in ("report.json", "curves.png", "confusion.png"):
        assert (tmp_path / "run" / artefact).exists()


def test_grad_clip_bounds_each_step(fashion: Path, small_spec: Path, tmp_path: Path) -> None:
    """SGD without momentum moves the weights by lr · gradient: clipped to a norm of 1e-6, one
    step at lr 1 moves them by at most 1e-6 in all."""
    settings = {"epochs": 1, "optimizer": "sgd", "lr": 1.0, "grad_clip": 1e-6, "val_split": 0.5}
    assert train(small_spec, settings, out=tmp_path / "a", max_steps=1).status == "finished"
    torch.manual_seed(0)  # the run's seed: the same initial weights
    start = netspec.build(small_spec)
    after = weights(tmp_path / "a")
    moved = sum(
        float((after[name] - value).pow(2).sum())
        for name, value in start.state_dict().items()
        if value.is_floating_point() and "running" not in name
    )
    assert 0 < moved**0.5 <= 1.05e-6  # float32 rounding of weights near 0.1 adds a little


def test_momentum_patience_and_clip_are_flags(
    fashion: Path, small_spec: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    args = ["train", str(small_spec), "--out", str(run), "--max-steps", "1", "--optimizer", "sgd"]
    assert main([*args, "--momentum", "0.9", "--patience", "3", "--grad-clip", "2.5"]) == 0
    settings = json.loads((run / "config.json").read_text())["train"]
    assert (settings["momentum"], settings["patience"], settings["grad_clip"]) == (0.9, 3, 2.5)


def test_init_from_starts_a_new_run_from_a_checkpoints_weights(
    fashion: Path, small_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first"
    assert train(small_spec, {"epochs": 1}, out=first).status == "finished"
    source = checkpoints.load(first / "best.pt")["model"]

    def unchanged_at_start(run) -> None:  # type: ignore[no-untyped-def]
        if run.position.global_step == 1:
            seen = run.model.state_dict()
            for name, tensor in source.items():
                if "running" not in name and tensor.is_floating_point():
                    assert torch.allclose(seen[name], tensor, atol=1e-9), name

    second = tmp_path / "second"
    result = train(
        small_spec, {"epochs": 1, "lr": 1e-12}, out=second, init_from=first / "best.pt",
        callbacks=[unchanged_at_start],
    )  # fmt: skip
    assert result.status == "finished"
    assert f"starting from the weights of {first / 'best.pt'}" in capsys.readouterr().out
    args = ["train", str(small_spec), "--resume", "--init-from", str(first / "best.pt")]
    assert main(args) == 2
    assert "--init-from starts a new run" in capsys.readouterr().err
    missing = ["train", str(small_spec), "--out", str(tmp_path / "third"), "--init-from", "nope.pt"]
    assert main(missing) == 1
    assert "nope.pt" in capsys.readouterr().err
