"""Execute every notebook in this folder in place, in full mode, so that it is stored with its
outputs (figures, tables) for readers on GitHub.

Run: ``python notebooks/execute.py [NAME ...]`` (default: every ``*.ipynb`` here; a name may
omit ``.ipynb``). Each notebook runs top to bottom in a fresh kernel with this folder as the
working directory; a failing cell stops that notebook with its error and the notebook file is
left unchanged. CI does not run this script (full mode takes minutes per notebook); it
re-executes the notebooks in quick mode and checks that every cell that stored a figure still
draws one (``tests/docs/test_notebooks.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def execute(path: Path, timeout: int = 3600) -> float:
    """Run ``path`` in full mode and write it back with its outputs; returns seconds taken."""
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "FLYSIM_QUICK"}
    started = time.perf_counter()
    client = nbclient.NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(HERE)}},
    )
    client.execute(env=env)
    nbformat.write(notebook, path)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all)")
    names = parser.parse_args(argv).names
    paths = (
        [HERE / (n if n.endswith(".ipynb") else f"{n}.ipynb") for n in names]
        if names
        else sorted(HERE.glob("*.ipynb"))
    )
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    failed = []
    for path in paths:
        print(f"{path.name} ...", end=" ", flush=True)
        try:
            print(f"{execute(path):.0f} s")
        except Exception as error:  # noqa: BLE001 - report and go on with the others
            print(f"FAILED: {str(error).strip().splitlines()[-1] if str(error) else error!r}")
            failed.append(path.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
