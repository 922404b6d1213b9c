"""The fixtures the chart's tests share: each configuration (cases.py)
rendered once a session, and handed to the tests parametrized over it.

    @each(cases.EDGE)
    def test_something(case, docs): ...

`docs` are the manifests of `case`, as dicts; they are shared by every
test of that case, so tests only read them."""

import helm_python as helm
import pytest

import rendering
from cases import DEFAULT


@pytest.fixture(scope="session")
def renders():
    """case -> its manifests, rendering each case once a session. A case
    the chart does not render fails every test that asks for it, with
    Helm's message."""
    cache = {}

    def rendered(case):
        if case.label not in cache:
            try:
                cache[case.label] = rendering.render(case)
            except (helm.HelmError, ValueError) as err:
                cache[case.label] = err
        if isinstance(cache[case.label], Exception):
            pytest.fail(f"[{case.label}] the chart does not render: {cache[case.label]}", pytrace=False)
        return cache[case.label]

    return rendered


@pytest.fixture
def docs(case, renders):
    """The manifests of the test's case."""
    return renders(case)


@pytest.fixture
def default_docs(renders):
    """The manifests of the default values."""
    return renders(DEFAULT)
