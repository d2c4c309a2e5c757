"""What may be a name in a spec.

Layer names become attribute names and variables in generated PyTorch code, so they are plain
ASCII identifiers: no quotes, no dots, no look-alike letters, no Python keywords, nothing that
would shadow an ``nn.Module`` attribute or a name the generated code uses.
"""

from __future__ import annotations

import keyword
import re

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
MAX_LENGTH = 64

# Public attributes of torch.nn.Module (tests compare this with the installed torch).
MODULE_ATTRIBUTES = frozenset(
    """T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda
    double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter
    get_submodule half ipu load_state_dict modules mtia named_buffers named_children named_modules
    named_parameters parameters register_backward_hook register_buffer register_forward_hook
    register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
    register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module
    register_parameter register_state_dict_post_hook register_state_dict_pre_hook requires_grad_
    set_extra_state set_submodule share_memory state_dict to to_empty train training type xpu
    zero_grad""".split()
)
# Names generated code relies on; "input" is how `from:` refers to the network's input.
CODE_NAMES = frozenset({"input", "self", "x", "torch", "nn", "F", "super"})
# Fixed here rather than read from `keyword`, whose soft keywords vary by Python version.
KEYWORDS = frozenset(keyword.kwlist) | {"_", "case", "match", "type"}
RESERVED = MODULE_ATTRIBUTES | CODE_NAMES | KEYWORDS


def name_problem(name: object, what: str = "layer name") -> str | None:
    """Why ``name`` cannot be used, or None when it can."""
    if not isinstance(name, str):
        return f"{what} must be a string, got {name!r}"
    shown = ascii(name)
    foreign = [c for c in name if not c.isascii()]
    if foreign:
        import unicodedata

        letter = foreign[0]
        described = unicodedata.name(letter, "an unnamed character")
        return (
            f"{what} {shown} contains the non-ASCII character U+{ord(letter):04X} "
            f"({described}); use ASCII letters, digits and _"
        )
    if not IDENTIFIER.fullmatch(name):
        return (
            f"{what} {shown} is not allowed: use ASCII letters, digits and _, "
            "starting with a letter"
        )
    if len(name) > MAX_LENGTH:
        return f"{what} {shown} is too long ({len(name)} characters, at most {MAX_LENGTH})"
    if name in KEYWORDS:
        return f"{what} {shown} is a Python keyword"
    if name in MODULE_ATTRIBUTES:
        return f"{what} {shown} is reserved: it is an attribute of torch.nn.Module"
    if name in CODE_NAMES:
        return f"{what} {shown} is reserved for generated code"
    return None
