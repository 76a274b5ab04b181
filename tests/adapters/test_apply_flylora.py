"""apply_flylora: which layers it wraps, what it freezes, its errors; adapter-only state dicts."""

import copy
import io
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from flysim.adapters.torch_lora import (  # noqa: E402
    FlyLoRALinear,
    apply_flylora,
    flylora_layer_seed,
    flylora_state_dict,
    load_flylora_state_dict,
)

# One torch thread: see the fixture in conftest.py.
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("single_torch_thread")]

WIDTH = 64
PROJ = ["layer.0.proj", "layer.1.proj"]


class Block(nn.Module):
    """A residual block whose names test the matching: ``proj`` and ``out_proj_extra``."""

    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(WIDTH, dtype=torch.float64)
        self.proj = nn.Linear(WIDTH, WIDTH, dtype=torch.float64)
        self.out_proj_extra = nn.Linear(WIDTH, WIDTH, dtype=torch.float64)

    def forward(self, x):
        return x + self.out_proj_extra(torch.relu(self.proj(self.norm(x))))


class Net(nn.Module):
    """``layer.{0,1}.{norm,proj,out_proj_extra}`` and ``head``."""

    def __init__(self):
        super().__init__()
        self.layer = nn.ModuleList([Block(), Block()])
        self.head = nn.Linear(WIDTH, 3, dtype=torch.float64)

    def forward(self, x):
        for block in self.layer:
            x = block(x)
        return self.head(x)


