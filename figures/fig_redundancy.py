"""Claim tested (Li, Yu, Yu & Zang 2025, "Seemingly redundant modules enhance robust odor
learning in fruit flies"): lateral inhibition (LI, the APL) improves discrimination of similar
odors at low and medium input noise, with a benefit that shrinks and may reverse at high noise;
spike-frequency adaptation (SFA) improves it at all noise levels; the two together are best.

The figure shows what flysim's circuit does: accuracy of telling apart the two odors of a pair
(input correlation 0.8) from single noisy trials, for the four circuits none / LI / SFA /
LI+SFA (``li.enabled`` x ``sfa.enabled``) against input noise (SD of the per-glomerulus input
pattern noise), and the LI benefit (LI - none), the SFA benefit (SFA - none) and their
interaction (LI+SFA - LI - SFA + none), of the headline readout: the MBON choice after aversive
conditioning (full mode; the fly's own readout) or a cross-validated linear decoder of KC spike
counts (quick mode; chance 0.5 for both). Spread: in the printed tables, mean and 95% CI of a
two-way bootstrap over flies (wiring seeds) and odor pairs, both random factors; in the figure,
mean and 95% t CI over flies of each fly's mean over the pairs. A benefit whose CI excludes 0
is an effect; ``flysim.redundancy.claims`` judges the paper's claims by fixed rules.

Run: ``python figures/fig_redundancy.py [--quick] [--out-dir DIR] [--workers N]
[--set PATH=VALUE ...] [--noise HZ ...] [--li-site apl|ln|both] [--pairs N] [--tests N]``;
``--set`` changes a parameter of every condition (e.g. ``--set li.strength=2``; values are TOML:
``--set 'sfa.tau={value=100, unit="ms"}'``), ``--noise`` replaces the noise levels,
``--li-site`` moves LI from the APL to the antennal-lobe LNs (``ln``) or uses both,
``--pairs N --tests N`` set the odor pairs per odor panel and the conditioning repetitions
(tests) per pair (each test needs a training and a test trial per odor; cost grows with their
product: 10 pairs per panel x 20 tests, the issue-scale table, is 25x the default's).
Quick: ``tiny`` preset, 3 noise levels, 2 flies, decoder only (about a minute once compiled).
Full: ``drosophila_adult``, 6 noise levels (0-40 Hz, where the MBON choice goes from perfect to
chance), 5 flies, 4 pairs x 4 conditioning repetitions, whose test presentations the KC decoder
and KC measures read (one run per point); ~15 min on 2 idle workers of a Zen 3 host
(BENCHMARKS.md "Hosts"). Every point is stored
in ``redundancy.zarr`` (in the output directory) as it finishes, so a rerun computes only the
missing points. Writes ``redundancy[_quick].nc`` and ``.png`` next to this script (or to
``--out-dir``) and prints the tables.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Long names of the derived variables (kept in the .nc and used as axis labels).
READOUTS = ("mbon_accuracy", "decoder_accuracy")


def plot(result, fig):
    """Accuracy per condition against noise (and MBON choice if measured), then the benefits."""
    from flysim.plotting import benefit_vs_noise, condition_vs_noise
    from flysim.redundancy import LI_SITES

    # The plots' CIs are t intervals over flies: each fly's mean over the pairs.
    result = result.mean("pair", keep_attrs=True) if "pair" in result.dims else result
    readouts = [v for v in READOUTS if v in result]
    benefits = ("li_benefit", "sfa_benefit", "synergy")
    grid = fig.add_gridspec(2, 6)
    width = 6 // len(readouts)
    for k, variable in enumerate(readouts):
        ax = fig.add_subplot(grid[0, k * width : (k + 1) * width])
        condition_vs_noise(result, ax, variable, chance=0.5)
    for k, (variable, color) in enumerate(zip(benefits, ("#3b6ea5", "#d9822b", "k"), strict=True)):
        benefit_vs_noise(result, fig.add_subplot(grid[1, 2 * k : 2 * k + 2]), variable, color)
    site = LI_SITES[result.attrs.get("li_site", "apl")]
    fig.suptitle(
        f"LI ({site}) x SFA x input noise: {result.attrs.get('preset', '')} circuit, mean ± 95% CI"
        f" (t) over {result.sizes['fly']} flies of pair means",
        fontsize=9,
    )
    return fig


def parse_settings(settings) -> dict:
    """``["li.strength=2", ...]`` -> ``{"li.strength": 2}`` (each value read as TOML)."""
    import tomllib

    overrides = {}
    for item in settings or []:
        path, sep, text = item.partition("=")
        try:
            if not sep or not path.strip():
                raise ValueError
            overrides[path.strip()] = tomllib.loads(f"value = {text.strip()}")["value"]
        except (ValueError, tomllib.TOMLDecodeError):
            raise SystemExit(f"--set {item!r}: expected PATH=VALUE, e.g. li.strength=2") from None
    return overrides


def main(
    quick: bool = False,
    out_dir=None,
    workers=None,
    settings=None,
    noise_levels=None,
    li_site: str = "apl",
    n_pairs=None,
    n_tests=None,
):
    import flysim
    from flysim.params import ParameterError
    from flysim.redundancy import (
        PairDiscrimination,
        differences_table,
        redundancy,
        summary_table,
    )

    params = flysim.load_params("tiny" if quick else "drosophila_adult")
    overrides = parse_settings(settings)
    if "li.site" in overrides:  # redundancy() sets it from li_site; a --set would be overridden
        raise SystemExit("--set li.site: use --li-site instead")
    try:
        params = flysim.with_overrides(params, overrides)
    except ParameterError as error:
        raise SystemExit(f"--set: {error}") from None
    if noise_levels is None:
        noise_levels = [0, 20, 50] if quick else [0, 5, 10, 15, 25, 40]
    out_dir = HERE if out_dir is None else Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_tests = n_tests or (2 if quick else 4)
    result = redundancy(
        params,
        noise_levels,
        experiment=PairDiscrimination(
            n_pairs=n_pairs or 2,  # per odor panel
            n_trials=2 * n_tests,  # a training and a test trial per repetition
            similarity=0.8,
            mbon_trials=n_tests,
            n_reference=2,
        ),
        seeds=(0, 1) if quick else (0, 1, 2, 3, 4),
        odor_seeds=(0, 1),
        store=None if quick else out_dir / "redundancy.zarr",
        workers=workers,
        li_site=li_site,
        progress=True,
    ).load()
    result.attrs["preset"] = params.name
    result.attrs["overrides"] = repr(overrides)
    stem = "redundancy" + ("_quick" if quick else "")
    result.to_netcdf(out_dir / f"{stem}.nc")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 6))
    plot(result, fig)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(out_dir / f"{stem}.png", dpi=150)
    plt.close(fig)

    for variable in READOUTS:
        if variable in result:
            print(f"{result[variable].attrs['long_name']} (chance 0.5):")
            print(summary_table(result, variable))
    print(f"Differences in {result.accuracy.attrs['measure']}, paired per fly and pair")
    print("(benefits: positive = helps; combined_vs_*: LI+SFA minus one mechanism):")
    print(differences_table(result))
    print(f"wrote {out_dir / stem}.nc and .png")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny preset, 3 noise levels, 2 flies")
    parser.add_argument("--out-dir", default=None, help="where to write (default: next to this)")
    parser.add_argument("--workers", type=int, default=None, help="local dask workers")
    parser.add_argument(
        "--set", action="append", metavar="PATH=VALUE", help="parameter change (repeatable)"
    )
    parser.add_argument("--noise", type=float, nargs="+", default=None, help="noise levels (Hz)")
    parser.add_argument(
        "--li-site", default="apl", choices=("apl", "ln", "both"), help="where LI acts"
    )
    parser.add_argument("--pairs", type=int, default=None, help="odor pairs per point (4)")
    parser.add_argument(
        "--tests", type=int, default=None, help="conditioning repetitions (tests) per pair (4)"
    )
    arguments = parser.parse_args()
    main(
        arguments.quick,
        arguments.out_dir,
        arguments.workers,
        arguments.set,
        arguments.noise,
        arguments.li_site,
        arguments.pairs,
        arguments.tests,
    )
