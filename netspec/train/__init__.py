"""The shared runner: train any spec on Fashion-MNIST, MNIST or CIFAR-10, evaluate a checkpoint.

This package imports torch; the command line loads it only for ``train`` and ``eval``.
"""

from netspec.train.runner import RunResult, evaluate_checkpoint, train

__all__ = ["RunResult", "evaluate_checkpoint", "train"]
