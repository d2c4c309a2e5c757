"""Progress of a run: a live bar per epoch in a terminal, a few plain lines otherwise."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class EpochProgress:
    """Shows how an epoch goes; ``update`` is cheap to call every step."""

    REFRESH_SECONDS = 0.25
    PLAIN_MARKS = (0.25, 0.5, 0.75)  # where a non-terminal gets a line

    def __init__(self, console: Console, label: str, steps: int, start: int) -> None:
        self.console = console
        self.label = label
        self.steps = steps
        self.start_step = start
        self.started = time.perf_counter()
        self.last_refresh = 0.0
        self.marks = [m for m in self.PLAIN_MARKS if m * steps > start]
        self.bar: Progress | None = None
        if console.is_terminal:
            self.bar = Progress(
                TextColumn(f"[bold]{label}[/bold]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self.task = self.bar.add_task(label, total=steps, completed=start, stats="")

    def __enter__(self) -> EpochProgress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self.bar.stop()

    def due(self, step: int) -> bool:
        """Whether ``update`` would show something now (so the caller fetches the numbers)."""
        if self.bar is not None:
            return time.perf_counter() - self.last_refresh >= self.REFRESH_SECONDS
        return bool(self.marks) and step >= self.marks[0] * self.steps

    def update(self, step: int, loss: float, accuracy: float, images_per_second: float) -> None:
        stats = f"loss {loss:.4f}  acc {accuracy:.1%}  {images_per_second:,.0f} img/s"
        if self.bar is not None:
            self.bar.update(self.task, completed=step, stats=stats)
            self.last_refresh = time.perf_counter()
            return
        while self.marks and step >= self.marks[0] * self.steps:
            self.marks.pop(0)
        self.console.print(
            f"{self.label}  {step}/{self.steps}  {stats}", highlight=False, soft_wrap=True
        )
