"""Test doubles shared by the scan and run-safety tests (and the scripts they start)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import xarray as xr
from brian2 import Hz

FAKE_GRID = {"li.strength": [0.5, 1.0], "noise.input_sigma": [0 * Hz, 5 * Hz]}

#: Random numbers per point in the SIGKILL test: big enough that writing takes a while, so the
#: kill usually lands while a point is being written.
PAYLOAD = 400_000


class FakeExperiment:
    """Deterministic, cheap stand-in for a simulation; logs each call (pid, point) to ``log``.

    ``delay`` slows every call; ``die_once`` (a directory) makes the first attempt of the point
    (li.strength=0.5, input_sigma=0, fly=1) kill its own process. Neither changes the results,
    so ``describe`` leaves them out. ``payload`` adds that many random numbers (slow writes).
    """

    def __init__(self, *, delay=0.0, log=None, die_once=None, payload=0):
        self.delay, self.log, self.die_once, self.payload = delay, log, die_once, payload

    def describe(self):
        return {"name": "fake", "version": 1, "payload": self.payload}

    def __call__(self, params, noise, seed):
        strength, sigma = float(params.li.strength), float(noise.input_sigma)
        if self.log is not None:
            with open(self.log, "a") as f:
                f.write(f"{os.getpid()} {strength} {sigma} {seed}\n")
        if self.die_once is not None and (strength, sigma, seed) == (0.5, 0.0, 1):
            marker = Path(self.die_once) / "died"
            if not marker.exists():
                marker.write_text("x")
                os._exit(1)
        time.sleep(self.delay)
        rng = np.random.default_rng([seed, round(strength * 1000), round(sigma * 1000)])
        return xr.Dataset(
            {
                "score": ((), strength * 10 + sigma + seed, {"units": "1"}),
                "response": ("odor", rng.normal(size=3), {"units": "Hz"}),
                "payload": ("sample", rng.normal(size=self.payload)),
            },
            coords={"odor": ["ethyl acetate", "2-heptanone", "MCH"]},
        )
