"""Passes over the layer graph: shape inference (with parameter and MAC counts) and lints."""
