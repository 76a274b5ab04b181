"""Experiments built on ``simulate``, ``conditioning`` and scans, with the analysis metrics.

- :mod:`~flysim.experiments.summary`: a fly's coding level, rates and decoding (scan points);
- :mod:`~flysim.experiments.discrimination`: odor-pair discrimination and pattern separation;
- :mod:`~flysim.experiments.redundancy`: the LI x SFA x noise experiment (Li et al. 2025);
- :mod:`~flysim.experiments.circuit_vs_adapter`: the circuit and its ML adapter, same metrics.
"""

from .summary import SummaryExperiment, summary_experiment

__all__ = ["EXPERIMENTS", "SummaryExperiment", "summary_experiment"]

#: Experiments by name, as used in scan files (``[experiment] name = "summary"``).
EXPERIMENTS = {"summary": SummaryExperiment}
