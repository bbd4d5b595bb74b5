"""Installs, next to the package, one ``.pth`` line that hides two notices Dagster prints
on every ``dagster asset materialize``: that the command is superseded by ``dg launch``,
and (with ``--select '*'``) that a parameter Dagster's own selection parser passes is in
beta.

The README's commands use ``dagster asset materialize``: it needs nothing beyond dagster
itself, while ``dg`` needs the dagster-dg-cli package and a project file. Dagster prints
the notice before it loads any code of ours, so the filter must be in place at
interpreter start, which is what a ``.pth`` line in site-packages is for. It matches those
two messages; every other warning is shown as before. Uninstalling optvol removes it.
Everything else about the package is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH = "optvol_dagster_cli.pth"


class BuildWithPth(build_py):
    """A wheel gets the line at its root, which pip installs into site-packages."""

    def run(self) -> None:
        super().run()
        self.copy_file(PTH, str(Path(self.build_lib) / PTH), preserve_mode=False)


class EditableWithPth(editable_wheel):
    """``pip install -e`` gets it too (setuptools builds an editable wheel its own way)."""

    def _select_strategy(self, *args, **kwargs):
        strategy = super()._select_strategy(*args, **kwargs)
        text = Path(PTH).read_bytes()

        class WithPth:
            def __enter__(self):
                strategy.__enter__()
                return self

            def __exit__(self, *exc):
                return strategy.__exit__(*exc)

            def __call__(self, wheel, files, mapping):
                strategy(wheel, files, mapping)
                wheel.writestr(PTH, text)

        return WithPth()


setup(cmdclass={"build_py": BuildWithPth, "editable_wheel": EditableWithPth})
