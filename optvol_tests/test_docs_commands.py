"""Every command the docs give a user to copy exists as written, and is run somewhere.

A command in ``README.md`` or ``docs/*.md`` (a line of a fenced shell block, a code span,
a ``# dg launch ...`` comment in a YAML example) that starts with ``optvol``, ``dagster``,
``dagster-daemon``, ``dg``, ``make``, ``pytest`` or ``.venv/bin/python SCRIPT`` is
checked against the real thing, in this process: optvol's argparse parser, the click
groups behind the ``dagster``/``dg`` entry points, the Makefile's targets and variables,
the script's ``add_argument`` calls. A renamed option or target fails here, not in a
user's shell.

Then each distinct command (program and subcommand: ``optvol clean``, ``dg launch``,
``make demo``) must be run for real by a test (an argv list in ``optvol_tests/``), by CI
(``.ci/run`` and the recipes of the Makefile targets it runs), or by optvol's own CLI,
which the tests run; or be in ``NOT_RUN`` with the reason it cannot be.

Placeholders are read as a usage line reads them: ``[--size demo|full]`` is an option that
must exist with values among its choices, upper-case words (``FILE...``, ``SELECTION``,
``N``) and ``...`` stand for values, ``VAR=value`` before a command is its environment,
and ``$(...)`` is a command of its own.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import click
import pytest

from optvol.cli import build_parser
from optvol_tests.console import click_group

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PROGRAMS = ("optvol", "dagster-daemon", "dagster", "dg", "make", "pytest", "python")
# ``python -m MODULE`` runs these programs; tests start them that way.
MODULES = {
    "optvol.cli": "optvol",
    "dagster": "dagster",
    "dagster_dg_cli.cli": "dg",
    "pytest": "pytest",
}
# How a Dagster command is told which code to load; ``dg`` reads [tool.dg] instead.
CODE_LOCATION_FLAGS = {"-m", "--module-name", "-f", "--python-file", "--package-name", "-w",
                       "--workspace", "--autoload-defs-module-name"}  # fmt: skip
# Documented commands that nothing runs, and why: keys as ``check`` gives them, fnmatch
# patterns. An entry that something runs, or that no page documents, fails the test.
NOT_RUN = {
    ("make", "demo"): "installs, then trains and evaluates both models on the demo sample "
    "(minutes); CI runs its steps one by one (optvol sample-data, make dagster-home, optvol "
    "quote-months, then dagster asset materialize --select '*')",
    ("make", "ui"): "serves until stopped; test_dagster_ui.py starts the `dagster dev -w "
    "workspace.yaml -h ... -p ...` it runs",
    ("optvol", "dashboard"): "serves until stopped; test_browser.py starts the `streamlit "
    "run` of the dashboard it runs, and test_dashboard.py runs the page headless",
    ("dagster-daemon", "run"): "runs until stopped, for a deployment where the webserver "
    "runs apart; `dagster dev` (test_dagster_ui.py) starts the same daemon as its child",
    ("python", "docs/tools/asset_graph.py"): "redraws the docs' picture of the asset graph "
    "by hand when the graph changes; loading the definitions with torch and drawing costs "
    "about 5 s, for a picture a reader checks by eye",
    ("python", "benchmarks/*.py"): "measurements of seconds to minutes on the full-size "
    "sample or a served data root, not tests; their options are checked here",
}


@dataclass(frozen=True)
class Command:
    """A command as a user would type it, and where the docs give it."""

    where: str
    text: str
    program: str
    args: tuple[str, ...]


# --- Reading commands out of Markdown and shell ---------------------------------------

# A script given with arguments is a command (``benchmarks/ingest.py --size full``); a
# path alone names a file.
SCRIPT = r"(?:benchmarks|docs/tools|tools)/\w+\.py"
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w-]*)")
SHELL_LANGUAGES = {"", "bash", "sh", "shell", "console"}
START = re.compile(
    r"^(?:[A-Za-z_]\w*=\S*\s+)*(?:(?:\.venv/bin/)?(?:"
    + "|".join(map(re.escape, PROGRAMS))
    + r")(?=\s|$)|"
    + SCRIPT
    + r"\s)"
)
SUBSTITUTION = re.compile(r"\$\(([^()]*)\)")
SEPARATORS = re.compile(r"\s*(?:;|&&|\|\|)\s*|\s+\|\s+")  # not the | of demo|full
KEYWORDS = {"if", "then", "else", "do", "!", "{", "time", "exec"}


def commands_in_shell(line: str, where: str) -> list[Command]:
    """The commands of one logical shell line: each ``$(...)`` inside it, then each
    ``;``/``&&``/``|``-separated part that starts with one of the programs."""
    found: list[Command] = []
    while match := SUBSTITUTION.search(line):
        found += commands_in_shell(match.group(1), where)
        line = line[: match.start()] + "SUBSTITUTED" + line[match.end() :]
    for part in SEPARATORS.split(line):
        words = part.split()
        while words and words[0] in KEYWORDS:
            words.pop(0)
        part = " ".join(words)
        if not START.match(part):
            continue
        try:
            tokens = shlex.split(part, comments=True)
        except ValueError as err:
            raise AssertionError(f"{where}: `{part}` is not a shell command: {err}") from None
        while "=" in tokens[0] and not tokens[0].startswith((".", "/")):
            tokens.pop(0)  # VAR=value: the command's environment
        program, args = tokens[0].removeprefix(".venv/bin/"), tokens[1:]
        if re.fullmatch(SCRIPT, program):
            program, args = "python", tokens
        if program == "python" and args[:1] == ["-m"] and len(args) > 1 and args[1] in MODULES:
            program, args = MODULES[args[1]], args[2:]
        found.append(Command(where, part, program, tuple(args)))
    return found


def logical_lines(lines: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Lines with their backslash continuations joined, numbered by their first line."""
    pending, first = "", 0
    for number, line in lines:
        if not pending:
            first = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield first, pending + line
        pending = ""
    if pending:
        yield first, pending


