"""Shell completion scripts, made from the command line's own parser: its commands, each
command's flags and their choices, spec files (*.yaml) and the example specs by name."""

from __future__ import annotations

import argparse
import shlex

from netspec.examples import example_names


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flags(command: argparse.ArgumentParser) -> list[argparse.Action]:
    return [action for action in command._actions if action.option_strings]


def _help(action: argparse.Action | argparse.ArgumentParser) -> str:
    text = action.description if isinstance(action, argparse.ArgumentParser) else action.help
    return (text or "").split(";")[0].split(". ")[0].replace("'", "")


def bash(parser: argparse.ArgumentParser) -> str:
    commands = _commands(parser)
    cases = []
    for name, command in commands.items():
        flags = " ".join(flag for action in _flags(command) for flag in action.option_strings)
        choices = [
            f"            {'|'.join(action.option_strings)}) "
            f"COMPREPLY=($(compgen -W {shlex.quote(' '.join(map(str, action.choices)))} "
            '-- "$cur")); return ;;'
            for action in _flags(command)
            if action.choices
        ]
        cases.append(
            f"        {name})\n"
            '            case "$prev" in\n'
            + "\n".join(choices)
            + ("\n" if choices else "")
            + "            esac\n"
            f'            COMPREPLY=($(compgen -W {shlex.quote(flags)} -- "$cur") '
            f'$(compgen -W {shlex.quote(" ".join(example_names()))} -- "$cur") '
            '$(compgen -f -X "!*.y*ml" -- "$cur") $(compgen -d -- "$cur")) ;;'
        )
    return (
        '# netspec completion for bash: eval "$(netspec completion bash)"\n'
        "_netspec() {\n"
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"\n'
        '    if [ "$COMP_CWORD" -eq 1 ]; then\n'
        f'        COMPREPLY=($(compgen -W {shlex.quote(" ".join(commands))} -- "$cur"))\n'
        "        return\n"
        "    fi\n"
        '    case "${COMP_WORDS[1]}" in\n' + "\n".join(cases) + "\n    esac\n"
        "}\n"
        "complete -o filenames -F _netspec netspec\n"
    )


def zsh(parser: argparse.ArgumentParser) -> str:
    return (
        '# netspec completion for zsh: eval "$(netspec completion zsh)"\n'
        "autoload -U +X bashcompinit && bashcompinit\n" + bash(parser).split("\n", 1)[1]
    )


def fish(parser: argparse.ArgumentParser) -> str:
    lines = [
        "# netspec completion for fish: netspec completion fish | source",
        "complete -c netspec -f",
    ]
    commands = _commands(parser)
    for name, command in commands.items():
        lines.append(
            f"complete -c netspec -n __fish_use_subcommand -a {name} -d '{_help(command)}'"
        )
        when = f"-n '__fish_seen_subcommand_from {name}'"
        lines.append(f"complete -c netspec {when} -k -a '(__fish_complete_suffix .yaml)'")
        lines.append(f"complete -c netspec {when} -a '{' '.join(example_names())}'")
        for action in _flags(command):
            names = " ".join(
                f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}"
                for flag in action.option_strings
            )
            takes = " -r" if action.nargs != 0 else ""
            choices = f" -a '{' '.join(map(str, action.choices))}'" if action.choices else ""
            lines.append(f"complete -c netspec {when} {names}{takes}{choices} -d '{_help(action)}'")
    return "\n".join(lines) + "\n"


SHELLS = {"bash": bash, "zsh": zsh, "fish": fish}
