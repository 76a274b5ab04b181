"""Fly-inspired machine-learning adapters built on the mushroom body's sparse code.

The fly's recipe -- a sparse random expansion (PN -> KC) followed by winner-take-all (APL) -- in
the algorithms that borrowed it: FlyHash (similarity search), the fly model for continual
learning, Fly-CL (streaming ridge on frozen features) and FlyLoRA's implicit router. Everything
here is numpy/scipy/xarray; neither brian2, torch nor scikit-learn is imported. Two modules must
be imported explicitly: ``flysim.adapters.torch_lora`` (PyTorch: ``FlyLoRALinear``,
``apply_flylora`` to wrap a model's named ``nn.Linear`` layers, ``flylora_state_dict`` and
``load_flylora_state_dict`` for the adapters alone) and ``flysim.adapters.estimators``
(scikit-learn, the ``sklearn`` extra: ``FlyHashTransformer``, ``FlyModelClassifier``,
``FlyCLClassifier``, estimators around FlyHash, FlyModel and FlyCL).

Modules: ``projection`` (sparse wiring, k-WTA), ``datasets`` (synthetic odor-like data),
``flyhash``, ``continual``, ``ridge`` (streaming ridge, Fly-CL), ``router`` (FlyLoRA routing),
``link`` (an adapter matched to a simulated circuit: ``adapter_from_circuit``).
"""

from .continual import FlyModel, SGDLinearReadout, class_incremental, class_incremental_tasks
from .datasets import clustered_data, odor_classes
from .digits import load_digit_images, similar_image_pairs
from .flyhash import (
    DenseLSH,
    FlyHash,
    equalise_means,
    flyhash_benchmark,
    mean_average_precision,
    true_neighbours,
)
from .link import FlyAdapter, adapter_from_circuit, claws_to_projection
from .mechanisms import graded_inhibition, normalise_inputs, stream_select
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
    "graded_inhibition",
    "kwta",
    "load_digit_images",
    "mean_average_precision",
    "normalise_inputs",
    "odor_classes",
    "selection_counts",
    "similar_image_pairs",
    "sparse_projection",
    "stream_select",
    "topk_mask",
    "true_neighbours",
]