def commands_in_markdown(path: Path) -> list[Command]:
    """The commands of fenced shell blocks, of ``# command`` comments in other fenced
    blocks (a run config's first line says how to use it), and of code spans. A span
    that is only a program's name (``optvol``, ``dg``) names it; it is not a command."""
    name = path.relative_to(REPO).as_posix()
    found: list[Command] = []
    prose: list[str] = []
    block: list[tuple[int, str]] | None = None
    language = ""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fence = FENCE.match(line)
        if fence and block is None:
            block, language = [], fence.group(3).lower()
            prose.append("")
        elif fence:
            for first, text in logical_lines(block):
                found += commands_in_shell(text.strip(), f"{name}:{first}")
            block = None
            prose.append("")
        elif block is not None:
            if language in SHELL_LANGUAGES:
                block.append((number, line))
            elif line.lstrip().startswith("#"):
                block.append((number, line.lstrip()[1:]))
            prose.append("")
        else:
            prose.append(line)
    text = "\n".join(prose)
    for span in re.finditer(r"(?<!`)`([^`]+)`(?!`)", text):
        number = text.count("\n", 0, span.start()) + 1
        code = " ".join(span.group(1).replace("\\|", "|").split())
        if code not in PROGRAMS:
            found += commands_in_shell(code, f"{name}:{number}")
    return found


@cache
def documented_commands() -> list[Command]:
    """Every command of README.md and docs/*.md, in page order."""
    return [command for page in DOCS for command in commands_in_markdown(page)]


# --- What each program accepts --------------------------------------------------------


@dataclass
class Option:
    """Whether an option takes a value (the word after it is not an option or a
    subcommand), and the values it accepts, if it names them."""

    takes_value: bool
    choices: tuple[str, ...] | None = None


@dataclass
class Node:
    """A command's options, and its subcommands if it is a group (``child`` is None for a
    leaf, else a look-up returning None for an unknown name)."""

    options: dict[str, Option]
    child: Callable[[str], Node | None] | None = None
    positional_choices: tuple[str, ...] | None = None


