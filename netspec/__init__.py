"""netspec: declarative neural networks for PyTorch.

Importing netspec stays light: nothing here imports torch.
"""

from netspec.check import CheckedSpec, check_file, check_text, load
from netspec.diagnostics import Diagnostic, SpecError

__version__ = "0.1.0"

__all__ = ["CheckedSpec", "Diagnostic", "SpecError", "check_file", "check_text", "load"]
