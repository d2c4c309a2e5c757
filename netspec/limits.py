"""Every bound netspec puts on its input, in one place (docs/spec-language.md lists them).

A spec is something a user, or a tool, or an attacker can type: each limit keeps reading,
checking, compiling and drawing one within a second and a few hundred MB, and far above what
any real network needs.
"""

from __future__ import annotations

MAX_SPEC_BYTES = 1024 * 1024  # 1 MiB: a thousand times ResNet-18's 74-line spec
MAX_VALUES = 30_000  # YAML values in a spec, an alias counted at its expanded size
MAX_NESTING = 64  # mappings and lists inside each other
MAX_LAYERS = 2_000  # layers after expanding blocks and repeats (the zoo's largest: ~1,000)
MAX_BLOCK_DEPTH = 32  # block uses inside block uses
MAX_DIAGRAM_NODES = 1_000  # Graphviz takes seconds past this; --depth groups blocks

# What PyTorch can represent: sizes, counts and indices are int64; weights are float32.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOAT32_MAX = 3.4028234663852886e38
# The runner seeds a generator with seed · 1,000,003 + epoch, which must fit in 64 bits.
MAX_SEED = 2**32 - 1
