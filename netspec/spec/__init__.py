"""Reading specs: YAML with positions, validation into a ``Spec``, the JSON Schema."""
