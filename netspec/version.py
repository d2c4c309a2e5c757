"""netspec's version, in a module of its own so that generated code can name it without
importing the package (a backwards arrow from a backend)."""

__version__ = "0.1.0"
