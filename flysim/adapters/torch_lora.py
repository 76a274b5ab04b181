"""FlyLoRA adapter for ``torch.nn.Linear`` (optional: needs PyTorch, imported only explicitly).

``from flysim.adapters.torch_lora import FlyLoRALinear``; ``import flysim.adapters`` never imports
torch. Install the CPU build pinned in the project: ``pip install torch==2.13.0``.

:class:`FlyLoRALinear` adapts one layer. :func:`apply_flylora` wraps the named ``nn.Linear``
layers of a whole model in place (PEFT's ``target_modules`` convention) and freezes all but the
B's; :func:`flylora_state_dict` and :func:`load_flylora_state_dict` save and load the adapters
alone (A, B, the selection bias), without the base model's weights::

    apply_flylora(model, target_modules=["q_proj", "v_proj"], r=32, k=8)
    ...  # train: only the B's require grad
    torch.save(flylora_state_dict(model), "adapters.pt")
    load_flylora_state_dict(apply_flylora(fresh_model, ["q_proj", "v_proj"]), torch.load(...))
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import torch
from torch import nn

from ._checks import check_int, check_nonnegative
from .router import flylora_projection

__all__ = [
    "FlyLoRALinear",
    "apply_flylora",
    "flylora_layer_seed",
    "flylora_state_dict",
    "load_flylora_state_dict",
]


class FlyLoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a FlyLoRA update (Zou, Zang, Xu et al., NeurIPS 2025).

    Algorithm: ``y = base(x) + (alpha / rank) * B (mask_k(A x) * A x)`` where A (rank x in) is the
    frozen sparse random down-projection of :func:`~flysim.adapters.router.flylora_projection`
    (a buffer, built with numpy from ``seed``: it equals ``FlyLoRARouter(seed=seed).projection``),
    B (out x rank) is the only trainable tensor and starts at zero (so the adapted layer starts
    equal to ``base``), and ``mask_k`` keeps the k ranks with the largest ``|A x| + bias``
    (``select_by="magnitude"``) or ``A x + bias`` (``"signed"``) per input. In training mode each
    forward pass counts how often each rank was selected in the batch and applies the aux-loss-free
    step ``bias += balance_rate * sign(mean(counts) - counts)`` to the selection-bias buffer
    (after the selection, as in the authors' code). The bias never enters the output values.

    Parameters
    ----------
    base : torch.nn.Linear
        Layer to adapt; its weight and bias are frozen (``requires_grad=False``) in place.
    rank : int
        Number of ranks r (default 32).
    k : int
        Active ranks per input (default 8).
    alpha : float, optional
        LoRA scaling numerator; the update is scaled by ``alpha / rank``. Default ``2 * rank``
        (scale 2), the authors' default.
    select_by : {"magnitude", "signed"}
    balance_rate : float
        Bias step u (default 1e-3); 0 disables balancing.
    seed : int
        Seed of A (numpy generator; no global torch seed is touched).
    """

    def __init__(
        self,
        base: nn.Linear,
        rank: int = 32,
        k: int = 8,
        alpha: float | None = None,
        select_by: str = "magnitude",
        balance_rate: float = 1e-3,
        seed: int = 0,
    ):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise ValueError(f"base must be a torch.nn.Linear, got {type(base).__name__}")
        rank = check_int(rank, "rank", minimum=1)
        k = check_int(k, "k", minimum=1)
        if k > rank:
            raise ValueError(f"k must be <= rank ({rank}), got {k}")
        if select_by not in ("magnitude", "signed"):
            raise ValueError(f"select_by must be 'magnitude' or 'signed', got {select_by!r}")
        # Every argument is read before base is touched: a bad one leaves base trainable.
        self.balance_rate = check_nonnegative(balance_rate, "balance_rate")
        self.alpha = float(2 * rank if alpha is None else alpha)
        self.scale = self.alpha / rank
        self.rank, self.k, self.select_by = rank, k, select_by
        self.base = base
        for parameter in self.base.parameters():
            parameter.requires_grad_(False)
        weight = base.weight
        a = flylora_projection(base.in_features, rank, k, seed=seed)
        self.register_buffer("A", torch.as_tensor(a, dtype=weight.dtype, device=weight.device))
        self.register_buffer(
            "selection_bias", torch.zeros(rank, dtype=weight.dtype, device=weight.device)
        )
        self.B = nn.Parameter(
            torch.zeros(base.out_features, rank, dtype=weight.dtype, device=weight.device)
        )

    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Down-projection ``A x`` (..., rank) and the 0/1 mask of the selected ranks."""
        projected = x @ self.A.T
        score = projected.abs() if self.select_by == "magnitude" else projected
        indices = torch.topk(score.detach() + self.selection_bias, self.k, dim=-1).indices
        mask = torch.zeros_like(projected).scatter_(-1, indices, 1.0)
        if self.training and self.balance_rate > 0:
            with torch.no_grad():
                counts = torch.bincount(indices.reshape(-1), minlength=self.rank).to(
                    projected.dtype
                )
                self.selection_bias += self.balance_rate * torch.sign(counts.mean() - counts)
        return projected, mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.base.in_features:
            raise ValueError(
                f"x must have {self.base.in_features} features in its last dim, got {x.shape[-1]}"
            )
        projected, mask = self.route(x)
        return self.base(x) + self.scale * (projected * mask) @ self.B.T

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        """Fold the update into a plain ``nn.Linear`` -- only possible when ``k == rank``.

        With k < rank the mask depends on the input, so the update ``B (mask(x) * A x)`` is
        piecewise linear in x and no single matrix ``W + scale * B A`` reproduces it; merging
        would silently change the function, so it is refused. With ``k == rank`` every rank is
        always selected and the merge ``W + scale * B A`` is exact.
        """
        if self.k != self.rank:
            raise RuntimeError(
                f"cannot merge FlyLoRA with k={self.k} < rank={self.rank}: top-k routing is "
                "input-dependent, so base.weight + scale * B @ A is not the same function; keep "
                "the adapter module (merging is exact only when k == rank)"
            )
        merged = nn.Linear(
            self.base.in_features,
            self.base.out_features,
            bias=self.base.bias is not None,
            dtype=self.base.weight.dtype,
            device=self.base.weight.device,
        )
        merged.weight.copy_(self.base.weight + self.scale * self.B @ self.A)
        if self.base.bias is not None:
            merged.bias.copy_(self.base.bias)
        return merged

    def extra_repr(self) -> str:
        return (
            f"rank={self.rank}, k={self.k}, scale={self.scale}, select_by={self.select_by!r}, "
            f"balance_rate={self.balance_rate}"
        )


# -- adapting a whole model -------------------------------------------------------------------

#: The tensors of one FlyLoRALinear that make up its adapter state (base weights excluded).
ADAPTER_TENSORS = ("A", "B", "selection_bias")


def apply_flylora(
    model: nn.Module,
    target_modules,
    r: int = 32,
    k: int = 8,
    *,
    alpha: float | None = None,
    select_by: str = "magnitude",
    balance_rate: float = 1e-3,
    seed: int = 0,
) -> nn.Module:
    """Wrap the targeted ``nn.Linear`` layers of ``model`` in :class:`FlyLoRALinear`, in place.

    Targets follow PEFT's ``target_modules`` convention: a list (or tuple, set) of names matches
    every submodule whose qualified name equals an entry or ends in ``"." + entry`` (``"proj"``
    matches ``"proj"`` and ``"layer.0.proj"``, not ``"out_proj"`` nor ``"proj_extra"``); a
    single string is a regular expression that must match the whole qualified name
    (``re.fullmatch``, e.g. ``r"layer\\.\\d+\\.proj"``). The model itself is never a target.

    Each wrapped layer gets its own A, seeded by :func:`flylora_layer_seed` from ``seed`` and
    its name: layers do not share A, and applying again with the same seed rebuilds the same
    A's. As PEFT does, the whole model is then frozen except the B matrices:
    ``[p for p in model.parameters() if p.requires_grad]`` are exactly the B's (set
    ``requires_grad`` back on any other module you want to train, e.g. a new classifier head).
    B starts at zero, so the model computes what it computed before.

    Parameters
    ----------
    model : torch.nn.Module
    target_modules : str or sequence of str
        Regular expression (str) or module names / name suffixes (sequence), as above.
    r, k : int
        Rank and active ranks per input of every adapter, ``1 <= k <= r``.
    alpha, select_by, balance_rate
        As in :class:`FlyLoRALinear`.
    seed : int
        Base seed of the A's, >= 0.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Raises
    ------
    ValueError
        One line naming what is wrong: r or k invalid, a target that matches no module, a
        matched module that is not an ``nn.Linear`` (its name and type), or a matched module
        that is, or is inside, a FlyLoRA layer already. Nothing is changed then.
    """
    r = check_int(r, "r", minimum=1)
    k = check_int(k, "k", minimum=1)
    if k > r:
        raise ValueError(f"k must be <= r ({r}), got {k}")
    seed = check_int(seed, "seed", minimum=0)
    adapters = {
        name: FlyLoRALinear(
            linear,
            rank=r,
            k=k,
            alpha=alpha,
            select_by=select_by,
            balance_rate=balance_rate,
            seed=flylora_layer_seed(seed, name),
        )
        for name, linear in _targeted_linears(model, target_modules).items()
    }
    for name, adapter in adapters.items():
        parent, _, attribute = name.rpartition(".")
        setattr(model.get_submodule(parent), attribute, adapter)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for adapter in adapters.values():
        adapter.B.requires_grad_(True)
    return model


def flylora_layer_seed(seed: int, name: str) -> int:
    """The seed of the A of the layer called ``name`` under :func:`apply_flylora`'s ``seed``.

    The first 8 bytes of SHA-256 of ``"{seed}:{name}"``: the same on every run and machine
    (Python's ``hash`` of a str is salted per process).
    """
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _targeted_linears(model: nn.Module, target_modules) -> dict[str, nn.Linear]:
    """The ``nn.Linear`` submodules the targets name, by qualified name (see apply_flylora)."""
    modules = dict(model.named_modules())
    modules.pop("")  # the model itself cannot be replaced in place
    if isinstance(target_modules, str):
        targets = {target_modules: _regex_matcher(target_modules)}
    elif isinstance(target_modules, Iterable):
        targets = {target: _suffix_matcher(target) for target in target_modules}
    else:
        raise ValueError(
            "target_modules must be a regular expression (str) or a list of module names, got "
            f"{type(target_modules).__name__}"
        )
    if not targets:
        raise ValueError("target_modules must name at least one module, got none")
    matched = {}
    for target, matches in targets.items():
        names = [name for name in modules if matches(name)]
        if not names:
            hint = (
                f" (a str is a regular expression for the whole name; [{target!r}] matches by "
                "name suffix)"
                if isinstance(target_modules, str)
                else ""
            )
            raise ValueError(f"target {target!r} matches no module of the model{hint}")
        matched.update((name, target) for name in names)
    for name, target in matched.items():
        _check_target(name, modules, target)
    return {name: modules[name] for name in matched}


def _regex_matcher(pattern: str):
    """A single string target: a regular expression matching whole names (PEFT's rule)."""
    try:
        return re.compile(pattern).fullmatch
    except re.error as error:
        raise ValueError(
            f"target_modules {pattern!r} is not a regular expression: {error}"
        ) from None


def _suffix_matcher(target):
    """PEFT's rule for one listed target: the name equals it or ends in "." + target."""
    if not isinstance(target, str) or not target:
        raise ValueError(f"target_modules entries must be non-empty strings, got {target!r}")
    return lambda name: name == target or name.endswith("." + target)


def _check_target(name: str, modules: dict[str, nn.Module], target: str) -> None:
    """Raise ValueError unless ``modules[name]`` is a plain nn.Linear outside any FlyLoRA layer."""
    module = modules[name]
    parts = name.split(".")
    holders = [".".join(parts[:end]) for end in range(1, len(parts) + 1)]
    if any(isinstance(modules.get(holder), FlyLoRALinear) for holder in holders):
        raise ValueError(
            f"module {name!r} (target {target!r}) already holds a FlyLoRA layer: apply_flylora "
            "was applied to it before"
        )
    if not isinstance(module, nn.Linear):
        raise ValueError(
            f"module {name!r} (target {target!r}) is a {type(module).__name__}, not an nn.Linear"
        )


def _flylora_layers(model: nn.Module) -> dict[str, FlyLoRALinear]:
    """The model's FlyLoRA layers by qualified name; ValueError if it has none."""
    layers = {
        name: module for name, module in model.named_modules() if isinstance(module, FlyLoRALinear)
    }
    if not layers:
        raise ValueError(
            f"the model ({type(model).__name__}) holds no FlyLoRA layer: call apply_flylora first"
        )
    return layers


def flylora_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The adapters' state only: ``A``, ``B`` and ``selection_bias`` of every FlyLoRA layer.

    Keys are qualified as in ``model.state_dict()`` (``"layer.0.proj.B"``); no base weight is
    included. A is kept although :func:`apply_flylora` rebuilds it from the seed: loading is
    then exact whatever the seed and numpy's generator (A is r x in_features, B out_features x
    r, both small next to the base weights). The tensors are detached and share storage with
    the model, as ``state_dict`` does: ``torch.save`` them, or clone to keep a snapshot.
    """
    return {
        f"{name}.{tensor}": getattr(layer, tensor).detach()
        for name, layer in _flylora_layers(model).items()
        for tensor in ADAPTER_TENSORS
    }


def load_flylora_state_dict(model: nn.Module, state_dict) -> nn.Module:
    """Load :func:`flylora_state_dict`'s output into ``model``, to which :func:`apply_flylora` was
    applied with the same targets and r (and, for the same function, k, alpha and select_by).

    Raises ValueError, before copying anything, naming the missing keys, the unexpected keys
    and the shape mismatches. Returns ``model``.
    """
    own = flylora_state_dict(model)
    missing = sorted(own.keys() - state_dict.keys())
    unexpected = sorted(state_dict.keys() - own.keys())
    mismatched = [
        f"{key} {tuple(state_dict[key].shape)} vs {tuple(tensor.shape)}"
        for key, tensor in own.items()
        if key in state_dict and state_dict[key].shape != tensor.shape
    ]
    problems = [
        f"{what}: {_listed(keys)}"
        for what, keys in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape mismatches (saved vs model)", mismatched),
        )
        if keys
    ]
    if problems:
        raise ValueError("cannot load the FlyLoRA state dict: " + "; ".join(problems))
    with torch.no_grad():
        for key, tensor in own.items():
            tensor.copy_(state_dict[key])
    return model


def _listed(items: list[str], shown: int = 3) -> str:
    """``a, b, c (and 4 more)``: the first few items, so that an error stays one line."""
    rest = f" (and {len(items) - shown} more)" if len(items) > shown else ""
    return ", ".join(items[:shown]) + rest
