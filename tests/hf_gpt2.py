"""A tiny Hugging Face GPT-2 folder, as ``transformers`` writes one: ``config.json`` + ``model.safetensors``
and GPT-2's tokenizer files (``vocab.json`` + ``merges.txt``, a byte-level BPE trained on a few lines)."""

from __future__ import annotations

import inspect
from pathlib import Path

LINES = [
    "First Citizen: Before we proceed any further, hear me speak.",
    "All: Speak, speak.",
    "First Citizen: You are all resolved rather to die than to famish?",
    "All: Resolved. resolved.",
    "ROMEO: But soft, what light through yonder window breaks?",
]


def build_hf_gpt2(directory: Path, seed: int = 0, vocab_size: int = 300, n_positions: int = 64) -> Path:
    """A random GPT2LMHeadModel (2 layers, width 32) and its vocab.json + merges.txt in ``directory``."""
    import torch
    import transformers
    from tokenizers import ByteLevelBPETokenizer

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        LINES, vocab_size=vocab_size, min_frequency=1, special_tokens=["<|endoftext|>"], show_progress=False
    )
    bpe.save_model(str(directory))  # vocab.json + merges.txt
    eos = bpe.token_to_id("<|endoftext|>")
    torch.manual_seed(seed)
    cfg = transformers.GPT2Config(
        vocab_size=bpe.get_vocab_size(),
        n_positions=n_positions,
        n_layer=2,
        n_head=2,
        n_embd=32,
        bos_token_id=eos,
        eos_token_id=eos,
    )
    model = transformers.GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():  # non-trivial LayerNorms and biases, larger weights: a peaked distribution
        for p in model.parameters():
            p.add_(torch.randn_like(p) * (0.05 if p.dim() == 1 else 0.1))
    kwargs = {}
    if "safe_serialization" in inspect.signature(model.save_pretrained).parameters:
        kwargs["safe_serialization"] = True
    model.save_pretrained(directory, **kwargs)
    return directory
