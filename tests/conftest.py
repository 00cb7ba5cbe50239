import contextlib
from collections.abc import Callable, Iterator

import pytest
import torch
from fastapi.testclient import TestClient

from models.loading import zoo_dir

# One thread: the test tensors are small, and OpenMP threads stall when another process
# (a training run, a second test worker) holds the other core.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _deterministic_torch():
    """Every test starts from the same torch seed and leaves the thread count as it found it (the
    training commands set their own)."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@contextlib.contextmanager
def app_client(**settings) -> Iterator[TestClient]:
    """The one place a test builds the app: ``create_app(Settings(**settings))`` behind a TestClient,
    its lifespan (the registry scan) run on entry and its shutdown on exit."""
    from server.main import create_app
    from server.settings import Settings

    with TestClient(create_app(Settings(**settings))) as c:
        yield c


@pytest.fixture(scope="session")
def client() -> Iterator[TestClient]:
    """The app serving the shipped zoo (models/zoo) with default settings, shared by the whole session:
    for requests that change nothing (the stream counters aside)."""
    with app_client(models_dir=zoo_dir()) as c:
        yield c


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """``make_client(**settings)``: a client of an app of its own with those settings, e.g.
    ``models_dir=tmp_path`` or ``max_streams=2``; closed when the test ends. Its app is ``c.app``."""
    with contextlib.ExitStack() as stack:
        yield lambda **settings: stack.enter_context(app_client(**settings))


@pytest.fixture(scope="session")
def arch_zoo(tmp_path_factory):
    """A temporary zoo of tiny random models of every architecture (see tests/arch_zoo.py)."""
    from arch_zoo import build_zoo

    return build_zoo(tmp_path_factory.mktemp("arch-zoo"))


@pytest.fixture(scope="session")
def arch_client(arch_zoo) -> Iterator[TestClient]:
    """The app serving ``arch_zoo``, lifespan on."""
    with app_client(models_dir=arch_zoo) as c:
        yield c
