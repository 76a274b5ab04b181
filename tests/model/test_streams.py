"""flysim's counter-based random streams (flysim/model/streams.py): the Philox generator against
Random123's known answers, its C code against the Python reference, and the distributions of
the Poisson and normal draws the circuit makes from it."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from scipy import stats

from flysim.model.streams import INVERSION_CPP, PHILOX_CPP, philox4x32, split_key

#: Random123's known-answer vectors for philox4x32-10 (kat_vectors): counter, key, output.
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (
        (0xFFFFFFFF,) * 4,
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]

HARNESS = r"""
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
PHILOX
INVERSION
int main(int argc, char** argv)
{
    const char* what = argv[1];
    const uint32_t k0 = strtoul(argv[2], 0, 0), k1 = strtoul(argv[3], 0, 0);
    const int n = atoi(argv[4]);
    if (what[0] == 'r') {  // raw Philox of counters (i, 7, 0, 3)
        for (int i = 0; i < n; i++) {
            uint32_t c[4] = {(uint32_t)i, 7u, 0u, 3u};
            flysim_philox(c, k0, k1);
            printf("%u %u %u %u\n", c[0], c[1], c[2], c[3]);
        }
    } else if (what[0] == 'p' || what[0] == 'b') {  // Poisson counts of mean argv[5], one
        const double lam = atof(argv[5]);         // per (neuron, step); 'b': drawn backwards
        const int per_step = argc > 6 ? atoi(argv[6]) : 100;  // neurons per step
        for (int j = 0; j < n; j++) {
            const int i = what[0] == 'b' ? n - 1 - j : j;
            printf("%d\n", flysim_poisson_inversion(lam, exp(-lam), k0, k1, i % per_step,
                                                    i / per_step, 0u, 0u));
        }
    } else {  // Box-Muller normals, one per (neuron, step)
        for (int i = 0; i < n; i++) {
            double u[2];
            flysim_uniforms(k0, k1, i % 100, i / 100, 1u, 0u, u);
            printf("%.17g\n", sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]));
        }
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """The streams' C code compiled into a small program that prints draws."""
    folder = tmp_path_factory.mktemp("streams")
    source = folder / "harness.cpp"
    source.write_text(HARNESS.replace("PHILOX", PHILOX_CPP).replace("INVERSION", INVERSION_CPP))
    subprocess.run(["g++", "-O2", "-o", str(folder / "h"), str(source)], check=True)

    def run(*args) -> list[str]:
        out = subprocess.run([str(folder / "h"), *map(str, args)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout.split("\n")[:-1]

    return run


@pytest.mark.parametrize("counter,key,expected", KNOWN_ANSWERS)
def test_python_philox_gives_random123s_known_answers(counter, key, expected):
    assert philox4x32(counter, key) == expected


def test_c_philox_equals_the_python_reference(harness):
    rows = harness("raw", 0x12345678, 0x9ABCDEF0, 50)
    for i, row in enumerate(rows):
        got = tuple(int(x) for x in row.split())
        assert got == philox4x32((i, 7, 0, 3), (0x12345678, 0x9ABCDEF0)), i


@pytest.mark.parametrize("lam", [0.03, 1.2, 7.0])
def test_poisson_draws_follow_the_poisson_distribution(harness, lam):
    counts = np.array(harness("poisson", 1, 2, 20_000, lam), dtype=int)
    top = max(counts.max(), 3)
    observed = np.bincount(counts, minlength=top + 1)
    expected = stats.poisson.pmf(np.arange(top + 1), lam) * len(counts)
    expected[-1] += stats.poisson.sf(top, lam) * len(counts)
    keep = expected > 5  # chi-square needs enough expected counts per bin
    chi2 = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3, (lam, observed[:6], expected[:6])


def test_poisson_draws_do_not_depend_on_the_order_of_the_calls(harness):
    # four neighbouring neurons share a remembered Philox block: the memory saves work only
    forwards = harness("poisson", 3, 4, 4_000, 1.2)
    assert harness("backwards", 3, 4, 4_000, 1.2)[::-1] == forwards


def test_one_neuron_draws_anew_at_every_step(harness):
    # a single neuron per step (a DAN, say) re-reads its remembered block only within a step
    counts = np.array(harness("poisson", 7, 8, 20_000, 1.2, 1), dtype=int)
    assert abs(counts.mean() - 1.2) < 0.05 and abs(counts.var() - 1.2) < 0.1
    assert abs(np.corrcoef(counts[:-1], counts[1:])[0, 1]) < 0.03


def test_neighbouring_neurons_draw_independent_poisson_counts(harness):
    counts = np.array(harness("poisson", 7, 8, 40_000, 1.2), dtype=float).reshape(-1, 100)
    # neurons 4k..4k+3 read the four words of one block: no correlation between them
    for offset in (1, 2, 3):
        r = np.corrcoef(counts[:, :-offset].ravel(), counts[:, offset:].ravel())[0, 1]
        assert abs(r) < 0.03, (offset, r)


def test_normal_draws_are_standard_normal_and_independent(harness):
    z = np.array(harness("normal", 5, 6, 20_000), dtype=float)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # neighbouring neurons in a step, and one neuron in neighbouring steps, are uncorrelated
    grid = z.reshape(-1, 100)
    assert abs(np.corrcoef(grid[:, :-1].ravel(), grid[:, 1:].ravel())[0, 1]) < 0.03
    assert abs(np.corrcoef(grid[:-1].ravel(), grid[1:].ravel())[0, 1]) < 0.03


def test_different_keys_give_different_streams(harness):
    assert harness("normal", 5, 6, 100) != harness("normal", 5, 7, 100)
    assert harness("normal", 5, 6, 100) == harness("normal", 5, 6, 100)


def test_split_key_keeps_all_64_bits():
    keys = np.array([0, 1, 2**32, 2**64 - 1, 0x0123456789ABCDEF], dtype=np.uint64)
    low, high = split_key(keys)
    assert low.dtype == high.dtype == np.int32
    rebuilt = (high.view(np.uint32).astype(np.uint64) << np.uint64(32)) | low.view(
        np.uint32
    ).astype(np.uint64)
    assert np.array_equal(rebuilt, keys)
