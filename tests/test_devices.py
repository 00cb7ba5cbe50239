"""``--device auto|cpu|cuda|mps``: the flag parses, auto picks what is here, a device that is not here is a
one-line error (exit 2), the registry's PyTorch twins are on the device asked and /healthz says which."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from pydantic import ValidationError

from models.devices import available_devices, check_device, resolve_device
from server.cli import build_parser, main
from server.settings import Settings


@pytest.fixture
def cpu_only(monkeypatch):
    """This machine as one with neither CUDA nor MPS (what the test machine is; a GPU one too)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize("command", ["serve", "compare"])
def test_the_flag_parses_and_refuses_other_names(command, capsys):
    parser = build_parser(command)
    for device in ("auto", "cpu", "cuda", "mps"):
        assert parser.parse_args([command, "--device", device]).device == device
    with pytest.raises(SystemExit) as e:
        parser.parse_args([command, "--device", "tpu"])
    assert e.value.code == 2 and "invalid choice: 'tpu'" in capsys.readouterr().err
    with pytest.raises(ValidationError, match="device"):
        Settings(device="tpu")


def test_auto_takes_cuda_then_mps_then_the_cpu(cpu_only, monkeypatch):
    assert available_devices() == ["cpu"] and resolve_device("auto") == resolve_device(None) == "cpu"
    assert check_device("auto") == "auto" and check_device("cpu") == "cpu"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert available_devices() == ["cuda", "mps", "cpu"] and resolve_device("auto") == "cuda"


def test_auto_picks_what_this_machine_has():
    assert resolve_device("auto") == available_devices()[0]
    assert available_devices()[-1] == "cpu"


def test_a_device_that_is_not_here_is_a_one_line_error(cpu_only, monkeypatch, capsys, tmp_path):
    for argv in (
        ["serve", "--device", "cuda", "--port", "1", "--models", str(tmp_path)],
        ["compare", "--device", "mps", "--in-process"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        device = argv[2]
        assert err == (
            f"playground {argv[0]}: error: device {device!r} is not available on this machine (it has: cpu)\n"
        )
    monkeypatch.setenv("PLAYGROUND_DEVICE", "cuda")  # the setting, from the environment
    assert main(["serve", "--port", "1", "--models", str(tmp_path)]) == 2
    assert "device 'cuda' is not available" in capsys.readouterr().err


def test_the_registry_puts_torch_twins_on_the_device_asked(arch_zoo, make_client, monkeypatch):
    c = make_client(models_dir=arch_zoo, device="cpu")
    assert c.get("/healthz").json()["device"] == "cpu"
    registry = c.app.state.registry
    assert registry.device == "cpu" and {e.device for e in registry.models.values()} == {"cpu"}
    twin = registry.get("tiny-lstm").model("torch")
    assert {p.device.type for p in twin.parameters()} == {"cpu"}
    # what the registry does with the device it resolves: the twin is moved there (here "meta", a
    # device every torch has, stands for cuda or mps); the NumPy twin stays on the CPU
    asked = []
    monkeypatch.setattr("server.registry.resolve_device", lambda name: asked.append(name) or "meta")
    entry = registry.get("numbers-gpt")
    entry.device = "cuda"
    assert {p.device.type for p in entry.model("torch").parameters()} == {"meta"} and asked == ["cuda"]
    assert type(entry.model("numpy")).__module__.endswith("numpy")


def test_healthz_says_auto_resolved_once_torch_is_loaded(arch_zoo, make_client):
    c = make_client(models_dir=arch_zoo)  # device auto (PLAYGROUND_DEVICE unset)
    assert c.app.state.settings.device == "auto"
    assert c.get("/healthz").json()["device"] == resolve_device("auto")  # torch is loaded in the tests


def test_serve_reads_no_other_command_and_no_torch_to_start():
    code = (
        "import sys; from server.cli import build_parser; build_parser('serve'); "
        "from server.main import create_app; from server.settings import Settings; create_app(Settings()); "
        "print(sorted(m for m in ('models.commands.train', 'models.commands.bench', 'torch', "
        "'transformers', 'websockets', 'jinja2', 'segno') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
