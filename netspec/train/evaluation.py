"""Evaluating a model on a data set: loss, accuracy, per-class accuracy, confusion matrix."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from rich import box
from rich.console import Console
from rich.table import Table

from netspec.train.batches import Batches
from netspec.train.distributed import ONE, Processes

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Evaluation:
    loss: float
    confusion: list[list[int]]  # confusion[true][predicted]
    classes: tuple[str, ...]

    @property
    def samples(self) -> int:
        return sum(map(sum, self.confusion))

    @property
    def correct(self) -> int:
        return sum(self.confusion[i][i] for i in range(len(self.classes)))

    @property
    def accuracy(self) -> float:
        return self.correct / self.samples if self.samples else 0.0

    def per_class(self) -> list[tuple[str, int, int, float]]:
        """(class, correct, total, accuracy) for each class."""
        rows = []
        for index, name in enumerate(self.classes):
            total = sum(self.confusion[index])
            right = self.confusion[index][index]
            rows.append((name, right, total, right / total if total else 0.0))
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "loss": self.loss,
            "accuracy": self.accuracy,
            "samples": self.samples,
            "per_class": [
                {"class": name, "correct": right, "total": total, "accuracy": accuracy}
                for name, right, total, accuracy in self.per_class()
            ],
            "confusion": {
                "classes": list(self.classes),
                "rows_true_columns_predicted": self.confusion,
            },
        }


def evaluate(
    model: torch.nn.Module,
    batches: Batches,
    loss_function: LossFunction,
    classes: Sequence[str],
    autocast_dtype: torch.dtype | None = None,
    processes: Processes = ONE,
) -> Evaluation:
    """The model's loss and confusion matrix on ``batches``; with several processes, each
    evaluates its slice of every batch and the sums are combined (the whole set's figures)."""
    was_training = model.training
    model.eval()
    count = len(classes)
    confusion = torch.zeros(count * count, dtype=torch.long, device=batches.device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=batches.device)
    with torch.inference_mode(), _autocast(batches.device, autocast_dtype):
        for images, labels in batches():
            outputs = model(images)
            loss_sum += loss_function(outputs.float(), labels).double() * len(labels)
            predicted = outputs.argmax(dim=1)
            confusion += torch.bincount(labels * count + predicted, minlength=count * count)
    model.train(was_training)
    processes.sum(confusion)
    processes.sum(loss_sum)
    matrix = confusion.reshape(count, count).tolist()
    return Evaluation(float(loss_sum) / max(batches.samples, 1), matrix, tuple(classes))


def _autocast(device: torch.device, dtype: torch.dtype | None) -> Any:
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def print_evaluation(evaluation: Evaluation, console: Console, title: str) -> None:
    console.print(
        f"[bold]{title}: accuracy {evaluation.accuracy:.2%}[/bold] "
        f"({evaluation.correct:,} of {evaluation.samples:,}), loss {evaluation.loss:.4f}"
    )
    per_class = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    per_class.add_column("class")
    per_class.add_column("accuracy", justify="right")
    per_class.add_column("correct", justify="right")
    for name, right, total, accuracy in evaluation.per_class():
        per_class.add_row(name, f"{accuracy:.1%}", f"{right:,} / {total:,}")
    console.print(per_class)

    confusion = Table(
        title="confusion matrix (rows: true class, columns: predicted)",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        title_justify="left",
    )
    confusion.add_column("")
    for index, _ in enumerate(evaluation.classes):
        confusion.add_column(str(index), justify="right")
    for index, name in enumerate(evaluation.classes):
        cells = [
            f"[bold]{value}[/bold]" if column == index else (str(value) if value else "·")
            for column, value in enumerate(evaluation.confusion[index])
        ]
        confusion.add_row(f"{index} {name}", *cells)
    console.print(confusion)
