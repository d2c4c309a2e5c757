"""Runner options beyond the basics: warmup, TensorBoard, data given as a path, resizing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
from datagen import write_idx_dataset
from helpers import ROOT
from rich.console import Console

from netspec.cli import main
from netspec.train import checkpoint as checkpoints
from netspec.train import evaluate_checkpoint, train
from netspec.train.config import RunConfig
from netspec.train.runner import _scheduler

pytestmark = pytest.mark.usefixtures("isolated_data")


@pytest.fixture
def fashion(isolated_data: Path) -> Path:
    return write_idx_dataset(isolated_data / "FashionMNIST" / "raw")


def _config(**train: object) -> RunConfig:
    settings = {"data": "fashion_mnist", "lr": 0.1, "epochs": 4, **train}
    return RunConfig(spec="x.yaml", architecture="", data="fashion_mnist", train=settings)


def _rates(scheduler: torch.optim.lr_scheduler.LRScheduler, steps: int) -> list[float]:
    optimizer = scheduler.optimizer
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def _optimizer() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)


@pytest.mark.parametrize("schedule", ["none", "cosine"])
def test_warmup_is_pytorchs_linear_warmup_then_the_schedule(schedule: str) -> None:
    """Against PyTorch's own schedulers: LinearLR from lr/w over w steps, then the schedule."""
    steps_per_epoch, total = 10, 40
    warmup = 15  # 1.5 epochs
    ours = _scheduler(_optimizer(), _config(schedule=schedule, warmup=1.5), total, steps_per_epoch)
    assert ours is not None
    reference = _optimizer()
    rise = torch.optim.lr_scheduler.LinearLR(
        reference, start_factor=1 / warmup, total_iters=warmup - 1
    )
    after = (
        torch.optim.lr_scheduler.CosineAnnealingLR(reference, T_max=total - warmup)
        if schedule == "cosine"
        else torch.optim.lr_scheduler.ConstantLR(reference, factor=1.0, total_iters=0)
    )
    expected = torch.optim.lr_scheduler.SequentialLR(reference, [rise, after], [warmup])
    assert _rates(ours, total) == pytest.approx(_rates(expected, total), abs=1e-12)


def test_warmup_with_onecycle_or_without_a_schedule() -> None:
    assert _scheduler(_optimizer(), _config(), 40, 10) is None
    onecycle = _scheduler(_optimizer(), _config(schedule="onecycle"), 40, 10)
    assert isinstance(onecycle, torch.optim.lr_scheduler.OneCycleLR)


