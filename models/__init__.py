"""The model core of Transformer Playground: configs, twin models, tokenizers, weights, sampling.

from models import load_model, load_tokenizer
model = load_model("shakespeare-char", backend="numpy")   # or backend="torch"
logits = model(ids)                                       # ids (B, T) → logits (B, T, V)
"""

from models.beam import beam_search
from models.config import PRESETS, GPTConfig, preset
from models.generate import generate
from models.loading import load_model, load_tokenizer, shipped_models, zoo_dir
from models.metrics import bits_per_char, perplexity
from models.sampling import SamplingParams, sample_next
from models.tokenizer import BPETokenizer, CharTokenizer

__all__ = [
    "PRESETS",
    "BPETokenizer",
    "CharTokenizer",
    "GPTConfig",
    "SamplingParams",
    "beam_search",
    "bits_per_char",
    "generate",
    "load_model",
    "load_tokenizer",
    "perplexity",
    "preset",
    "sample_next",
    "shipped_models",
    "zoo_dir",
]
