"""The circuit's contract (issue #18): the builder declares its run-time constants and inputs
from one table (flysim/model/constants.py), the manifest records them, and the runner refuses a
run that leaves one without a value, sets a name the circuit does not have, or asks for an
output it does not write."""

from __future__ import annotations

import pytest

from flysim import Noise
from flysim.inputs.stimulus import Slot
from flysim.model.constants import run_time_constants
from flysim.model.structure import structure_of
from flysim.odors import synthetic_panel
from flysim.run.pipeline import batch_values, prepare_run
from flysim.run.simulate import Trials


@pytest.fixture(scope="module")
def prepared(tiny):
    panel = synthetic_panel(2, n_glomeruli=20, seed=0)
    run = prepare_run(tiny, panel, Noise(), [0], lambda p: structure_of(p, batch=2))
    values = batch_values(run, [Slot(0, 0, 0), Slot(0, 1, 0)], Trials(run, panel, 1))
    return run, values


def test_the_manifest_requires_exactly_the_tables_constants_and_the_inputs(prepared):
    run, values = prepared
    table = run_time_constants(run.params, run.structure)
    required = run.circuit.required
    assert set(table) <= required  # every constant of the table was declared
    inputs = required - set(table)
    assert {"orn_rate", "orn_mean", "dan_drive", "slots.key_lo", "slots.key_hi"} <= inputs
    claws = range(run.params.network.kc_in_degree)
    assert {name for name in inputs if name.startswith("kc.claw")} == {
        *(f"kc.claw{c}" for c in claws),
        *(f"kc.claw_weight{c}" for c in claws),
    }
    assert set(values) == required  # the pipeline gives each, and nothing else


def test_a_run_missing_a_constant_is_refused_before_it_starts(prepared):
    run, values = prepared
    partial = {k: v for k, v in values.items() if k != "apl.w_apl_kc"}
    with pytest.raises(ValueError, match=r"no value for apl\.w_apl_kc$"):
        run.circuit.run(partial, ["kc.count_early"])


def test_a_run_setting_an_unknown_name_is_refused(prepared):
    run, values = prepared
    with pytest.raises(ValueError, match=r"kc\.w_typo is not a run-time value"):
        run.circuit.run({**values, "kc.w_typo": 1.0}, ["kc.count_early"])


def test_a_run_asking_for_an_unknown_output_is_refused(prepared):
    run, values = prepared
    with pytest.raises(ValueError, match=r"has no output kc\.count_typo"):
        run.circuit.run(values, ["kc.count_typo"])