def argparse_node(parser: argparse.ArgumentParser) -> Node:
    """optvol's parser as a Node. argparse has no public way to list a parser's options
    or subcommands; its private tables are what ``--help`` prints from."""
    options = {
        flag: Option(action.nargs != 0, tuple(action.choices) if action.choices else None)
        for flag, action in parser._option_string_actions.items()
    }
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        return Node(options)
    parsers = groups[0].choices
    return Node(options, lambda name: argparse_node(parsers[name]) if name in parsers else None)


def click_node(command: click.Command, context: click.Context | None = None) -> Node:
    """A click command as a Node; subcommands through ``get_command``, as the shell gets
    them, since a group may load its commands lazily."""
    context = click.Context(command, parent=context, info_name=command.name)
    options: dict[str, Option] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            choices = tuple(param.type.choices) if isinstance(param.type, click.Choice) else None
            for flag in (*param.opts, *param.secondary_opts):
                options[flag] = Option(not (param.is_flag or param.count), choices)
    options.setdefault("--help", Option(False))
    if not isinstance(command, click.Group):
        return Node(options)

    def child(name: str) -> Node | None:
        sub = command.get_command(context, name)
        return click_node(sub, context) if sub is not None else None

    return Node(options, child)


@cache
def makefile() -> tuple[dict[str, list[str]], set[str], dict[str, list[str]]]:
    """The Makefile's targets (with their prerequisites), the variables it reads, and
    each target's recipe lines (make variables expanded as far as ``$(BIN)``)."""
    text = (REPO / "Makefile").read_text()
    assigned = dict(re.findall(r"^(?:export\s+)?(\w+)\s*[?:]?=\s*(.*)$", text, re.MULTILINE))

    def expand(value: str) -> str:
        return re.sub(r"\$\((\w+)\)", lambda m: expand(assigned.get(m.group(1), "")), value)

    targets: dict[str, list[str]] = {}
    recipes: dict[str, list[str]] = {}
    current: list[str] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        rule = re.match(r"^([^\s#:=][^:=]*):(?!=)(.*)$", line)
        if rule and not line.startswith("\t"):
            current = expand(rule.group(1)).split()
            for target in current:
                targets[target] = expand(rule.group(2).replace("|", " ")).split()
                recipes[target] = []
        elif line.startswith("\t"):
            for target in current:
                recipes[target].append(line)
    read = set(re.findall(r"\$[({](\w+)[)}]", text.replace("$$", "")))  # not the shell's
    return targets, read, recipes


def make_node() -> Node:
    """``make`` as a group whose subcommands are the Makefile's targets."""
    targets, _, _ = makefile()
    leaf = Node({})
    return Node({}, lambda name: leaf if name in targets and not name.startswith(".") else None)


def script_node(script: Path) -> Node:
    """A script's options from its ``add_argument`` calls, read without importing it:
    the benchmarks import torch, Dagster and servers."""
    options: dict[str, Option] = {"-h": Option(False), "--help": Option(False)}
    positional_choices = None
    for call in ast.walk(ast.parse(script.read_text())):
        if not (isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "add_argument"):
            continue
        flags = [a.value for a in call.args if isinstance(a, ast.Constant)]
        keywords = {k.arg: k.value for k in call.keywords}
        action = keywords.get("action")
        takes_value = not (
            isinstance(action, ast.Constant) and action.value in ("store_true", "store_false")
        )
        choices = None
        if isinstance(keywords.get("choices"), ast.Tuple | ast.List):
            choices = tuple(
                e.value for e in keywords["choices"].elts if isinstance(e, ast.Constant)
            )
        if flags and not flags[0].startswith("-"):
            positional_choices = choices
        for flag in flags:
            if flag.startswith("-"):
                options[flag] = Option(takes_value, choices)
    return Node(options, positional_choices=positional_choices)


