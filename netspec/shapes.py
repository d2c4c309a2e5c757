"""Symbolic tensor shapes and PyTorch's size arithmetic, with the working shown.

A shape excludes the batch dimension, which stays symbolic (``N``). A dim is ``None`` when an
earlier error made it unknown; inference carries on with what is known so that one run reports
as many problems as possible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from math import prod

Dim = int | None


def format_dims(dims: Iterable[Dim]) -> str:
    """``6×28×28``; unknown dims print as ``?``."""
    return "×".join("?" if d is None else str(d) for d in dims)


@dataclass(frozen=True)
class Shape:
    """Sizes of a tensor without its batch dim.

    ``origins`` optionally says how a dim was formed (``32×2×2`` for a flattened dim) so that an
    error about it can show where the number came from.
    """

    dims: tuple[Dim, ...]
    origins: tuple[str | None, ...] = ()
    dtype: str = "float32"  # or "long": token ids, which only an embedding reads

    def __post_init__(self) -> None:
        if len(self.origins) != len(self.dims):
            object.__setattr__(self, "origins", (None,) * len(self.dims))

    @property
    def rank(self) -> int:
        return len(self.dims)

    @property
    def known(self) -> bool:
        return all(d is not None for d in self.dims)

    def numel(self) -> int | None:
        return prod(self.dims) if self.known else None  # type: ignore[arg-type]

    def __str__(self) -> str:
        return format_dims(self.dims)

    def batched(self) -> str:
        """``(N, 6, 28, 28)``, the way PyTorch prints a size."""
        return "(" + ", ".join(["N", *("?" if d is None else str(d) for d in self.dims)]) + ")"

    def to_json(self) -> list[str | int | None]:
        return ["N", *self.dims]

    def describe_dim(self, index: int, noun: str) -> str:
        """``128 features (32×2×2)``: the size, and how it was formed when that is known."""
        dim, origin = self.dims[index], self.origins[index]
        return f"{dim} {noun}" + (f" ({origin})" if origin else "")


def unknown(rank: int) -> Shape:
    return Shape((None,) * rank)


# --- sliding windows: convolution and pooling --------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One spatial dim of a convolution or pooling window."""

    size: Dim
    kernel: int
    stride: int
    padding: int  # on each side
    dilation: int = 1
    ceil_mode: bool = False
    extra_padding: int = 0  # asymmetric 'same' padding: the right side gets this much more

    @property
    def span(self) -> int:
        """Input positions one window covers: D·(F − 1) + 1."""
        return self.dilation * (self.kernel - 1) + 1

    def output(self) -> Dim:
        """PyTorch's output size (``pooling_output_shape`` / convolution's), may be ≤ 0."""
        if self.size is None:
            return None
        numerator = self.size + 2 * self.padding + self.extra_padding - self.span
        if self.ceil_mode:
            return -(-numerator // self.stride) + 1 - self.dropped_last_window()
        return numerator // self.stride + 1

    def dropped_last_window(self) -> bool:
        """With ceil_mode, PyTorch drops a last window that would start in the right padding."""
        if self.size is None or not self.ceil_mode:
            return False
        numerator = self.size + 2 * self.padding + self.extra_padding - self.span
        windows = -(-numerator // self.stride) + 1
        return (windows - 1) * self.stride >= self.size + self.padding

    def formula(self, name: str) -> str:
        """The arithmetic, e.g. ``H_out = ⌊(4 − 5 + 2·0)/1⌋ + 1 = 0``."""
        size = "?" if self.size is None else str(self.size)
        pad = f"2·{self.padding}" + (f" + {self.extra_padding}" if self.extra_padding else "")
        if self.dilation == 1:
            inner = f"{size} − {self.kernel} + {pad}"
        else:
            inner = f"{size} + {pad} − {self.dilation}·({self.kernel} − 1) − 1"
        left, right = ("⌈", "⌉") if self.ceil_mode else ("⌊", "⌋")
        text = f"{name}_out = {left}({inner})/{self.stride}{right} + 1"
        out = self.output()
        if self.dropped_last_window():
            assert out is not None
            text += f" − 1 = {out} (ceil_mode drops a last window that starts in the padding)"
        else:
            text += f" = {'?' if out is None else out}"
        return text