@pytest.fixture
def net():
    """A fresh Net with fixed weights (its own RNG state: the global one is left as it was)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return Net()


@pytest.fixture
def x():
    return torch.randn(32, WIDTH, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def _flylora_names(model):
    return sorted(name for name, m in model.named_modules() if isinstance(m, FlyLoRALinear))


def _trainable(model):
    return [name for name, p in model.named_parameters() if p.requires_grad]


def _train(model, x, steps=5):
    """A few Adam steps on the trainable parameters (batches of x, a fixed random target)."""
    target = torch.randn(x.shape[0], 3, generator=torch.Generator().manual_seed(2), dtype=x.dtype)
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(steps):
        loss = torch.mean((model(x) - target) ** 2)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval()


def test_wraps_targets_in_place_and_starts_equal(net, x):
    original = copy.deepcopy(net).eval()
    base = net.layer[0].proj
    assert apply_flylora(net, ["proj"], r=8, k=2) is net
    assert _flylora_names(net) == PROJ
    assert net.layer[0].proj.base is base  # the very layer, wrapped (its weights not copied)
    assert (net.layer[0].proj.rank, net.layer[0].proj.k) == (8, 2)
    assert type(net.layer[0].out_proj_extra) is nn.Linear and type(net.head) is nn.Linear
    assert torch.equal(net.eval()(x), original(x))  # B = 0


@pytest.mark.parametrize(
    "targets, wrapped",
    [
        (["proj"], PROJ),  # a suffix after a dot, never a substring (not out_proj_extra)
        (["0.proj"], ["layer.0.proj"]),
        (["head"], ["head"]),  # the whole name
        (("proj", "head"), ["head", *PROJ]),
        (["out_proj_extra"], ["layer.0.out_proj_extra", "layer.1.out_proj_extra"]),
        (r"layer\.1\.(proj|out_proj_extra)", ["layer.1.out_proj_extra", "layer.1.proj"]),
    ],
)
def test_targets_match_like_peft(net, targets, wrapped):
    apply_flylora(net, targets, r=4, k=2)
    assert _flylora_names(net) == wrapped


def test_a_listed_target_is_a_whole_part_of_the_name():
    layers = {name: nn.Linear(4, 4) for name in ("proj", "out_proj", "out_proj_extra", "xproj")}
    model = nn.ModuleDict({**layers, "sub": nn.ModuleDict({"proj": nn.Linear(4, 4)})})
    apply_flylora(model, ["proj"], r=4, k=2)
    assert _flylora_names(model) == ["proj", "sub.proj"]


def test_freezes_all_but_b(net):
    apply_flylora(net, ["proj"], r=4, k=2)
    assert _trainable(net) == [f"{name}.B" for name in PROJ]


def test_training_changes_only_b(net, x):
    apply_flylora(net, ["proj"], r=4, k=2)
    before = {key: value.clone() for key, value in net.state_dict().items()}
    output = net.eval()(x)
    _train(net, x)
    assert not torch.allclose(net(x), output)
    changed = sorted(
        key for key, value in net.state_dict().items() if not torch.equal(value, before[key])
    )
    expected = [f"{name}.{tensor}" for name in PROJ for tensor in ("B", "selection_bias")]
    assert changed == expected  # base weights, A, norms and head untouched


def test_a_is_reproducible_and_differs_between_layers(net):
    first = flylora_state_dict(apply_flylora(copy.deepcopy(net), ["proj"], r=4, k=2, seed=3))
    again = flylora_state_dict(apply_flylora(copy.deepcopy(net), ["proj"], r=4, k=2, seed=3))
    other = flylora_state_dict(apply_flylora(copy.deepcopy(net), ["proj"], r=4, k=2, seed=4))
    assert torch.equal(first["layer.0.proj.A"], again["layer.0.proj.A"])
    assert torch.equal(first["layer.1.proj.A"], again["layer.1.proj.A"])
    assert not torch.equal(first["layer.0.proj.A"], first["layer.1.proj.A"])
    assert not torch.equal(first["layer.0.proj.A"], other["layer.0.proj.A"])


def test_layer_seed_does_not_depend_on_the_process():
    # Python salts str hashes per process: a seed built from hash(name) would differ here.
    code = "from flysim.adapters.torch_lora import flylora_layer_seed as f; print(f(3, 'a.proj'))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert int(result.stdout) == flylora_layer_seed(3, "a.proj")
    assert flylora_layer_seed(3, "a.proj") != flylora_layer_seed(3, "b.proj")


def test_saved_adapters_load_into_a_fresh_copy(net, x):
    original = copy.deepcopy(net)
    _train(apply_flylora(net, ["proj"], r=4, k=2), x)
    buffer = io.BytesIO()
    torch.save(flylora_state_dict(net), buffer)
    buffer.seek(0)
    saved = torch.load(buffer)
    # Another seed: the loaded A must replace the fresh one for the outputs to agree.
    fresh = apply_flylora(original, ["proj"], r=4, k=2, seed=9).eval()
    assert not torch.equal(fresh(x), net(x))
    assert load_flylora_state_dict(fresh, saved) is fresh
    assert torch.equal(fresh(x), net(x))
    for key, tensor in flylora_state_dict(fresh).items():
        assert torch.equal(tensor, saved[key]), key


def test_state_dict_holds_only_the_adapters(net):
    apply_flylora(net, ["proj"], r=4, k=2)
    state = flylora_state_dict(net)
    assert sorted(state) == sorted(
        f"{name}.{tensor}" for name in PROJ for tensor in ("A", "B", "selection_bias")
    )
    adapter_size = sum(tensor.numel() for tensor in state.values())
    model_size = sum(tensor.numel() for tensor in net.state_dict().values())
    assert adapter_size < 0.1 * model_size


@pytest.mark.parametrize(
    "targets, options, message",
    [
        (["missing"], {}, "target 'missing' matches no module"),
        (["proj", "missing"], {}, "target 'missing' matches no module"),
        ("proj", {}, r"target 'proj' matches no module .*\['proj'\] matches by name suffix"),
        ("layer(", {}, "is not a regular expression"),
        ([], {}, "at least one module"),
        (3, {}, "must be a regular expression .* or a list"),
        (["norm"], {}, "module 'layer.0.norm' .* is a LayerNorm, not an nn.Linear"),
        (["layer.0"], {}, "module 'layer.0' .* is a Block, not an nn.Linear"),
        (["proj"], {"r": 0}, "r must be >= 1, got 0"),
        (["proj"], {"r": 4, "k": 5}, r"k must be <= r \(4\), got 5"),
        (["proj"], {"k": 0}, "k must be >= 1, got 0"),
        (["proj"], {"r": 2.5}, "r must be an integer"),
        (["proj"], {"seed": -1}, "seed must be >= 0"),
        (["proj"], {"balance_rate": -1.0}, "balance_rate"),
        (["proj"], {"select_by": "abs"}, "select_by"),
    ],
)
def test_bad_arguments_change_nothing(net, targets, options, message):
    options = {"r": 4, "k": 2, **options}
    with pytest.raises(ValueError, match=message) as error:
        apply_flylora(net, targets, **options)
    assert "\n" not in str(error.value)
    assert _flylora_names(net) == []
    assert all(p.requires_grad for p in net.parameters())


@pytest.mark.parametrize(
    "targets", [["proj"], ["base"], r"layer\.0\.proj", r"layer\.0\.proj\.base"]
)
def test_refuses_to_wrap_a_flylora_layer_again(net, targets):
    apply_flylora(net, ["proj"], r=4, k=2)
    with pytest.raises(ValueError, match="already holds a FlyLoRA layer"):
        apply_flylora(net, targets, r=4, k=2)
    assert _flylora_names(net) == PROJ


@pytest.mark.parametrize(
    "saved_with, loaded_with, message",
    [
        (
            {"target_modules": ["proj"], "r": 4},
            {"target_modules": ["proj"], "r": 8},
            r"shape mismatches \(saved vs model\): layer.0.proj.A \(4, 64\) vs \(8, 64\)",
        ),
        (
            {"target_modules": ["proj"]},
            {"target_modules": ["proj", "head"]},
            "missing keys: head.A, head.B, head.selection_bias$",
        ),
        (
            {"target_modules": ["proj", "head"]},
            {"target_modules": ["proj"]},
            "unexpected keys: head.A, head.B, head.selection_bias$",
        ),
        (
            {"target_modules": ["proj", "out_proj_extra"]},
            {"target_modules": ["head"]},
            r"missing keys: head.A, .*; unexpected keys: .* \(and 9 more\)$",
        ),
    ],
)
def test_load_names_what_does_not_fit(net, x, saved_with, loaded_with, message):
    saved_with, loaded_with = {"r": 4, "k": 2, **saved_with}, {"r": 4, "k": 2, **loaded_with}
    trained = _train(apply_flylora(copy.deepcopy(net), **saved_with), x)
    target = apply_flylora(net, **loaded_with)
    with pytest.raises(ValueError, match=message) as error:
        load_flylora_state_dict(target, flylora_state_dict(trained))
    assert "\n" not in str(error.value)
    assert all(
        torch.count_nonzero(layer.B) == 0
        for layer in target.modules()
        if isinstance(layer, FlyLoRALinear)
    )


def test_state_dicts_need_flylora_layers(net):
    with pytest.raises(ValueError, match="holds no FlyLoRA layer: call apply_flylora first"):
        flylora_state_dict(net)
    with pytest.raises(ValueError, match="holds no FlyLoRA layer"):
        load_flylora_state_dict(net, {})