@cache
def pytest_markers() -> set[str]:
    """The markers pyproject.toml registers: with --strict-markers, any other fails."""
    import tomllib

    settings = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]
    return {marker.split(":")[0] for marker in settings["ini_options"]["markers"]}


# --- Checking one command -------------------------------------------------------------


def is_placeholder(value: str) -> bool:
    """``N``, ``FILE...``, ``[NAME=]FILE``, ``SELECTION``, ``...``: a value to fill in."""
    return re.fullmatch(r"[A-Z0-9_.=\[\]/-]*", value) is not None and not value.isdigit()


def walk(node: Node, args: tuple[str, ...], problems: list[str]) -> tuple[tuple[str, ...], Node]:
    """The subcommand path of ``args`` under ``node``, and the command it leads to; what
    does not exist goes into ``problems``: an unknown subcommand, an unknown option, a
    value outside an option's choices."""
    path: list[str] = []
    i = 0
    while i < len(args):
        word = args[i].strip("[]")
        i += 1
        if word in ("", "...", "--") or word == "SUBSTITUTED":
            continue
        if word.startswith("-") and len(word) > 1:
            flag, equals, value = word.partition("=")
            flags = flag.split("/") if all(f.startswith("-") for f in flag.split("/")) else [flag]
            for flag in flags:
                option = node.options.get(flag)
                if option is None:
                    problems.append(f"no option {flag} on `{' '.join(path) or 'the command'}`")
                    continue
                if not option.takes_value or len(flags) > 1:
                    continue
                if not equals and i < len(args) and not args[i].lstrip("[").startswith("-"):
                    value, i = args[i].strip("[]"), i + 1
                if option.choices and value and not is_placeholder(value):
                    wrong = [v for v in value.split("|") if v not in option.choices]
                    if wrong:
                        problems.append(f"{flag} {wrong} not among {list(option.choices)}")
            continue
        if node.child is not None:
            child = node.child(word)
            if child is None:
                problems.append(f"no subcommand {word!r} after {path or 'the program'}")
                return tuple(path), node
            path.append(word)
            node = child
        elif word not in (node.positional_choices or (word,)) and not is_placeholder(word):
            problems.append(f"{word!r} not among {list(node.positional_choices)}")
    return tuple(path), node


def check(command: Command) -> tuple[tuple[str, ...], list[str]]:
    """The command's key (program, subcommands...) and what is wrong with it."""
    problems: list[str] = []
    args = command.args
    if command.program == "optvol":
        path, _ = walk(argparse_node(build_parser()), args, problems)
    elif command.program in ("dagster", "dg", "dagster-daemon"):
        path, leaf = walk(click_node(click_group(command.program)), args, problems)
        flags = {arg.strip("[]").partition("=")[0] for arg in args}
        # Given with arguments, it is meant to be copied: then a command that loads code
        # and cannot read workspace.yaml needs to be told where optvol's definitions are.
        loads_code = command.program == "dagster" and "--module-name" in leaf.options
        finds_code = "--workspace" in leaf.options or flags & CODE_LOCATION_FLAGS
        if loads_code and len(args) > len(path) and not finds_code:
            problems.append("no code location: add -m optvol.definitions")
    elif command.program == "make":
        _, read, _ = makefile()
        for name in [a.split("=")[0] for a in args if "=" in a]:
            if name not in read:
                problems.append(f"the Makefile does not read {name}")
        targets, _ = walk(make_node(), tuple(a for a in args if "=" not in a), problems)
        return ("make", *(targets[:1] or ("<default>",))), problems
    elif command.program == "pytest":
        for flag, expression in zip(args, args[1:], strict=False):
            if flag == "-m":
                names = set(re.findall(r"\w+", expression)) - {"and", "or", "not"}
                problems += [f"no pytest marker {m}" for m in sorted(names - pytest_markers())]
        path = ()
    elif command.program == "python":
        if not args or not (REPO / args[0]).is_file():
            return ("python", *args[:1]), [f"no script {args[:1]} in the repository"]
        walk(script_node(REPO / args[0]), args[1:], problems)
        path = (args[0],)
    else:
        raise AssertionError(f"{command.program}: no check")
    return (command.program, *path), problems


