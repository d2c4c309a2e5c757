"""TensorBoard logging of a run (``--tensorboard``), when the tensorboard package is installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netspec.train.config import ConfigError

INSTALL = "pip install 'netspec[tensorboard]'"

# metrics.csv columns → TensorBoard tags (grouped as TensorBoard groups them, by prefix)
EPOCH_TAGS = {
    "train_loss": "loss/train",
    "val_loss": "loss/validation",
    "train_accuracy": "accuracy/train",
    "val_accuracy": "accuracy/validation",
    "lr": "lr",
    "images_per_second": "speed/images_per_second",
}


class Board:
    """Scalars per epoch (the metrics.csv row) and the final accuracy, in ``run_dir/tensorboard``
    (``tensorboard --logdir runs`` shows every run side by side). A resumed run appends."""

    def __init__(self, run_dir: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:
            raise ConfigError(
                f"--tensorboard: the tensorboard package is not installed ({INSTALL})"
            ) from error
        self.directory = run_dir / "tensorboard"
        self.writer = SummaryWriter(log_dir=str(self.directory))

    def epoch(self, row: dict[str, Any]) -> None:
        for column, tag in EPOCH_TAGS.items():
            self.writer.add_scalar(tag, row[column], global_step=row["epoch"])
        self.writer.flush()  # readable while the run goes on

    def final(self, tag: str, accuracy: float, epoch: int) -> None:
        self.writer.add_scalar(tag, accuracy, global_step=epoch)

    def close(self) -> None:
        self.writer.close()
