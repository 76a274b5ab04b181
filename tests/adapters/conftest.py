"""Fixtures of the adapter tests."""

import pytest


@pytest.fixture
def single_torch_thread():
    """Tiny tensors: one thread avoids OpenMP spin-waiting on a busy 2-core machine (restored)."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
