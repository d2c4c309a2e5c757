"""Backends turn a checked spec into something else: PyTorch source, a module, a diagram."""
