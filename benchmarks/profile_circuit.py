"""Where the time of one compiled run goes: brian2's per-code-object timing for one batch of
the default circuit. Run: ``python benchmarks/profile_circuit.py [--preset tiny] [--batch 16]
[--plastic] [--uninstrumented]`` (``--plastic``: the conditioning network, KC->MBON plasticity
on, no dopamine; ``--uninstrumented``: no per-code-object clocks, the loop's own time only).

The per-code-object clocks cost a ``clock()`` call before and after every code object at every
step: on the Zen 4 host they add ~25 % to the loop (4.6 against 3.6 ns per KC neuron-step,
BENCHMARKS.md). Speed is compared with the references uninstrumented (``benchmarks/
references.py``); the instrumented breakdown says where the time goes."""

from __future__ import annotations

import argparse
import time


def profile(
    preset: str = "drosophila_adult",
    batch: int = 16,
    plastic: bool = False,
    instrumented: bool = True,
):
    import flysim
    from flysim.inputs.stimulus import Slot
    from flysim.model.structure import structure_of
    from flysim.odors import synthetic_panel
    from flysim.run.pipeline import batch_values, prepare_run
    from flysim.run.simulate import Trials

    params = flysim.load_params(preset)
    panel = synthetic_panel(batch, n_glomeruli=params.network.n_glomeruli, seed=1)
    prepared = prepare_run(
        params,
        panel,
        flysim.Noise(),
        [0],
        lambda p: structure_of(p, batch=batch, profile=instrumented, plastic=plastic),
    )
    structure, circuit = prepared.structure, prepared.circuit
    slots = [Slot(0, k, 0) for k in range(batch)]
    values = batch_values(prepared, slots, Trials(prepared, panel, 1))
    outputs = ["kc.count_early", *(["profiling_info"] if instrumented else [])]
    if not instrumented:
        from run import LOOP_RECORDS, _instrument_runner  # the harness's loop timing

        _instrument_runner()
        LOOP_RECORDS.clear()
    start = time.perf_counter()
    result = circuit.run(values, outputs)
    wall = time.perf_counter() - start
    steps = structure.duration_ms / (structure.dt_us / 1000)
    kc_steps = steps * batch * params.network.n_kc
    label = f"{preset}{' (plastic)' if plastic else ''}, batch {batch}: wall {wall:.2f} s"
    if not instrumented:
        loop = sum(record["loop_s"] for record in LOOP_RECORDS)
        print(
            f"{label}, uninstrumented loop {loop:.2f} s, "
            f"{loop / kc_steps * 1e9:.2f} ns per KC neuron-step (the binary's loop time)"
        )
        return {"loop_s": loop}
    info = result["profiling_info"]
    total = sum(info.values())
    print(
        f"{label}, simulated loop {total:.2f} s, "
        f"{total / kc_steps * 1e9:.2f} ns per KC neuron-step (all code objects)"
    )
    for name, seconds in sorted(info.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {name:45s} {seconds:7.3f} s  {100 * seconds / total:5.1f} %")
    return info


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="drosophila_adult")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--plastic", action="store_true", help="the conditioning network")
    parser.add_argument(
        "--uninstrumented", action="store_true", help="no per-code-object clocks: the loop only"
    )
    args = parser.parse_args()
    profile(args.preset, args.batch, args.plastic, not args.uninstrumented)
