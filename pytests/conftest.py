"""Notes printed after the results (the `note` fixture)."""

import pytest

NOTES = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def note(request):
    """note(title, text): printed after the results."""
    notes = request.config.stash.setdefault(NOTES, [])
    return lambda title, text: notes.append((title, text))


def pytest_terminal_summary(terminalreporter, config):
    for title, text in config.stash.get(NOTES, []):
        terminalreporter.write_sep("-", title)
        terminalreporter.write_line(text)
