"""FlyLoRA adapter for ``torch.nn.Linear`` (optional: needs PyTorch, imported only explicitly).

``from flysim.adapters.torch_lora import FlyLoRALinear``; ``import flysim.adapters`` never imports
torch. Install the CPU build pinned in the project: ``pip install torch==2.13.0``.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import check_int, check_nonnegative
from .router import flylora_projection

__all__ = ["FlyLoRALinear"]


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
        self.base = base
        for parameter in self.base.parameters():
            parameter.requires_grad_(False)
        self.rank, self.k, self.select_by = rank, k, select_by
        self.alpha = float(2 * rank if alpha is None else alpha)
        self.scale = self.alpha / rank
        self.balance_rate = check_nonnegative(balance_rate, "balance_rate")
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