@pytest.mark.slow
def test_tensorboard_logs_what_metrics_csv_holds(fashion: Path, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    spec = ROOT / "specs" / "lenet.yaml"
    code = main(["train", str(spec), "--data", "fashion_mnist", "--epochs", "2", "--out",
                 str(run_dir), "--tensorboard"])  # fmt: skip
    assert code == 0
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    rows = json.loads((run_dir / "metrics.json").read_text())
    for tag, column in (("loss/train", "train_loss"), ("accuracy/validation", "val_accuracy"),
                        ("lr", "lr")):  # fmt: skip
        logged = [(event.step, event.value) for event in events.Scalars(tag)]
        assert logged == [(row["epoch"], pytest.approx(row[column], rel=1e-6)) for row in rows]
    report = json.loads((run_dir / "report.json").read_text())
    (final,) = events.Scalars("accuracy/test")
    assert final.value == pytest.approx(report["test_accuracy"], rel=1e-6)


def test_data_that_is_neither_a_name_nor_a_path(
    fashion: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(ROOT / "specs" / "lenet.yaml")
    assert main(["train", spec, "--data", "Fashion-MNIST"]) == 2
    error = capsys.readouterr().err
    assert "--data Fashion-MNIST: neither a data set (did you mean fashion_mnist?) nor a file or " \
        "folder (" in error  # fmt: skip
    assert main(["train", spec, "--data", "fashion"]) == 2
    assert "did you mean" not in capsys.readouterr().err


@pytest.mark.slow
def test_resize_trains_a_colour_spec_on_grey_28_pixel_images(fashion: Path, tmp_path: Path) -> None:
    """cifar10_lenet takes 3×32×32: Fashion-MNIST converted once, and evaluated the same way."""
    spec = ROOT / "specs" / "cifar10_lenet.yaml"
    run = train(spec, {"data": "fashion_mnist", "resize": True, "epochs": 1}, out=tmp_path / "r")
    assert run.status == "finished"
    state = checkpoints.load(tmp_path / "r" / "best.pt")
    assert len(state["normalization"]["mean"]) == 3
    assert len(set(state["normalization"]["mean"])) == 1  # grey copied into R, G and B
    assert evaluate_checkpoint(spec, tmp_path / "r" / "best.pt").accuracy == run.final.accuracy


SMALL_SPEC = """
name: tiny
input: [1, 8, 8]
layers:
  - flatten
  - linear: 3
train:
  data: {data}
  epochs: 2
  batch_size: 16
  lr: 0.05
"""


def _tensors(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (count,), generator=generator)
    images = torch.randint(0, 60, (count, 1, 8, 8), generator=generator, dtype=torch.uint8)
    images[torch.arange(count), 0, labels * 2] = 250  # class k lights row 2k: learnable
    return images, labels


def test_own_tensor_file_with_its_own_validation_and_no_test_part(tmp_path: Path) -> None:
    """The file's x_val validates (no seeded hold-out); with no test part the report says so
    and gives best.pt's validation figures; train.data is relative to the spec."""
    (tmp_path / "specs").mkdir()
    x, y = _tensors(96, 0)
    x_val, y_val = _tensors(24, 1)
    data = {"x": x, "y": y, "x_val": x_val, "y_val": y_val, "classes": ["a", "b", "c"]}
    torch.save(data, tmp_path / "specs" / "mine.pt")
    spec = tmp_path / "specs" / "tiny.yaml"
    spec.write_text(SMALL_SPEC.format(data="mine.pt"))
    console = Console(file=io.StringIO(), record=True, width=200)
    run = train(spec, {}, out=tmp_path / "run", console=console)
    lines = console.export_text().splitlines()
    assert run.status == "finished" and run.final is not None
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"] == str((tmp_path / "specs" / "mine.pt").resolve())
    assert lines[0].startswith(
        "training tiny on mine.pt: 96 train, 24 validation (mine.pt's own), no test images; "
    )
    assert run.final.samples == 24 and run.final.classes == ("a", "b", "c")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["test_accuracy"] is None
    assert report["final"]["accuracy"] == report["best_val_accuracy"]
    assert run.message.startswith(
        f"finished: no test set: validation accuracy {report['best_val_accuracy']:.2%} with "
        f"best.pt (epoch {report['best_epoch']})"
    )
    assert checkpoints.load(tmp_path / "run" / "best.pt")["classes"] == ["a", "b", "c"]


def test_eval_of_data_without_a_test_part(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = _tensors(64, 0)
    torch.save({"x": x, "y": y}, tmp_path / "mine.pt")
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SMALL_SPEC.format(data="mine.pt"))
    assert train(spec, {"epochs": 1}, out=tmp_path / "run").status == "finished"
    code = main(["eval", str(spec), "--checkpoint", str(tmp_path / "run" / "best.pt")])
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"netspec eval: {(tmp_path / 'mine.pt').resolve()} has no test part: nothing to evaluate"
    )


def test_augmentation_and_label_smoothing_change_what_is_trained(tmp_path: Path) -> None:
    """Same seed, same data: each setting alone gives other weights (it is applied), and
    the same setting twice gives the same weights (it is seeded)."""
    x, y = _tensors(64, 0)
    torch.save({"x": x, "y": y, "x_test": x[:16], "y_test": y[:16]}, tmp_path / "mine.pt")
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SMALL_SPEC.format(data="mine.pt"))
    variants = {
        "plain": {},
        "crop": {"augment": [{"randomcrop": {"padding": 1}}]},
        "mixup": {"augment": [{"mixup": {"alpha": 0.4}}]},
        "smoothing": {"label_smoothing": 0.2},
    }
    trained = {}
    for name, settings in variants.items():
        for attempt in (1, 2):
            out = tmp_path / f"{name}-{attempt}"
            assert train(spec, {"epochs": 1, **settings}, out=out).status == "finished"
            trained[name, attempt] = checkpoints.load(out / "last.pt")["model"]["linear_1.weight"]
    for name in variants:
        assert torch.equal(trained[name, 1], trained[name, 2]), name
        if name != "plain":
            assert not torch.equal(trained[name, 1], trained["plain", 1]), name


