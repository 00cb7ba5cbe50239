"""The live lessons: one concept per step, in teaching order.

Each step's page is ``/learn/<slug>``; its figure is drawn by ``static/js/lessons/<slug>.js``
from numbers the server computes on the reader's own input. ``needs`` names the architectures a
step runs on: a step is listed only when the registry serves a model of each.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: str
    summary: str
    needs: tuple[str, ...] = ("gpt",)


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "model",
        "The whole model on one map",
        "Every part of the model, its real shapes, and where each later step sits.",
        needs=(),  # any served model draws its own map
    ),
    Lesson(
        "tokenization", "Tokenization", "Text becomes a list of integers: characters or byte-pair merges."
    ),
    Lesson("embeddings", "Embeddings are a lookup", "Each token id picks one row of a learned matrix."),
    Lesson(
        "positions",
        "Positional encoding",
        "Sinusoids or a learned table tell the model where each token sits.",
    ),
    Lesson("qkv", "Queries, keys and values", "Three linear maps of the same vectors ask, answer and carry."),
    Lesson("scores", "Scaled scores", "Every query meets every key: q·k / √d_head says how well they match."),
    Lesson("masks", "Masks", "Causal and padding masks decide which keys a query may see."),
    Lesson("softmax", "Softmax → attention weights", "Scores become probabilities that sum to one per row."),
    Lesson(
        "attention-output",
        "Weights × values → the residual stream",
        "Each head mixes the values by its weights; c_proj joins the heads; the sum is added back.",
    ),
    Lesson("multi-head", "Multi-head attention", "Several heads look for different patterns side by side."),
    Lesson(
        "feed-forward",
        "Feed-forward, residual stream and LayerNorm",
        "Each block adds to a running sum; where LayerNorm sits changes training.",
    ),
    Lesson(
        "sampling", "Logits → sampling", "Temperature, top-k and top-p reshape the next-token distribution."
    ),
    Lesson(
        "kv-cache",
        "The KV cache",
        "Keys and values of past tokens are kept, so each new token costs one row.",
    ),
    Lesson("logit-lens", "Logit lens", "What each layer would predict if the model stopped there."),
    Lesson(
        "architectures",
        "Encoder, decoder, encoder-decoder",
        "Fill a mask, translate numbers to words, and the same task decoder-only.",
        needs=("encoder-decoder",),  # the masked-LM part shows when an encoder is served too
    ),
    Lesson(
        "lstm", "LSTM vs transformer", "Gates over time against attention over everything.", needs=("lstm",)
    ),
    Lesson("twins", "PyTorch vs NumPy", "The same model written twice gives the same numbers."),
    Lesson("training", "Training", "Loss curves of the shipped models, and what they tell you."),
    Lesson("wrap-up", "The whole path, and where next", "Text in, one token out: every step in a few lines."),
)


def available(architectures: set[str]) -> list[Lesson]:
    """The steps the served models can run, in teaching order."""
    return [lesson for lesson in LESSONS if set(lesson.needs) <= architectures]
