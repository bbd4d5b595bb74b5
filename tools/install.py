"""``make install``: installs into this interpreter's venv with uv, or with pip as before.

    .venv/bin/python tools/install.py --uv uv --constraint constraints.txt -e '.[dev]'

The arguments after ``--uv`` are ``pip install`` arguments that uv takes as they are.
uv (``uv pip install``, seconds from a cold cache) is the one on PATH, the venv's own, or
else pip installs it into the venv. uv reads none of pip's settings, so the ones that
choose what gets installed (indexes, find-links, constraints, certificates, timeout) are
read from ``pip config list`` (pip.conf files and ``PIP_*`` variables, as pip merges
them) and passed on. With them uv resolves torch as pip does here, to the CPU build the
constraints pin. pip's resolver looks at every index and takes the best version, so uv
is told to do the same (``--index-strategy unsafe-best-match``).

If uv cannot be installed or its install fails, pip installs instead (minutes), after
one line that says so; ``--uv ''`` (``make install UV=``) uses pip alone.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PYTHON = sys.executable
VENV_BIN = Path(PYTHON).parent
PIP = [PYTHON, "-m", "pip"]

# pip settings whose values are lists (pip splits them on whitespace) -> uv option.
LIST_OPTIONS = {
    "extra-index-url": "--extra-index-url",
    "find-links": "--find-links",
    "constraint": "--constraint",
    "trusted-host": "--allow-insecure-host",
}
# pip settings that are environment variables for uv (it reads the usual SSL ones).
ENV_OPTIONS = {
    "cert": "SSL_CERT_FILE",
    "client-cert": "SSL_CLIENT_CERT",
    "timeout": "UV_HTTP_TIMEOUT",
    "default-timeout": "UV_HTTP_TIMEOUT",
}


def pip_settings(listing: str) -> dict[str, str]:
    """The settings ``pip install`` uses, from ``pip config list`` output.

    As in pip, the environment (``:env:``) overrides the ``[install]`` section, which
    overrides ``[global]``; lines are ``section.key='value'``.
    """
    ranked: dict[str, tuple[int, str]] = {}
    order = {"global": 0, "install": 1, ":env:": 2}
    for line in listing.splitlines():
        name, sep, value = line.partition("=")
        section, dot, key = name.partition(".")
        if not (sep and dot) or section not in order:
            continue
        rank = order[section]
        if key not in ranked or rank >= ranked[key][0]:
            ranked[key] = (rank, ast.literal_eval(value))
    return {key: value for key, (_, value) in ranked.items()}


def uv_options(settings: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """``(uv pip install options, environment variables)`` that say what ``settings`` say."""
    options: list[str] = []
    env: dict[str, str] = {}
    if settings.get("index-url"):
        options += ["--index-url", settings["index-url"]]
    for key, option in LIST_OPTIONS.items():
        for value in settings.get(key, "").split():
            options += [option, value]
    if settings.get("no-index", "").lower() in {"1", "true", "yes", "on"}:
        options.append("--no-index")
    for key, variable in ENV_OPTIONS.items():
        if settings.get(key):
            env[variable] = settings[key]
    if settings.get("extra-index-url"):
        options += ["--index-strategy", "unsafe-best-match"]
    return options, env


def find_uv(name: str) -> str | None:
    """uv's path: ``name`` on PATH, the venv's, or one pip installs into the venv now."""
    found = shutil.which(name) or shutil.which("uv", path=str(VENV_BIN))
    if found:
        return found
    print(f"+ {' '.join(PIP)} install --quiet uv", flush=True)
    if subprocess.run([*PIP, "install", "--quiet", "uv"]).returncode != 0:
        return None
    return shutil.which("uv", path=str(VENV_BIN))


def run(command: list[str], env: dict[str, str] | None = None) -> bool:
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, env=env).returncode == 0


def install_with_uv(uv: str, requirements: list[str]) -> bool:
    listing = subprocess.run([*PIP, "config", "list"], capture_output=True, text=True)
    if listing.returncode != 0:
        print(listing.stderr, file=sys.stderr)
        return False
    options, extra_env = uv_options(pip_settings(listing.stdout))
    env = {**extra_env, **os.environ}  # uv's own settings, if any, stay in force
    # Compiled to bytecode now, as pip does: uv leaves that to first import by default,
    # and where PYTHONDONTWRITEBYTECODE is set every process would compile Dagster,
    # pandas and PyTorch from source again (seconds per process).
    command = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", PYTHON]
    command += options
    # pip upgraded too, so that the venv's pip is as current as with a pip install.
    return run([*command, "--upgrade-package", "pip", "pip", *requirements], env)


def install_with_pip(requirements: list[str]) -> bool:
    return run([*PIP, "install", "--quiet", "--upgrade", "pip"]) and run(
        [*PIP, "install", "--quiet", *requirements]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uv", default="uv", help="uv executable; '' installs with pip")
    args, requirements = parser.parse_known_args()
    started = time.perf_counter()
    tool = "uv"
    uv = find_uv(args.uv) if args.uv else None
    if not args.uv:
        tool = "pip"
        print("UV is empty: installing with pip (several minutes)", flush=True)
    elif uv is None:
        tool = "pip"
        print("uv could not be installed: installing with pip (several minutes)", flush=True)
    elif not install_with_uv(uv, requirements):
        tool = "pip"
        print("the uv install failed: installing with pip (several minutes)", flush=True)
    if tool == "pip" and not install_with_pip(requirements):
        return 1
    print(f"installed with {tool} in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
