import pytest
import torch

# One thread: the test tensors are small, and OpenMP threads stall when another process
# (a training run, a second test worker) holds the other core.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def arch_zoo(tmp_path_factory):
    """A temporary zoo of tiny random models of every architecture (see tests/arch_zoo.py)."""
    from arch_zoo import build_zoo

    return build_zoo(tmp_path_factory.mktemp("arch-zoo"))


@pytest.fixture(scope="session")
def arch_client(arch_zoo):
    """The app serving ``arch_zoo``, lifespan on."""
    from fastapi.testclient import TestClient

    from server.main import create_app
    from server.settings import Settings

    with TestClient(create_app(Settings(models_dir=arch_zoo))) as c:
        yield c
