"""The package's shape, as docs/architecture.md §1 (Layout) states it: one folder per
pipeline in both layers, domain logic free of Dagster, a one-way order between the
packages, and a test tree that mirrors the package tree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import optvol

PACKAGE = Path(optvol.__file__).resolve().parent
TESTS = Path(__file__).resolve().parent
# Who may import whom inside optvol.core: the pipelines use reports/ and common/, never
# each other; reports/ uses common/ alone; common/ and monitoring/ use common/ alone.
MAY_IMPORT = {
    "options": {"options", "reports", "common"},
    "volatility": {"volatility", "reports", "common"},
    "reports": {"reports", "common"},
    "common": {"common"},
    "monitoring": {"monitoring", "common"},
}


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at its top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _packages(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_dir() and (p / "__init__.py").exists())


def test_core_holds_folders_only():
    loose = [p.name for p in (PACKAGE / "core").glob("*.py") if p.name != "__init__.py"]
    assert not loose, f"modules directly in optvol/core/: {loose}"


@pytest.mark.parametrize("package", _packages(PACKAGE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_package_says_what_lives_there(package):
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
    assert docstring and len(docstring) > 40, f"{package}/__init__.py has no docstring"


def test_domain_logic_never_imports_dagster_or_the_layers_above_it():
    offenders = {}
    for path in _modules(PACKAGE / "core"):
        bad = sorted(
            name
            for name in _imports(path)
            if name.split(".")[0] in ("dagster", "dagster_dg_cli")
            or name.startswith(("optvol.defs", "optvol.serve", "optvol.sample", "optvol.cli"))
            or name == "optvol.definitions"
        )
        if bad:
            offenders[str(path.relative_to(PACKAGE))] = bad
    assert not offenders


def test_core_packages_import_in_one_direction():
    offenders = {}
    for path in _modules(PACKAGE / "core"):
        own = path.relative_to(PACKAGE / "core").parts[0]
        if own not in MAY_IMPORT:  # core/__init__.py
            continue
        used = {name.split(".")[2] for name in _imports(path) if name.startswith("optvol.core.")}
        if used - MAY_IMPORT[own]:
            offenders[str(path.relative_to(PACKAGE))] = sorted(used - MAY_IMPORT[own])
    assert not offenders


def test_the_pipelines_dagster_layers_do_not_import_each_other():
    for pipeline, other in (("options", "volatility"), ("volatility", "options")):
        for path in _modules(PACKAGE / "defs" / pipeline):
            crossing = [n for n in _imports(path) if n.startswith(f"optvol.defs.{other}")]
            assert not crossing, f"{path.relative_to(PACKAGE)} imports {crossing}"


def test_every_package_has_its_folder_of_tests_and_every_test_folder_its_package():
    packages = {p.relative_to(PACKAGE) for p in _packages(PACKAGE)}
    test_folders = {p.relative_to(TESTS) for p in _packages(TESTS)}
    # core/ and its pipeline folders are tested through their subfolders' tests
    assert packages - {Path(".")} <= test_folders | {Path("core")}, sorted(
        map(str, packages - test_folders)
    )
    assert test_folders - {Path(".")} <= packages, sorted(map(str, test_folders - packages))
    for folder in test_folders - {Path(".")}:
        assert list((TESTS / folder).rglob("test_*.py")), f"optvol_tests/{folder} has no tests"
