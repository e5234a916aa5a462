"""Fixtures of the web tests: one seeded database per module and backend (`web_env`), whose app is the `app` that
the shared `client` fixture (tests/conftest.py) drives."""
from __future__ import annotations

import pytest
from webseed import build_env


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def web_env(request, tmp_path_factory):
    """One seeded database per module and backend; tests using it must not write."""
    env = build_env(request, tmp_path_factory.mktemp("web"))
    yield env
    env.app.extensions["tracker"].engine.dispose()
    env.sessions.kw["bind"].dispose()


@pytest.fixture
def app(web_env):
    """The shared seeded app of the module."""
    return web_env.app