# --- What runs for real ---------------------------------------------------------------


def program_of(node: ast.expr, names: dict[str, ast.expr], seen: frozenset = frozenset()):
    """The program an argv element starts: ``X / "dg"``, ``X.with_name("dagster")``,
    ``str(...)`` or ``a if c else b`` of one, or a name bound to one in the module."""
    if isinstance(node, ast.BinOp) and isinstance(node.right, ast.Constant):
        return node.right.value if node.right.value in PROGRAMS else None
    if isinstance(node, ast.Call) and node.args:
        if getattr(node.func, "attr", "") == "with_name":
            return program_of(ast.BinOp(left=node, op=ast.Div(), right=node.args[0]), names)
        if getattr(node.func, "id", "") == "str":
            return program_of(node.args[0], names, seen)
    if isinstance(node, ast.IfExp):
        return program_of(node.body, names, seen) or program_of(node.orelse, names, seen)
    if isinstance(node, ast.Constant) and node.value in PROGRAMS:
        return node.value
    if isinstance(node, ast.Name) and node.id in names and node.id not in seen:
        return program_of(names[node.id], names, seen | {node.id})
    return None


def argv_words(elements: list[ast.expr], names: dict[str, ast.expr]) -> list[str | None]:
    """A list literal's elements as strings, ``*name`` of a list literal spliced in;
    None for a value computed at run time, ``"PROGRAM:x"`` for a program's path."""
    words: list[str | None] = []
    for element in elements:
        spliced = element.value if isinstance(element, ast.Starred) else None
        if isinstance(element, ast.Constant) and isinstance(element.value, str):
            words.append(element.value)
        elif isinstance(spliced, ast.Name) and isinstance(names.get(spliced.id), ast.List):
            words += argv_words(names[spliced.id].elts, names)
        elif not isinstance(element, ast.Constant) and (program := program_of(element, names)):
            words.append(f"PROGRAM:{program}")
        else:
            words.append(None)
    return words


SPAWNS = {"run", "Popen", "call", "check_call", "check_output"}


def invocations_in_python(path: Path) -> Iterator[tuple[str, tuple[str | None, ...]]]:
    """(program, argv) of each argv list in a module: a list that starts with a program's
    path, or has ``-m MODULE``, or is given to ``subprocess`` starting with a program's
    name; and the argument of optvol.cli's ``main``. A tuple of names such as
    ``("dagster", "dagster_dg_cli")`` runs nothing and is not counted."""
    tree = ast.parse(path.read_text())
    names: dict[str, ast.expr] = {}
    mains: set[str] = set()
    spawned: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            names[node.targets[0].id] = node.value
        if isinstance(node, ast.ImportFrom) and node.module == "optvol.cli":
            mains |= {alias.asname or alias.name for alias in node.names if alias.name == "main"}
        function = getattr(node, "func", None)
        if getattr(function, "attr", getattr(function, "id", "")) in SPAWNS and node.args:
            spawned.add(id(node.args[0]))
    for node in ast.walk(tree):
        runs_main = isinstance(node, ast.Call) and getattr(node.func, "id", "") in mains
        if runs_main and node.args and isinstance(node.args[0], ast.List):
            yield "optvol", tuple(argv_words(node.args[0].elts, names))
        if not isinstance(node, ast.List | ast.Tuple):
            continue
        words = argv_words(node.elts, names)
        for i, word in enumerate(words):
            if word is None:
                continue
            if word.startswith("PROGRAM:"):
                yield word.removeprefix("PROGRAM:"), tuple(words[i + 1 :])
                break
            if i == 0 and word in PROGRAMS and id(node) in spawned:
                yield word, tuple(words[1:])
                break
            if word == "-m" and i + 1 < len(words) and words[i + 1] in MODULES:
                yield MODULES[words[i + 1]], tuple(words[i + 2 :])
                break


