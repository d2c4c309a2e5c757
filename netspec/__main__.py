"""``python -m netspec`` is the ``netspec`` command."""

from netspec.cli import run

if __name__ == "__main__":
    run()
