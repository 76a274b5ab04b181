"""Shared fixtures: one compile cache per test session, so each structure compiles once."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory):
    """A fresh flysim cache for the session (or $FLYSIM_TEST_CACHE to reuse builds locally)."""
    path = os.environ.get("FLYSIM_TEST_CACHE") or str(tmp_path_factory.mktemp("flysim_cache"))
    old = os.environ.get("FLYSIM_CACHE_DIR")
    os.environ["FLYSIM_CACHE_DIR"] = path
    yield path
    if old is None:
        os.environ.pop("FLYSIM_CACHE_DIR", None)
    else:
        os.environ["FLYSIM_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def tiny():
    from flysim import load_params

    return load_params("tiny")


@pytest.fixture(scope="session")
def tiny_panel():
    from flysim.odors import synthetic_panel

    return synthetic_panel(6, n_glomeruli=20, seed=3)