def ci_lines() -> Iterator[tuple[str, str]]:
    """The lines CI runs: ``.ci/run``, and the recipes of the Makefile targets it runs
    and of their prerequisites, with make's own ``$(...)`` expanded or blanked."""
    run = (REPO / ".ci" / "run").read_text().splitlines()
    yield from ((f".ci/run:{n}", line) for n, line in logical_lines(list(enumerate(run, 1))))
    targets, _, recipes = makefile()
    pending = [
        c.args[0]
        for n, line in enumerate(run, 1)
        for c in commands_in_shell(line, f".ci/run:{n}")
        if c.program == "make" and c.args
    ]
    seen: set[str] = set()
    while pending:
        target = pending.pop()
        if target in seen or target not in targets:
            continue
        seen.add(target)
        pending += targets[target]
        for line in recipes[target]:
            line = line.strip().lstrip("@-").replace("$$", "\0").replace("$(BIN)", ".venv/bin")
            while re.search(r"\$\([^()]*\)", line):
                line = re.sub(r"\$\([^()]*\)", "X", line)
            yield f"Makefile {target}", line.replace("\0", "$")


@cache
def run_for_real() -> dict[tuple[str, ...], str]:
    """Each command key that a test, CI or optvol's CLI runs, and one place that runs it.
    optvol/cli.py counts because the tests run its commands: ``optvol init-home`` is how
    ``dagster instance migrate`` runs; tools/run_tests.py because ``make test`` is how
    pytest runs."""
    runs: dict[tuple[str, ...], str] = {}
    sources = [
        *sorted((REPO / "optvol_tests").rglob("*.py")),
        REPO / "optvol" / "cli.py",
        REPO / "tools" / "run_tests.py",
    ]
    for path in sources:
        if path == Path(__file__):
            continue  # this module lists commands; it runs none
        for program, words in invocations_in_python(path):
            args = tuple(
                w if w is not None and not w.startswith("PROGRAM:") else "VALUE" for w in words
            )
            key, _ = check(Command(str(path), "", program, args))
            runs.setdefault(key, path.relative_to(REPO).as_posix())
    for where, line in ci_lines():
        for command in commands_in_shell(line, where):
            key, _ = check(command)
            runs.setdefault(key, where)
    return runs


def matches(key: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """Whether a command key is the NOT_RUN pattern's, part by part."""
    return len(key) == len(pattern) and all(map(fnmatch.fnmatch, key, pattern))


# --- The tests ------------------------------------------------------------------------


def test_the_docs_give_commands_of_every_program():
    """The extraction finds the commands, so that the checks below cannot pass on none."""
    commands = documented_commands()
    programs = {c.program for c in commands}
    assert len(commands) >= 60, [c.text for c in commands]
    assert programs >= {"optvol", "dagster", "dg", "make", "python"}, programs


@pytest.mark.parametrize("command", documented_commands(), ids=lambda c: f"{c.where} {c.text}")
def test_a_documented_command_exists_as_written(command):
    """Its subcommands, options, choices, targets, variables and script exist."""
    _, problems = check(command)
    assert not problems, f"{command.where}: `{command.text}`: {'; '.join(problems)}"


def test_every_documented_command_is_run_by_a_test_or_ci():
    """Existing is not working: each documented command runs somewhere, or NOT_RUN says
    why it cannot; and NOT_RUN holds nothing that runs or that the docs dropped."""
    runs = run_for_real()
    documented: dict[tuple[str, ...], str] = {}
    for command in documented_commands():
        documented.setdefault(check(command)[0], command.where)
    never_run = {
        " ".join(key): where
        for key, where in documented.items()
        if key not in runs and not any(matches(key, pattern) for pattern in NOT_RUN)
    }
    assert not never_run, f"documented, but no test or CI runs them: {never_run}"
    stale = [
        pattern
        for pattern in NOT_RUN
        if any(matches(key, pattern) for key in runs)
        or not any(matches(key, pattern) for key in documented)
    ]
    assert not stale, f"NOT_RUN entries that are run, or no longer documented: {stale}"
