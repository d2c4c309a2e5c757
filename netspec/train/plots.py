"""PNG plots of a run: loss and accuracy curves, and the confusion matrix."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netspec.files import write_atomically


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    write_atomically(path, buffer.getvalue())


def plot_curves(history: Sequence[dict[str, Any]], title: str, path: Path) -> None:
    plt = _pyplot()
    epochs = [row["epoch"] for row in history]
    figure, (loss_axes, accuracy_axes, lr_axes) = plt.subplots(1, 3, figsize=(14, 4))
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        loss_axes.plot(epochs, [row[key] for row in history], marker="o", label=label)
    for key, label in (("train_accuracy", "train"), ("val_accuracy", "validation")):
        accuracy_axes.plot(epochs, [100 * row[key] for row in history], marker="o", label=label)
    lr_axes.plot(epochs, [row["lr"] for row in history], marker="o", label="at the epoch's end")
    loss_axes.set(title="loss", xlabel="epoch")
    accuracy_axes.set(title="accuracy (%)", xlabel="epoch")
    lr_axes.set(title="learning rate", xlabel="epoch")
    for axes in (loss_axes, accuracy_axes, lr_axes):
        axes.grid(alpha=0.3)
        axes.legend()
        axes.xaxis.get_major_locator().set_params(integer=True)
    figure.suptitle(title)
    _save(figure, path)
    plt.close(figure)


def plot_confusion(
    confusion: list[list[int]], classes: Sequence[str], title: str, path: Path
) -> None:
    plt = _pyplot()
    count = len(classes)
    figure, axes = plt.subplots(figsize=(1.0 + 0.7 * count, 0.8 + 0.6 * count))
    image = axes.imshow(confusion, cmap="Blues")
    axes.set_xticks(range(count), labels=classes, rotation=45, ha="right")
    axes.set_yticks(range(count), labels=classes)
    axes.set(xlabel="predicted", ylabel="true", title=title)
    brightest = max(max(row) for row in confusion) or 1
    for i in range(count):
        for j in range(count):
            value = confusion[i][j]
            colour = "white" if value > brightest / 2 else "black"
            axes.text(j, i, str(value), ha="center", va="center", color=colour, fontsize=8)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    _save(figure, path)
    plt.close(figure)
