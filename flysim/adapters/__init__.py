"""Fly-inspired machine-learning adapters built on the mushroom body's sparse code.

The fly's recipe -- a sparse random expansion (PN -> KC) followed by winner-take-all (APL) -- in
the algorithms that borrowed it: FlyHash (similarity search), the fly model for continual
learning, Fly-CL (streaming ridge on frozen features) and FlyLoRA's implicit router. Everything
here is numpy/scipy/xarray; neither brian2 nor torch is imported. The PyTorch layer lives in
``flysim.adapters.torch_lora`` and must be imported explicitly.

Modules: ``projection`` (sparse wiring, k-WTA), ``datasets`` (synthetic odor-like data),
``flyhash``, ``continual``, ``ridge`` (streaming ridge, Fly-CL), ``router`` (FlyLoRA routing),
``link`` (an adapter matched to a simulated circuit: ``adapter_from_circuit``).
"""

from .continual import FlyModel, SGDLinearReadout, class_incremental, class_incremental_tasks
from .datasets import clustered_data, odor_classes
from .flyhash import (
    DenseLSH,
    FlyHash,
    equalise_means,
    flyhash_benchmark,
    mean_average_precision,
    true_neighbours,
)
from .link import FlyAdapter, adapter_from_circuit, claws_to_projection
from .projection import kwta, sparse_projection, topk_mask
from .ridge import FlyCL, StreamingRidge
from .router import FlyLoRARouter, Route, flylora_projection, selection_counts

__all__ = [
    "DenseLSH",
    "FlyAdapter",
    "FlyCL",
    "FlyHash",
    "FlyLoRARouter",
    "FlyModel",
    "Route",
    "SGDLinearReadout",
    "StreamingRidge",
    "adapter_from_circuit",
    "class_incremental",
    "class_incremental_tasks",
    "claws_to_projection",
    "clustered_data",
    "flyhash_benchmark",
    "equalise_means",
    "flylora_projection",
    "kwta",
    "mean_average_precision",
    "odor_classes",
    "selection_counts",
    "sparse_projection",
    "topk_mask",
    "true_neighbours",
]
