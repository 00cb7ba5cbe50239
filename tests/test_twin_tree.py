"""The two twins of every architecture build the same tree from one weight file: the same modules
under the same attribute names, of the same classes, holding the same parameters under the file's
names. A NumPy module is built from ``(config, params)`` the way its PyTorch twin is from ``config``."""

import inspect

import numpy as np
import pytest
from torch import nn

from models import (
    encdec_numpy,
    encdec_torch,
    encoder_numpy,
    encoder_torch,
    gpt_numpy,
    gpt_torch,
    lstm_numpy,
    lstm_torch,
)
from models.config import EncDecConfig, EncoderConfig, GPTConfig, LSTMConfig
from models.numpy_nn import Embedding, Linear, LSTMWeights, Module
from models.protocols import CachedLM, CausalLM
from models.seq2seq import BoundDecoder
from models.twin_numpy import TwinModel
from models.weights import init_encdec_params, init_encoder_params, init_gpt_params, init_lstm_params

GPT = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)
ENC = EncoderConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)
ENCDEC = EncDecConfig(src_vocab_size=9, tgt_vocab_size=11, src_block_size=6, tgt_block_size=8, n_embd=8)
CASES = {
    "gpt": (gpt_numpy.GPT, gpt_torch.GPT, GPT, init_gpt_params),
    "gpt post-LN, sinusoids, no bias": (
        gpt_numpy.GPT,
        gpt_torch.GPT,
        GPT.replace(norm="post", pos="sinusoidal", bias=False),
        init_gpt_params,
    ),
    "gpt untied": (gpt_numpy.GPT, gpt_torch.GPT, GPT.replace(tie_weights=False), init_gpt_params),
    "encoder": (encoder_numpy.MaskedLM, encoder_torch.MaskedLM, ENC, init_encoder_params),
    "encoder sinusoids": (
        encoder_numpy.MaskedLM,
        encoder_torch.MaskedLM,
        ENC.replace(pos="sinusoidal"),
        init_encoder_params,
    ),
    "encdec": (encdec_numpy.EncoderDecoder, encdec_torch.EncoderDecoder, ENCDEC, init_encdec_params),
    "encdec shared": (
        encdec_numpy.EncoderDecoder,
        encdec_torch.EncoderDecoder,
        ENCDEC.replace(share_embeddings=True, src_vocab_size=11),
        init_encdec_params,
    ),
    "lstm": (
        lstm_numpy.LSTM,
        lstm_torch.LSTM,
        LSTMConfig(vocab_size=11, n_layer=2, n_embd=6, n_hidden=5),
        init_lstm_params,
    ),
}
# torch.nn's own modules and what stands in for them in NumPy; the twins' classes share their names
STAND_INS = {
    nn.ModuleDict: dict,
    nn.ModuleList: list,
    nn.Embedding: Embedding,
    nn.Linear: Linear,
    nn.LSTM: LSTMWeights,
}


def twins(case: str, dtype: str = "float64"):
    numpy_cls, torch_cls, config, init = CASES[case]
    params = init(config, seed=0)
    return numpy_cls(config, params, dtype), torch_cls(config, params, dtype), params


@pytest.mark.parametrize("case", CASES)
def test_the_same_modules_under_the_same_names(case):
    mn, mt, _ = twins(case)
    tree_n = dict(mn.named_modules())
    tree_t = {path: m for path, m in mt.named_modules() if not isinstance(m, nn.Dropout)}  # training only
    assert sorted(tree_n) == sorted(tree_t)
    for path, module in tree_t.items():
        expected = STAND_INS.get(type(module))
        if expected is not None:
            assert type(tree_n[path]) is expected, path
        else:
            assert type(tree_n[path]).__name__ == type(module).__name__, path


@pytest.mark.parametrize("case", CASES)
def test_the_same_parameters_named_as_in_the_file(case):
    mn, mt, params = twins(case)
    arrays_n = dict(mn.named_parameters())
    arrays_t = {name: p.detach().numpy() for name, p in mt.named_parameters()}
    assert sorted(arrays_n) == sorted(arrays_t) == sorted(params)  # a tied or shared matrix once
    for name, value in arrays_n.items():
        assert value.dtype == np.float64, name
        np.testing.assert_array_equal(value, arrays_t[name], err_msg=name)
    assert mn.num_parameters() == mt.num_parameters() == sum(v.size for v in params.values())


def twin_classes():
    for numpy_module, torch_module in (
        (gpt_numpy, gpt_torch),
        (encoder_numpy, encoder_torch),
        (encdec_numpy, encdec_torch),
        (lstm_numpy, lstm_torch),
    ):
        for name, cls in vars(numpy_module).items():
            if inspect.isclass(cls) and cls.__module__ == numpy_module.__name__:
                yield pytest.param(cls, getattr(torch_module, name), id=f"{numpy_module.__name__}.{name}")


@pytest.mark.parametrize(("numpy_cls", "torch_cls"), list(twin_classes()))
def test_numpy_constructors_take_the_torch_arguments_and_params(numpy_cls, torch_cls):
    args_n = list(inspect.signature(numpy_cls.__init__).parameters)
    args_t = list(inspect.signature(torch_cls.__init__).parameters)
    if issubclass(numpy_cls, Module) and not issubclass(numpy_cls, TwinModel):
        assert args_n == [*args_t, "params"], numpy_cls
    else:  # a whole model: (config, params, dtype) on both; the step-by-step LSTM layer: its weights
        assert args_n == args_t, numpy_cls


def test_wrong_dtype_or_shape_is_named_the_same_way_by_both_twins():
    _, _, params = twins("gpt")
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        gpt_numpy.GPT(GPT, params, "float16")
    bad = {**params, "transformer.h.1.attn.c_attn.weight": params["transformer.h.1.attn.c_attn.weight"].T}
    for cls in (gpt_numpy.GPT, gpt_torch.GPT):
        with pytest.raises(
            ValueError, match=r"transformer\.h\.1\.attn\.c_attn\.weight: expected shape \(8, 24\)"
        ):
            cls(GPT, bad)


@pytest.mark.parametrize("case", ["gpt", "lstm", "encdec"])
def test_what_generation_needs(case):
    for model in twins(case)[:2]:
        if case == "encdec":  # beam search drives it through a source bound to it
            assert isinstance(BoundDecoder(model, [1, 2]), CachedLM) and not isinstance(model, CachedLM)
        else:
            assert isinstance(model, CausalLM)
