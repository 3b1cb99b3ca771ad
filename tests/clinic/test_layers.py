"""The layer contract (pyproject.toml, `make lint`): the real tree keeps it, and a
backward import, one lower layer reaching up, breaks it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = (
    "config",
    "bench",
    "demo",
    "portal",
    "reports",
    "privacy",
    "programmes",
    "patients",
    "clinic",
    "tests",
)


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The project's Python packages and its pyproject, in a scratch directory."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "templates", "static", "*.html"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_the_layers(tree_copy: Path):
    result = _lint(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "backward_import", "reported"),
    [
        ("patients/models.py", "import programmes.models", "patients.models -> programmes.models"),
        ("clinic/models.py", "from patients import services", "clinic.models -> patients.services"),
        (
            "programmes/services/__init__.py",
            "import portal.views",
            "programmes.services -> portal.views",
        ),
        # Interface apps are independent of each other.
        ("reports/views.py", "import portal.views", "reports.views -> portal.views"),
        (
            "bench/synthetic/build.py",
            "import tests.factories",
            "bench.synthetic.build -> tests.factories",
        ),
    ],
)
def test_a_backward_import_breaks_the_contract(tree_copy, module, backward_import, reported):
    target = tree_copy / module
    target.write_text(target.read_text() + f"\n{backward_import}  # noqa\n")
    result = _lint(tree_copy)
    assert result.returncode == 1, result.stdout
    assert "1 kept, 1 broken" in result.stdout
    assert reported in result.stdout
