"""FlyLoRALinear (PyTorch): only B trains, A/base stay bit-identical, balancing, merge refusal."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from flysim.adapters import FlyLoRARouter  # noqa: E402
from flysim.adapters.torch_lora import FlyLoRALinear  # noqa: E402

# One torch thread: see the fixture in conftest.py.
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("single_torch_thread")]


def _base(generator, n_in=64, n_out=16):
    base = nn.Linear(n_in, n_out, dtype=torch.float64)
    with torch.no_grad():
        base.weight.copy_(0.1 * torch.randn(n_out, n_in, generator=generator, dtype=torch.float64))
        base.bias.copy_(torch.randn(n_out, generator=generator, dtype=torch.float64))
    return base


def test_trains_only_b_on_a_regression_task():
    generator = torch.Generator().manual_seed(0)
    base = _base(generator)
    layer = FlyLoRALinear(base, rank=32, k=8, seed=0)
    assert [name for name, p in layer.named_parameters() if p.requires_grad] == ["B"]
    X = torch.randn(512, 64, generator=generator, dtype=torch.float64)
    # Target: the base layer plus an update of the adapter's own form (a teacher sharing A).
    teacher = FlyLoRALinear(_base(torch.Generator().manual_seed(0)), rank=32, k=8, seed=0).eval()
    with torch.no_grad():
        teacher.B.copy_(torch.randn(16, 32, generator=generator, dtype=torch.float64))
        target = teacher(X)
    base_weight, base_bias, a = base.weight.clone(), base.bias.clone(), layer.A.clone()

    def full_loss():
        layer.eval()  # no bias update while measuring
        with torch.no_grad():
            loss = torch.mean((layer(X) - target) ** 2).item()
        layer.train()
        return loss

    initial = full_loss()
    optimiser = torch.optim.Adam([layer.B], lr=1e-2)
    layer.train()
    for _ in range(200):
        batch = torch.randint(0, 512, (64,), generator=generator)
        loss = torch.mean((layer(X[batch]) - target[batch]) ** 2)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    final = full_loss()
    print(f"\nFlyLoRA regression MSE: {initial:.3f} -> {final:.3f}")
    assert final < 0.2 * initial
    assert torch.equal(base.weight, base_weight) and torch.equal(base.bias, base_bias)
    assert torch.equal(layer.A, a)
    assert torch.count_nonzero(layer.B) > 0
    assert torch.count_nonzero(layer.selection_bias) > 0  # balancing ran in training mode


def test_starts_equal_to_base_and_matches_numpy_router():
    generator = torch.Generator().manual_seed(1)
    base = _base(generator, 40, 8)
    layer = FlyLoRALinear(base, rank=16, k=4, seed=3).eval()
    x = torch.randn(10, 40, generator=generator, dtype=torch.float64)
    assert torch.equal(layer(x), base(x))  # B = 0
    router = FlyLoRARouter(40, 16, 4, seed=3)
    np.testing.assert_array_equal(layer.A.numpy(), router.projection)
    _, mask = layer.route(x)
    np.testing.assert_array_equal(mask.numpy().astype(bool), router.route(x.numpy()).mask)


def test_eval_mode_does_not_update_bias():
    generator = torch.Generator().manual_seed(2)
    layer = FlyLoRALinear(_base(generator), rank=8, k=2).eval()
    layer(torch.randn(32, 64, generator=generator, dtype=torch.float64))
    assert torch.count_nonzero(layer.selection_bias) == 0


def test_merge_refuses_when_routing_is_input_dependent():
    layer = FlyLoRALinear(_base(torch.Generator().manual_seed(3)), rank=8, k=2)
    with pytest.raises(RuntimeError, match="input-dependent"):
        layer.merge()


def test_merge_is_exact_when_all_ranks_are_active():
    generator = torch.Generator().manual_seed(4)
    layer = FlyLoRALinear(_base(generator), rank=8, k=8).eval()
    with torch.no_grad():
        layer.B.copy_(torch.randn(16, 8, generator=generator, dtype=torch.float64))
    x = torch.randn(20, 64, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(layer.merge()(x), layer(x), rtol=1e-12, atol=1e-12)


def test_bad_arguments():
    base = nn.Linear(8, 4)
    with pytest.raises(ValueError, match="k"):
        FlyLoRALinear(base, rank=4, k=5)
    with pytest.raises(ValueError, match="select_by"):
        FlyLoRALinear(base, rank=4, k=2, select_by="abs")
    with pytest.raises(ValueError, match="base"):
        FlyLoRALinear(torch.nn.Conv1d(1, 1, 1))
    layer = FlyLoRALinear(base, rank=4, k=2)
    with pytest.raises(ValueError, match="x"):
        layer(torch.randn(3, 7))
