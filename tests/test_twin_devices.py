"""The PyTorch twins make every new tensor on their parameters' device, so a twin moved with
``.to("cuda")`` runs there. Checked on the CPU: a torch function mode records every tensor made
from scratch (``torch.ones``, ``arange``, ``as_tensor`` of a list or an array, …) without a device
named; a twin's forward, its cache operations and the streaming generation must record none.
"""

import traceback

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

from models import gpt_torch
from models.config import EncDecConfig, EncoderConfig, GPTConfig, LSTMConfig
from models.encdec_torch import EncoderDecoder
from models.encoder_torch import MaskedLM
from models.generate import DoneEvent, generate
from models.lstm_torch import LSTM
from models.sampling import SamplingParams

FACTORIES = {
    torch.ones, torch.zeros, torch.empty, torch.full, torch.arange, torch.tensor, torch.as_tensor,
    torch.eye, torch.rand, torch.randn, torch.linspace, torch.from_numpy,
}  # fmt: skip


class HostTensors(TorchFunctionMode):
    """Records where a tensor is made from scratch without a device: it would land on the CPU."""

    def __init__(self):
        super().__init__()
        self.made: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        from_tensor = bool(args) and isinstance(args[0], torch.Tensor)  # as_tensor(t) keeps t's device
        if func in FACTORIES and kwargs.get("device") is None and not from_tensor:
            caller = traceback.extract_stack(limit=2)[0]
            self.made.append(f"{func.__name__} at {caller.filename}:{caller.lineno}")
        return func(*args, **kwargs)


def test_the_recorder_sees_a_tensor_made_without_a_device():
    with HostTensors() as host:
        torch.ones(3)
        torch.as_tensor([1, 2])
        torch.zeros(2, device="cpu")
        torch.as_tensor(torch.ones(2, device="cpu"))
    assert [m.split()[0] for m in host.made] == ["ones", "as_tensor"]


GPT_CONFIG = GPTConfig(vocab_size=29, block_size=16, n_layer=2, n_head=2, n_embd=16)


@pytest.mark.parametrize("pos", ["learned", "sinusoidal", "none"])
@pytest.mark.parametrize("trace", [False, "attention", True])
def test_gpt_makes_its_tensors_on_the_parameters_device(pos, trace):
    model = gpt_torch.GPT(GPTConfig(**{**GPT_CONFIG.to_dict(), "pos": pos}))
    ids = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    mask = np.array([[0, 1, 1, 1], [1, 1, 1, 1]])
    with torch.inference_mode(), HostTensors() as host:
        _, past, _ = model.forward_cached(ids, None, mask, trace)
        step_mask = np.concatenate([mask, np.ones((2, 1), dtype=int)], axis=1)
        model.forward_cached(np.array([[9], [10]]), past, step_mask, trace)
        rows = model.split_past(past, [1, 0])
        merged, padding_mask, _ = model.merge_past(rows)
        model.forward_cached(np.array([[3], [4]]), merged, padding_mask, trace)
        model.reorder_past(past, np.array([1, 1, 0]))
    assert host.made == []


def test_streaming_generation_past_the_context_makes_no_host_tensor():
    model = gpt_torch.GPT(GPT_CONFIG)
    with HostTensors() as host:
        events = list(generate(model, [1, 2, 3], 24, SamplingParams(temperature=0.0), seed=0))
    assert isinstance(events[-1], DoneEvent) and len(events[-1].tokens) == 24  # the window slid
    assert host.made == []


def test_encoder_encdec_and_lstm_make_their_tensors_on_the_parameters_device():
    mlm = MaskedLM(EncoderConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=8))
    encdec = EncoderDecoder(
        EncDecConfig(
            src_vocab_size=11, tgt_vocab_size=13, src_block_size=6, tgt_block_size=8, n_enc_layer=1,
            n_dec_layer=1, n_head=2, n_embd=8,
        )
    )  # fmt: skip
    lstm = LSTM(LSTMConfig(vocab_size=17, block_size=16, n_layer=2, n_embd=4, n_hidden=6))
    ids = np.array([[1, 2, 3], [4, 5, 6]])
    mask = np.array([[0, 1, 1], [1, 1, 1]])
    with torch.inference_mode(), HostTensors() as host:
        mlm(ids)
        mlm(ids, mask, trace=True)
        memory = encdec.encode(ids)
        _, past, _ = encdec.decode_cached(ids, memory)
        encdec.decode_cached(np.array([[7], [8]]), None, None, past)
        encdec(ids, ids, mask, mask, trace=True)
        _, state, _ = lstm.forward_cached(ids)
        lstm.forward_cached(ids, state, mask, trace=True)
        lstm.reorder_past(state, np.array([0, 0]))
    assert host.made == []
