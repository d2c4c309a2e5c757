"""Sliding windows: ceil_mode's dropped last window, against PyTorch.

``Window.extra_padding`` (the extra right padding of a 'same' convolution with an even span)
and ``ceil_mode`` (pooling only) never meet in a layer netspec has today, so the dropped-window
rule ignoring the extra padding never showed; it was still wrong (the size and the formula
disagreed on such a window), and both now come from one computation.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from netspec.layers import get
from netspec.layers.conv import conv_windows
from netspec.shapes import Window


def test_ceil_mode_drops_exactly_the_windows_pytorch_drops() -> None:
    dropped_somewhere = False
    for size, kernel, stride, padding in itertools.product(
        range(1, 9), (1, 2, 3), (1, 2, 3), (0, 1)
    ):
        if padding > kernel // 2:
            continue
        window = Window(size, kernel, stride, padding, ceil_mode=True)
        pool = nn.MaxPool1d(kernel, stride, padding, ceil_mode=True)
        if window.output() is None or window.output() < 1:
            continue
        assert window.output() == pool(torch.zeros(1, 1, size)).shape[-1], window
        dropped_somewhere |= window.dropped_last_window()
    assert dropped_somewhere  # the sweep reaches the case


def test_only_same_convolutions_pad_one_side_more_and_they_never_round_up() -> None:
    conv = get("conv1d")
    assert conv is not None
    args = conv.Args.model_validate({"out_channels": 1, "kernel_size": 4, "padding": "same"})
    (window,) = conv_windows(args, [9], 1)
    assert (window.padding, window.extra_padding, window.ceil_mode) == (1, 1, False)
    assert window.output() == nn.Conv1d(1, 1, 4, padding="same")(torch.zeros(1, 1, 9)).shape[-1]


def test_the_dropped_window_rule_reads_the_extra_padding() -> None:
    # Not a window a layer makes today; the size and the formula must agree on it all the same.
    # ⌈(4 + 1 − 2)/2⌉ + 1 = 3 windows, the last starting at 4: in the padding, so dropped. The
    # rule used to leave the extra padding out, and the formula then showed "= 2" after "+ 1".
    window = Window(4, 2, 2, 0, ceil_mode=True, extra_padding=1)
    assert window.dropped_last_window() is True
    assert window.output() == 2
    assert window.formula("L") == (
        "L_out = ⌈(4 − 2 + 2·0 + 1)/2⌉ + 1 − 1 = 2 "
        "(ceil_mode drops a last window that starts in the padding)"
    )
