import pytest
import torch

# One thread: the test tensors are small, and OpenMP threads stall when another process
# (a training run, a second test worker) holds the other core.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
