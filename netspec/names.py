"""What may be a name in a spec.

Layer names become attribute names and variables in generated PyTorch code, so they are plain
ASCII identifiers: no quotes, no dots, no look-alike letters, no Python keywords, nothing that
would shadow an ``nn.Module`` attribute or a name the generated code uses.
"""

from __future__ import annotations

import keyword
import re

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
MAX_LENGTH = 32  # keeps every generated line splittable within 88 columns

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
# Module-level names of a generated file, which the spec's name must not take. (The code
# generator would give the network another name anyway, as it does for `print` or `model`, but
# a spec called `main` or `OrderedDict` is more likely a mistake.)
GENERATED_GLOBALS = frozenset({"torch", "nn", "OrderedDict", "INPUT_SHAPE", "OUTPUT_SHAPE", "main"})
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


def class_name(spec_name: str) -> str:
    """The generated model class for a spec name: ``fashion_cnn`` → ``FashionCnn``."""
    return "".join(part[:1].upper() + part[1:] for part in spec_name.split("_") if part)


def spec_name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a spec (and so a generated function and class), or None."""
    if problem := name_problem(name, what="spec name"):
        return problem
    assert isinstance(name, str)
    if name in GENERATED_GLOBALS or class_name(name) in GENERATED_GLOBALS:
        return f"spec name '{name}' is reserved: generated code uses that name"
    return None
