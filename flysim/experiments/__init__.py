"""Experiments built on ``simulate``, ``conditioning`` and scans, with the analysis metrics.

- :mod:`~flysim.experiments.summary`: a fly's coding level, rates and decoding (scan points);
- :mod:`~flysim.experiments.discrimination`: odor-pair discrimination and pattern separation;
- :mod:`~flysim.experiments.redundancy`: the LI x SFA x noise experiment (Li et al. 2025);
- :mod:`~flysim.experiments.circuit_vs_adapter`: the circuit and its ML adapter, same metrics.
"""

from .redundancy import PairDiscrimination
from .summary import SummaryExperiment, summary_experiment

__all__ = ["EXPERIMENTS", "PairDiscrimination", "SummaryExperiment", "summary_experiment"]

#: Experiments by name, as used in scan files (``[experiment] name = "summary"``; a user's own
#: experiment class is named ``"package.module:Class"``). ``pair_discrimination`` is one point of
#: the LI x SFA x noise experiment: scan it over ``li.enabled``, ``sfa.enabled`` and
#: ``noise.input_sigma``.
EXPERIMENTS = {"summary": SummaryExperiment, "pair_discrimination": PairDiscrimination}
