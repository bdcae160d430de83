"""The engine never imports streamlit; only nnviz.ui may."""

import ast
import pkgutil
import subprocess
import sys

from conftest import REPO

import nnviz

ENGINE_MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(nnviz.__path__, "nnviz.")
    if not info.name.startswith("nnviz.ui")
)


def test_engine_modules_are_found():
    assert {"nnviz.model.spec", "nnviz.data.datasets", "nnviz.training.engine", "nnviz.explain.trace"} <= set(
        ENGINE_MODULES
    )


def test_importing_the_engine_does_not_import_streamlit():
    code = (
        "import importlib, sys\n"
        f"for name in {ENGINE_MODULES!r}: importlib.import_module(name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"


def test_no_engine_source_mentions_a_streamlit_import():
    for path in (REPO / "nnviz").rglob("*.py"):
        if "ui" in path.relative_to(REPO / "nnviz").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            assert not any(n.split(".")[0] == "streamlit" for n in names), f"{path} imports streamlit"


def test_the_data_and_build_pages_do_not_need_tensorflow():
    code = (
        "import sys\n"
        "import nnviz.model.spec, nnviz.model.codegen, nnviz.data.datasets, nnviz.views.figures\n"
        "from nnviz.data.datasets import load_two_moons; load_two_moons()\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
