"""Glomerulus and receptor names, and a measured panel placed on the antennal lobe's glomeruli.

The adult preset's 50 glomeruli carry the names of real antennal-lobe glomeruli, so that a
receptor table measured on ~24 of them (Hallem & Carlson 2006) is simulated on its own
glomeruli inside the whole circuit instead of as a circuit of 24 glomeruli (where every KC
would sample ~30 % of all glomeruli instead of ~14 %).
"""

from __future__ import annotations

import re

import numpy as np

__all__ = [
    "ANTENNAL_LOBE",
    "UNMEASURED_SPONTANEOUS_HZ",
    "looks_like_glomerulus",
    "looks_like_receptor",
    "on_antennal_lobe",
]

#: The 50 glomeruli of the adult preset (``network.n_glomeruli = 50``), after the antennal-lobe
#: map of Couto, Alenius & Dickson 2005 (Curr Biol 15:1535) and Grabe et al. 2015 (Cell Rep
#: 10:1214); it holds every glomerulus of Hallem & Carlson 2006's receptors. Order: alphabetical
#: by name (position carries no anatomy in the model: PN -> KC wiring is random).
ANTENNAL_LOBE = (
    "D", "DA1", "DA2", "DA3", "DA4l", "DA4m", "DC1", "DC2", "DC3", "DC4",
    "DL1", "DL2d", "DL2v", "DL3", "DL4", "DL5", "DM1", "DM2", "DM3", "DM4",
    "DM5", "DM6", "DP1l", "DP1m", "V", "VA1d", "VA1v", "VA2", "VA3", "VA4",
    "VA5", "VA6", "VA7l", "VA7m", "VC1", "VC2", "VC3", "VC4", "VC5", "VL1",
    "VL2a", "VL2p", "VM1", "VM2", "VM3", "VM4", "VM5d", "VM5v", "VM7d", "VM7v",
)  # fmt: skip

#: Spontaneous ORN rate of a glomerulus the table did not measure (Hz): the mean spontaneous
#: rate of Hallem & Carlson 2006's receptors, the adult preset's ``orn.spontaneous_rate``.
UNMEASURED_SPONTANEOUS_HZ = 8.0

_GLOMERULUS = re.compile(r"^[DV][A-Z]{0,2}\d{0,2}[a-z]{0,2}$")
_RECEPTOR = re.compile(r"^(Or|Gr|Ir)?\d{1,3}[a-z]?$", re.IGNORECASE)


def looks_like_glomerulus(name: str) -> bool:
    """An antennal-lobe glomerulus name: D or V, up to two capitals, a number, a side letter
    (``DA4l``, ``VM5v``, ``DM5``, ``V``)."""
    return bool(_GLOMERULUS.match(name.strip().rstrip("?")))


def looks_like_receptor(name: str) -> bool:
    """A receptor name: ``Or22a``, ``Gr21a``, ``Ir84a``, or its number alone (``22a``)."""
    return bool(_RECEPTOR.match(name.strip()))


def on_antennal_lobe(responses, glomeruli, spontaneous):
    """(responses, spontaneous) of a panel measured on ``glomeruli`` (names in
    :data:`ANTENNAL_LOBE`), over all 50: unmeasured glomeruli respond 0 Hz and fire
    spontaneously at :data:`UNMEASURED_SPONTANEOUS_HZ` (measured ones at the table's rate, or
    that rate too if the table has none)."""
    columns = [ANTENNAL_LOBE.index(g) for g in glomeruli]
    full = np.zeros((np.shape(responses)[0], len(ANTENNAL_LOBE)))
    full[:, columns] = responses
    rates = np.full(len(ANTENNAL_LOBE), UNMEASURED_SPONTANEOUS_HZ)
    if spontaneous is not None:
        rates[columns] = spontaneous
    return full, rates
