"""Claim: with the same membrane constants, a KvLIF neuron (flysim's reading of Yang et al.
2026: a K+ conductance that integrates voltage and spiking history) encodes a wider range of
input currents than a plain LIF: the current range over which its steady rate rises from 10%
to 90% of its maximum is wider (default KC constants, full mode: 5.14 vs 3.95 nA).

f-I curves: steady firing rate of one neuron against a constant injected current (no synaptic
input, no noise; the first 20% of each run is discarded). The neurons are deterministic, so
there is no spread to show: one curve per model.

Run: ``python figures/fig_kvlif_vs_lif.py [--quick] [--out-dir DIR]`` (quick: 21 currents,
0.5 s per current; full: 101 currents, 2 s). Writes ``kvlif_vs_lif[_quick].nc`` and ``.png``
next to this script (or to ``--out-dir``) and prints the ranges.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

#: Neuron models compared, in plot order.
MODELS = ("lif", "kvlif")


def main(quick: bool = False, out_dir=None):
    import xarray as xr
    from brian2 import nA, second

    import flysim
    from flysim.model.fi_curve import dynamic_range_bounds, fi_curve

    params = flysim.load_params("tiny" if quick else "drosophila_adult")
    currents = np.linspace(0, 10, 21 if quick else 101) * nA
    duration = (0.5 if quick else 2.0) * second
    curves = [fi_curve(params, model, currents, duration=duration) for model in MODELS]
    bounds = np.array([dynamic_range_bounds(curve) for curve in curves])
    result = xr.Dataset(
        {
            "rate": xr.concat(curves, dim="neuron").assign_coords(neuron=list(MODELS)),
            "range_start": ("neuron", bounds[:, 0], {"units": "A", "long_name": "I at 10% r_max"}),
            "range_stop": ("neuron", bounds[:, 1], {"units": "A", "long_name": "I at 90% r_max"}),
        }
    )
    result["dynamic_range"] = result.range_stop - result.range_start
    result["dynamic_range"].attrs.update(units="A", long_name="10-90% input range")
    result.attrs.update(
        preset=params.name,
        population="kc",
        duration_s=float(duration / second),
        params=str(flysim.dump_params(params)),
    )

    out_dir = HERE if out_dir is None else Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = "kvlif_vs_lif" + ("_quick" if quick else "")
    result.to_netcdf(out_dir / f"{stem}.nc")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from flysim.plotting import fi_curves

    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    fi_curves([result.rate.sel(neuron=m).assign_attrs(neuron=m) for m in MODELS], ax, (0.1, 0.9))
    ax.set_title("f-I curves, KC membrane constants (10-90% range marked)", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / f"{stem}.png", dpi=150)
    plt.close(fig)
    for model in MODELS:
        row = result.sel(neuron=model)
        print(
            f"{model:6s} 10-90% input range {float(row.dynamic_range) * 1e9:.2f} nA "
            f"({float(row.range_start) * 1e9:.2f}-{float(row.range_stop) * 1e9:.2f} nA), "
            f"max rate {float(row.rate.max()):.0f} Hz"
        )
    print(f"wrote {out_dir / stem}.nc and .png")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="21 currents, 0.5 s each")
    parser.add_argument("--out-dir", default=None, help="where to write (default: next to this)")
    arguments = parser.parse_args()
    main(arguments.quick, arguments.out_dir)
