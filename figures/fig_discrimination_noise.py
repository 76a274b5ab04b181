"""Claim: in the default circuit, telling apart two similar odors (input correlation ~0.8) gets
harder as input noise rises: decoder and MBON-choice accuracy fall from near 1 towards chance
(0.5). Spread: mean and 95% CI (t) over flies (wiring seeds).

Run: ``python figures/fig_discrimination_noise.py [--quick] [--out-dir DIR]``; writes the .nc
and .png next to this script (or to ``--out-dir``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import stats

HERE = Path(__file__).resolve().parent


def mean_ci(values, axis):
    values = np.asarray(values, dtype=float)
    n = values.shape[axis]
    mean = values.mean(axis)
    half = stats.t.ppf(0.975, n - 1) * values.std(axis, ddof=1) / np.sqrt(n) if n > 1 else 0 * mean
    return mean, half


def main(quick: bool = False, out_dir=None):
    import flysim
    from flysim.experiments.discrimination import discrimination

    params = flysim.load_params("tiny" if quick else "drosophila_adult")
    levels = [0, 25, 50, 100, 200, 400] if not quick else [0, 100, 400]
    result = discrimination(
        params,
        levels,
        similarity=0.8,
        n_pairs=2 if quick else 4,
        n_trials=6 if quick else 10,
        n_mbon_trials=2 if quick else 4,
        seeds=(0, 1) if quick else (0, 1, 2, 3, 4),
        progress=True,
    )
    suffix = "_quick" if quick else ""
    out_dir = HERE if out_dir is None else Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result.to_netcdf(out_dir / f"discrimination_noise{suffix}.nc")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from flysim.plotting import accuracy_vs_noise

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    accuracy_vs_noise(result, ax)
    fig.tight_layout()
    fig.savefig(out_dir / f"discrimination_noise{suffix}.png", dpi=150)
    plt.close(fig)
    print("noise  decoder (mean ± CI)   MBON choice (mean ± CI)")
    for name in ("decoder_accuracy", "mbon_accuracy"):
        mean, half = mean_ci(result[name].values, axis=1)
        result[name + "_mean"], result[name + "_ci"] = ("noise", mean), ("noise", half)
    for k, level in enumerate(result.noise.values):
        print(
            f"{level:5.0f}  {float(result.decoder_accuracy_mean[k]):.3f} ± "
            f"{float(result.decoder_accuracy_ci[k]):.3f}        "
            f"{float(result.mbon_accuracy_mean[k]):.3f} ± {float(result.mbon_accuracy_ci[k]):.3f}"
        )
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out-dir", default=None, help="where to write (default: next to this)")
    arguments = parser.parse_args()
    main(arguments.quick, arguments.out_dir)
