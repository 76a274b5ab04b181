"""Every notebook in notebooks/ is stored with its full-mode outputs (``notebooks/execute.py``)
and still runs top to bottom in quick mode (FLYSIM_QUICK=1), drawing a figure in every cell
that stored one."""

import os
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def _code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _draws_figure(cell) -> bool:
    return any("image/png" in output.get("data", {}) for output in cell.outputs)


def test_notebooks_are_stored_executed_with_their_outputs():
    assert len(NOTEBOOKS) >= 5
    for path in NOTEBOOKS:
        code = _code_cells(nbformat.read(path, as_version=4))
        assert 'os.environ.get("FLYSIM_QUICK"' in code[0].source, path.name
        # executed top to bottom in one kernel (notebooks/execute.py), without an error
        assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), path.name
        errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
        assert not errors, path.name
    assert sum(_draws_figure(c) for p in NOTEBOOKS for c in _code_cells(nbformat.read(p, 4))) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path, tmp_path, session_cache):
    notebook = nbformat.read(path, as_version=4)
    env = {**os.environ, "FLYSIM_QUICK": "1", "FLYSIM_CACHE_DIR": session_cache}
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    stored = [_draws_figure(cell) for cell in _code_cells(notebook)]
    client.execute(env=env)  # raises CellExecutionError naming the failing cell
    drawn = [_draws_figure(cell) for cell in _code_cells(notebook)]
    lost = [k for k, (was, now) in enumerate(zip(stored, drawn, strict=True)) if was and not now]
    assert not lost, f"{path.name}: code cells {lost} stored a figure but drew none"