def test_warmup_is_refused_with_onecycle(
    fashion: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(ROOT / "specs" / "fashion_cnn.yaml")  # its schedule is onecycle
    assert main(["train", spec, "--warmup", "1"]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "--warmup: the onecycle schedule warms up by itself (its first 30 % of steps): warmup "
            "is for none or cosine"
        )
    )
    written = tmp_path / "warm.yaml"
    text = (ROOT / "specs" / "fashion_cnn.yaml").read_text()
    written.write_text(text + "  warmup: 1\n")  # the last line of its train: section
    line = len(text.splitlines()) + 1
    assert main(["check", str(written), "--quiet"]) == 1
    error = capsys.readouterr().err
    assert f"{written}:{line}:11: train.warmup: the onecycle schedule warms up" in error


def test_netspec_data_describes_own_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from torchvision.io import write_png

    for name in ("cat", "dog"):
        (tmp_path / "pets" / "train" / name).mkdir(parents=True)
        for index in range(2):
            image = torch.full((1, 8, 8), index * 100, dtype=torch.uint8)
            write_png(image, str(tmp_path / "pets" / "train" / name / f"{index}.png"))
    (tmp_path / "pets" / "notes.txt").write_text("hi")
    x, y = _tensors(5, 0)
    torch.save({"x": x, "y": y}, tmp_path / "mine.pt")
    assert main(["data", str(tmp_path / "pets"), str(tmp_path / "mine.pt")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / 'pets'}: 4 images in 2 classes (train 4); skipped 1 file: 1 outside class "
        "folders",
        "  classes: cat, dog",
        f"{tmp_path / 'mine.pt'}: x: uint8 5×1×8×8; y: int64 5",
    ]
    (tmp_path / "broken.pt").write_bytes(b"not a tensor file")
    assert main(["data", str(tmp_path / "broken.pt")]) == 1
    assert capsys.readouterr().err.startswith(
        f"netspec data: {tmp_path / 'broken.pt'}: cannot read"
    )


def test_a_random_crop_of_another_size_than_the_input_is_refused(
    fashion: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "specs" / "lenet.yaml").read_text()  # 1×28×28; its train: section ends it
    cropped = Path("cropped.yaml")
    cropped.write_text(text + "  augment:\n    - randomcrop: {size: 24, padding: 2}\n")
    assert main(["train", str(cropped), "--data", "fashion_mnist", "--max-steps", "1"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith(
        "train.augment: randomcrop size 24×24 differs from the spec's input, 28×28: the "
        "network would train on images of another size than it is validated and tested on "
        "(leave size out: the crop is then the input's size)"
    )


@pytest.mark.parametrize(("samples", "size", "processes"), [(100, 8, 1), (100, 8, 2), (37, 4, 3)])
def test_the_processes_slices_of_each_batch_are_one_processs_batch(
    samples: int, size: int, processes: int
) -> None:
    """With N processes each takes its slice of every batch: together, in rank order, the
    batches one process with batch size × N takes — of the same count and order."""
    from netspec.train.batches import Batches

    images = torch.arange(samples, dtype=torch.uint8).reshape(samples, 1, 1, 1)
    labels = torch.arange(samples)

    def batches(rank: int, count: int, batch: int) -> Batches:
        cpu = torch.device("cpu")
        return Batches(images, labels, batch, [0.0], [1.0], cpu, shard=(rank, count))

    alone = batches(0, 1, size * processes)
    slices = [batches(rank, processes, size) for rank in range(processes)]
    assert all(len(part) == len(alone) for part in slices)
    together = zip(*(part(epoch=3, seed=5) for part in slices), strict=True)
    for index, (whole, parts) in enumerate(zip(alone(epoch=3, seed=5), together, strict=True)):
        assert torch.equal(whole[1], torch.cat([labels for _, labels in parts]))
        assert alone.images_in(index) == len(whole[1]) == slices[0].images_in(index)
        assert all(len(labels) >= 2 for _, labels in parts)  # batch norm needs two
