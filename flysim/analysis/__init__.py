"""Pure metrics of a response matrix: sparseness, similarity, dimension, discriminability, and
confidence intervals over crossed random factors (flies x odor pairs: ``two_way_bootstrap``).

Every function takes an ``xarray.DataArray`` and the name(s) of the dim(s) to reduce over and
returns new DataArrays (the input is never modified); all other dims broadcast. They work the
same on simulated spike counts (dims ``odor``, ``trial``, ``kc``, ``time``, ...) and on any
other response matrix (e.g. an adapter's codes with dims ``sample``, ``unit``).

This package imports only numpy, scipy and xarray: never brian2, torch or other flysim modules.
"""

from .bootstrap import two_way_bootstrap, two_way_resample_means
from .decoding import decoding_accuracy
from .dimension import participation_ratio
from .discriminability import d_prime, trial_reliability
from .separation import separation_curve, separation_index
from .similarity import paired_similarity, pairwise_similarity
from .sparseness import (
    adaptation_ratio,
    fraction_active,
    lifetime_sparseness,
    population_sparseness,
    temporal_sparseness,
    treves_rolls,
)

__all__ = [
    "adaptation_ratio",
    "d_prime",
    "decoding_accuracy",
    "fraction_active",
    "lifetime_sparseness",
    "paired_similarity",
    "pairwise_similarity",
    "participation_ratio",
    "population_sparseness",
    "separation_curve",
    "separation_index",
    "temporal_sparseness",
    "treves_rolls",
    "trial_reliability",
    "two_way_bootstrap",
    "two_way_resample_means",
]
