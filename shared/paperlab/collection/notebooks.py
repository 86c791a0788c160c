"""Notebook files: reading the py:percent sources, their parameters cell, pairing and clean outputs."""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import nbformat

REQUIRED_PARAMETERS = ("profile", "seed", "device")


def read_source(path: Path) -> nbformat.NotebookNode:
    """The notebook that a py:percent source (or an .ipynb) describes."""
    return jupytext.read(path)


def parameters_cell(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The code cell tagged ``parameters``; ValueError if there is none or more than one."""
    cells = [
        c for c in notebook.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])
    ]
    if len(cells) != 1:
        raise ValueError(f"expected exactly one code cell tagged 'parameters', found {len(cells)}")
    return cells[0]


def notebook_parameters(notebook: nbformat.NotebookNode) -> dict:
    """Names and default values assigned in the parameters cell (literals only)."""
    tree = ast.parse(parameters_cell(notebook).source)
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = _constant_value(node.value)
        elif not isinstance(node, ast.Expr):
            raise ValueError(
                f"the parameters cell may hold only simple assignments, found {ast.dump(node)[:60]}"
            )
    missing = [name for name in REQUIRED_PARAMETERS if name not in values]
    if missing:
        raise ValueError(f"the parameters cell must define {', '.join(missing)}")
    return values


CONSTANT_NODES = (
    ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Load,
    ast.UnaryOp, ast.UAdd, ast.USub, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Pow,
)  # fmt: skip


def _constant_value(node: ast.expr):
    """The value of a constant expression: literals and arithmetic on them (``2**-12``, ``1 / 3``)."""
    for inner in ast.walk(node):
        if not isinstance(inner, CONSTANT_NODES):
            raise ValueError(f"parameters must be constant expressions, found {ast.unparse(node)!r}")
    return eval(compile(ast.Expression(node), "<parameters>", "eval"), {"__builtins__": {}})


def cell_contents(notebook: nbformat.NotebookNode) -> list[tuple[str, str, tuple]]:
    """What pairing must preserve: each cell's type, source and tags."""
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", []))) for c in notebook.cells]


def pair_difference(source: Path, executed: Path) -> str | None:
    """None when the .ipynb holds the same cells as the .py, else a short description of the first difference."""
    left, right = cell_contents(read_source(source)), cell_contents(nbformat.read(executed, as_version=4))
    if len(left) != len(right):
        return f"{source.name} has {len(left)} cells, {executed.name} has {len(right)}"
    for i, (a, b) in enumerate(zip(left, right)):
        if a != b:
            return (
                f"cell {i} differs between {source.name} and {executed.name}: {a[1][:60]!r} vs {b[1][:60]!r}"
            )
    return None


def strip_run_metadata(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop papermill's timing metadata so that re-executing a notebook gives small diffs."""
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    return notebook


def parse_value(text: str):
    """A ``-p key=value`` value: a Python literal when it parses as one, else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
