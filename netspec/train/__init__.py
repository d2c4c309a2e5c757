"""The shared runner: train any spec on a named data set or on your own data (in one process
or several, under torchrun), evaluate a checkpoint; ``predict`` and ``export`` use one.

This package imports torch; the command line loads it only for the commands that train or run
a model.
"""

from netspec.train.runner import RunResult, evaluate_checkpoint, train

__all__ = ["RunResult", "evaluate_checkpoint", "train"]
