"""Whether an engine change keeps flysim's outputs: save every output array of a set of runs of
the adult circuit, then compare two such files array by array.

    python benchmarks/same_outputs.py save before.npz   # on the old code (own FLYSIM_CACHE_DIR)
    python benchmarks/same_outputs.py save after.npz    # on the new code
    python benchmarks/same_outputs.py compare before.npz after.npz

The runs: conditioning of 4 odor pairs with KC/PN window counts (16 trained slots, with LI and
SFA and with neither; and 2 flies x 2 trials with mock-trained controls) and ``simulate`` of 8
odors x 2 trials with spike trains, 25 Hz input-pattern noise. ``compare`` prints each array
that differs with its largest difference and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def save(path: str) -> None:
    from brian2 import Hz

    import flysim
    from flysim.learning import conditioning
    from flysim.odors import similar_pairs, synthetic_panel

    params = flysim.load_params("drosophila_adult")
    n_glomeruli = params.network.n_glomeruli
    pairs = similar_pairs(4, 0.8, n_glomeruli=n_glomeruli, seed=0)
    noise = flysim.Noise(input_sigma=25 * Hz, seed=3)
    arrays = {}
    # LI+SFA (the preset's default) with and without controls, and neither mechanism (no APL)
    none = flysim.with_overrides(params, {"li.enabled": False, "sfa.enabled": False})
    for label, circuit, controls, trials, flies in (
        ("", params, False, 4, 0),
        ("", params, True, 2, [0, 1]),
        ("none_", none, False, 4, 0),
    ):
        start = time.perf_counter()
        ds = conditioning(
            circuit, pairs, n_trials=trials, noise=noise, seed=flies, controls=controls,
            kc_counts=True,
        )  # fmt: skip
        print(f"conditioning ({label}controls={controls}): {time.perf_counter() - start:.1f} s")
        for name in ("mbon_response", "kc_mbon_weight_change", "kc_spike_count", "pn_spike_count"):
            arrays[f"conditioning_{label}{controls}_{name}"] = ds[name].values
    panel = synthetic_panel(8, n_glomeruli=n_glomeruli, seed=1)
    start = time.perf_counter()
    ds = flysim.simulate(params, panel, n_trials=2, noise=noise, seed=0, record_spikes=True)
    print(f"simulate: {time.perf_counter() - start:.1f} s")
    for name, variable in ds.data_vars.items():
        if np.issubdtype(variable.dtype, np.number):
            arrays[f"simulate_{name}"] = variable.values
    np.savez(path, **arrays)
    print(f"{len(arrays)} arrays -> {path}")


def compare(a_path: str, b_path: str) -> int:
    a, b = np.load(a_path), np.load(b_path)
    differ = 0
    for name in sorted(set(a.files) | set(b.files)):
        if name not in a.files or name not in b.files:
            print(f"{name}: only in {a_path if name in a.files else b_path}")
            differ += 1
        elif a[name].shape != b[name].shape:
            print(f"{name}: shape {a[name].shape} vs {b[name].shape}")
            differ += 1
        elif not np.array_equal(a[name], b[name], equal_nan=True):
            largest = np.nanmax(np.abs(a[name].astype(float) - b[name].astype(float)))
            print(f"{name}: differs, largest difference {largest:.3g}")
            differ += 1
    print(f"{len(a.files) - differ} of {len(a.files)} arrays identical")
    return int(differ > 0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("save").add_argument("path")
    both = commands.add_parser("compare")
    both.add_argument("a")
    both.add_argument("b")
    args = parser.parse_args()
    sys.exit(save(args.path) if args.command == "save" else compare(args.a, args.b))
