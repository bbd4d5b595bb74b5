"""``make install`` on a fresh clone, timed: uv from a cold cache, and pip with ``--with-pip``.

Clones this repository's committed HEAD into a temporary folder and runs ``make install``
there (venv creation, uv installed into it by pip, then the install), with uv's cache
in a fresh temporary folder so that every package is fetched and unpacked again. With
``--with-pip`` a second fresh clone runs ``make install UV=``, the pip path (about 6 min
on 2 cores; pip's own cache, ``~/.cache/pip``, is left as it is, which favours pip). For
each it prints the seconds, the installer that ran, torch's version and whether any
``nvidia-*`` (CUDA) package got in. Exits 1 if an install fails or pulls CUDA packages.

    python3 benchmarks/install.py [--with-pip] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def install(clone: Path, make_args: list[str], env: dict[str, str]) -> dict:
    subprocess.run(["git", "clone", "--quiet", str(REPOSITORY), str(clone)], check=True)
    started = time.perf_counter()
    with open(clone / "install.log", "w") as log:
        done = subprocess.run(
            ["make", "install", *make_args],
            cwd=clone,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    seconds = time.perf_counter() - started
    text = (clone / "install.log").read_text()
    tool = re.findall(r"^installed with (\w+) in", text, flags=re.MULTILINE)
    result = {
        "status": done.returncode,
        "seconds": seconds,
        "tool": tool[-1] if tool else "?",
        "log": clone / "install.log",
    }
    if done.returncode == 0:
        python = str(clone / ".venv" / "bin" / "python")
        torch = subprocess.run(
            [python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True
        )
        freeze = subprocess.run(
            [python, "-m", "pip", "list", "--format=freeze"],
            capture_output=True,
            text=True,
            check=True,
        )
        packages = [line.split("==")[0] for line in freeze.stdout.splitlines()]
        result["torch"] = torch.stdout.strip() or torch.stderr.strip().splitlines()[-1]
        result["packages"] = len(packages)
        result["nvidia"] = [name for name in packages if name.lower().startswith("nvidia")]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--with-pip", action="store_true", help="also time the pip path")
    parser.add_argument("--keep", help="clone into DIR (kept) instead of a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="optvol-install-") as temporary:
        root = Path(args.keep or temporary)
        root.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "UV_CACHE_DIR": str(root / "uv-cache")}
        runs = [("uv, cold uv cache", "uv-clone", [])]
        if args.with_pip:
            runs.append(("pip", "pip-clone", ["UV="]))
        failed = False
        for label, folder, make_args in runs:
            print(f"== make install {' '.join(make_args)}".rstrip(), f"({label})", flush=True)
            result = install(root / folder, make_args, env)
            if result["status"] != 0:
                failed = True
                log = Path(result["log"]).read_text().splitlines()[-20:]
                print(f"failed (exit {result['status']}):", *log, sep="\n  ")
                continue
            failed |= bool(result["nvidia"])
            print(
                f"{result['seconds']:.0f} s with {result['tool']}: torch {result['torch']}, "
                f"{result['packages']} packages, nvidia packages: "
                f"{', '.join(result['nvidia']) or 'none'}"
            )
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
