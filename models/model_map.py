"""The whole model on one map: every part of a model in the order its numbers flow, labelled with
the shapes of its own stored parameters.

``model_map(config, T)`` reads the architecture table (``explanation`` picks the layout: a stack
of attention blocks, an encoder with a decoder, or recurrent cells; ``kind`` picks the head) and
the parameter table of the architecture (``param_shapes``), so a label is the shape of the tensor
the model really stores: ``wte 65 × 128`` is ``transformer.wte.weight``. Each part names the lesson
steps that teach it (``steps``, the first one served is the part's link) and lists the parameters
it reads, so a test can hold every label against the weight file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from models.architectures import Architecture, architecture_for

Shapes = Mapping[str, tuple[int, ...]]

# Steps about the whole model rather than one place in it: their small map lights every part.
WHOLE_MODEL_STEPS = ("model", "architectures", "twins", "training", "wrap-up")

# The steps that teach each kind of part, the first served one being where the part links to.
TEACHES: dict[str, tuple[str, ...]] = {
    "tokens": ("tokenization",),
    "wte": ("embeddings",),
    "wpe": ("positions",),
    "ln_1": ("feed-forward",),
    "attn": ("qkv", "scores", "masks", "softmax", "attention-output", "multi-head", "kv-cache"),
    "add_attn": ("attention-output", "feed-forward"),
    "ln_cross": ("architectures",),
    "cross": ("architectures",),
    "add_cross": ("architectures",),
    "ln_2": ("feed-forward",),
    "mlp": ("feed-forward",),
    "add_mlp": ("feed-forward", "logit-lens"),
    "ln_f": ("feed-forward", "logit-lens"),
    "head": ("sampling", "logit-lens"),
    "mlm_head": ("architectures",),
    "probs": ("sampling",),
    "lstm": ("lstm",),
    "lstm_head": ("lstm", "sampling"),
}


def dims(shape: tuple[int, ...]) -> str:
    """A shape as the map writes it: ``(65, 128)`` → ``65 × 128``."""
    return " × ".join(str(n) for n in shape)


@dataclass(frozen=True)
class Part:
    id: str  # unique in the map: "transformer.h.0.attn"
    kind: str  # a key of TEACHES
    label: str  # the plain name, the code name beside it
    shape: str  # the real shapes: "65 × 128", "c_attn 128 → 384 · 4 heads × 32 · c_proj 128 → 128"
    layer: int | None = None  # the block (or LSTM layer) it belongs to
    params: dict[str, list[int]] = field(default_factory=dict)  # stored name → shape it reads
    steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stack:
    name: str  # "transformer", "encoder", "decoder", "lstm"
    title: str
    parts: list[Part]


@dataclass(frozen=True)
class ModelMap:
    architecture: str
    label: str
    kind: str
    T: int  # tokens of the reader's text (an encoder-decoder's source)
    sizes: dict[str, int]  # V, C, L, nh, hs, …: the config's sizes by their shape letters
    stacks: list[Stack]
    whole_model_steps: tuple[str, ...] = WHOLE_MODEL_STEPS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Parts:
    """Builds parts from one parameter table; a name it reads that the table lacks is an error."""

    def __init__(self, shapes: Shapes):
        self.shapes = shapes

    def __call__(self, id: str, kind: str, label: str, shape: str, layer: int | None = None, *names: str):
        params = {n: list(self.shapes[n]) for n in names}
        return Part(id, kind, label, shape, layer, params, TEACHES[kind])

    def has(self, name: str) -> bool:
        return name in self.shapes

    def dims(self, name: str) -> str:
        return dims(self.shapes[name])

    def io(self, name: str) -> str:
        """A Conv1D weight (in, out) as ``in → out``."""
        n_in, n_out = self.shapes[name]
        return f"{n_in} → {n_out}"


def _embeddings(p: _Parts, prefix: str, T: int | None, wte: str, C: int) -> list[Part]:
    tokens = f"T = {T} tokens" if T is not None else "the start token, then the words so far"
    out = [
        p(f"{prefix}tokens", "tokens", "tokens (token ids)", tokens),
        p(f"{prefix}wte", "wte", "token embedding table (wte)", p.dims(wte), None, wte),
    ]
    if p.has(f"{prefix}wpe.weight"):
        used = f" (rows 0…{T - 1} used)" if T is not None else ""
        name = f"{prefix}wpe.weight"
        out.append(p(f"{prefix}wpe", "wpe", "position table (wpe)", p.dims(name) + used, None, name))
    else:
        rows = f"{T} × {C}" if T is not None else f"T × {C}"
        out.append(p(f"{prefix}wpe", "wpe", "sinusoidal positions (no parameters)", rows))
    return out


def _attention(p: _Parts, scope: str, layer: int, nh: int, kind: str = "attn") -> Part:
    c_attn, c_proj = f"{scope}.c_attn.weight", f"{scope}.c_proj.weight"
    C = p.shapes[c_proj][1]
    heads = f"{nh} heads × {C // nh}"
    if kind == "cross":
        q_attn = f"{scope}.q_attn.weight"
        label = "cross-attention: q_attn (Q from the target), c_attn (K, V from the encoder), c_proj"
        kv = f"c_attn {p.io(c_attn)} · K, V ← encoder"
        shape = f"q_attn {p.io(q_attn)} · {kv} · {heads} · c_proj {p.io(c_proj)}"
        return p(scope, kind, label, shape, layer, q_attn, c_attn, c_proj)
    label = "attention: c_attn (Q, K, V projection) → heads → c_proj (output projection)"
    shape = f"c_attn {p.io(c_attn)} · {heads} · c_proj {p.io(c_proj)}"
    return p(scope, kind, label, shape, layer, c_attn, c_proj)


def _block(p: _Parts, prefix: str, i: int, config: Any, cross: bool, T: int | None) -> list[Part]:
    """Block i's parts in the order its forward pass runs them (post-LN normalises after each add)."""
    s = f"{prefix}h.{i}"
    act = "GELU" if getattr(config, "activation", "gelu") == "gelu" else "ReLU"
    c_fc, m_proj = f"{s}.mlp.c_fc.weight", f"{s}.mlp.c_proj.weight"
    C = p.shapes[m_proj][1]
    ln_1 = p(f"{s}.ln_1", "ln_1", "layer norm (ln_1)", f"γ, β: {C} each", i, f"{s}.ln_1.weight")
    ln_2 = p(f"{s}.ln_2", "ln_2", "layer norm (ln_2)", f"γ, β: {C} each", i, f"{s}.ln_2.weight")
    attn = _attention(p, f"{s}.attn", i, config.n_head)
    stream = f"residual stream {T if T is not None else 'T'} × {C}"
    add_attn = p(f"{s}.add_attn", "add_attn", "residual add: x + attention", stream, i)
    mlp = p(
        f"{s}.mlp",
        "mlp",
        f"MLP: c_fc → {act} → c_proj",
        f"c_fc {p.io(c_fc)} · {act} · c_proj {p.io(m_proj)}",
        i,
        c_fc,
        m_proj,
    )
    add_mlp = p(f"{s}.add_mlp", "add_mlp", "residual add: x + MLP", stream, i)
    middle = []
    if cross:
        ln_c = f"{s}.ln_cross_attn.weight"
        middle = [
            p(f"{s}.ln_cross", "ln_cross", "layer norm (ln_cross_attn)", f"γ, β: {C} each", i, ln_c),
            _attention(p, f"{s}.crossattention", i, config.n_head, "cross"),
            p(f"{s}.add_cross", "add_cross", "residual add: x + cross-attention", stream, i),
        ]
    if getattr(config, "norm", "pre") == "post":  # LN(x + f(x))
        return [attn, add_attn, ln_1, *middle, mlp, add_mlp, ln_2]
    return [ln_1, attn, add_attn, *middle, ln_2, mlp, add_mlp]


def _lm_head(p: _Parts, prefix: str, wte: str, what: str) -> list[Part]:
    """Logits = x @ wteᵀ (tied) or @ lm_head.weightᵀ, then softmax over the vocabulary."""
    own = "lm_head.weight"
    name = own if p.has(own) else wte
    V, C = p.shapes[name]
    label = "LM head (lm_head)" if name == own else "LM head (wte transposed, shared with the embedding)"
    return [
        p(f"{prefix}head", "head", label, f"{C} → {V}", None, name),
        p(f"{prefix}probs", "probs", f"{what} probabilities (softmax)", f"{V} numbers that sum to 1"),
    ]


def _mlm_head(p: _Parts, prefix: str, wte: str, what: str) -> list[Part]:
    dense, V = "mlm_head.dense.weight", p.shapes[wte][0]
    C = p.shapes[dense][1]
    shape = f"dense {p.io(dense)} · GELU · layer norm · wteᵀ {C} → {V} + bias {V}"
    return [
        p(f"{prefix}head", "mlm_head", "MLM head (mlm_head)", shape, None, dense, "mlm_head.bias", wte),
        p(f"{prefix}probs", "probs", f"{what} probabilities (softmax)", f"T × {V}, each row sums to 1"),
    ]


HEADS: dict[str, tuple[Callable[[_Parts, str, str, str], list[Part]], str]] = {
    "causal-lm": (_lm_head, "next-token"),
    "masked-lm": (_mlm_head, "each position's token"),
    "seq2seq": (_lm_head, "next target word"),
}


def _stack(
    p: _Parts, arch: Architecture, config: Any, prefix: str, n_layer: int, T: int | None, **kw: Any
) -> list[Part]:
    wte = kw.get("wte", f"{prefix}wte.weight")
    parts = _embeddings(p, prefix, T, wte, config.n_embd)
    for i in range(n_layer):
        parts += _block(p, prefix, i, config, kw.get("cross", False), T)
    if p.has(f"{prefix}ln_f.weight"):
        ln_f, C = f"{prefix}ln_f.weight", config.n_embd
        parts.append(p(f"{prefix}ln_f", "ln_f", "final layer norm (ln_f)", f"γ, β: {C} each", None, ln_f))
    if kw.get("head", True):
        head, what = HEADS[arch.kind]
        parts += head(p, prefix, wte, what)
    return parts


def _single_stack(p: _Parts, arch: Architecture, config: Any, T: int | None) -> list[Stack]:
    prefix = next(n for n in p.shapes if n.endswith("wte.weight")).removesuffix("wte.weight")
    causal = arch.kind == "causal-lm"
    title = f"{arch.label}: {'causal' if causal else 'bidirectional'} self-attention, {config.n_layer} blocks"
    return [Stack(prefix.rstrip("."), title, _stack(p, arch, config, prefix, config.n_layer, T))]


def _encoder_decoder(p: _Parts, arch: Architecture, config: Any, T: int | None) -> list[Stack]:
    enc = _stack(p, arch, config, "encoder.", config.n_enc_layer, T, head=False)
    shared = not p.has("decoder.wte.weight")
    wte = "encoder.wte.weight" if shared else "decoder.wte.weight"
    dec = _stack(p, arch, config, "decoder.", config.n_dec_layer, None, cross=True, wte=wte)
    return [
        Stack("encoder", f"Encoder: bidirectional self-attention, {config.n_enc_layer} blocks", enc),
        Stack(
            "decoder",
            f"Decoder: causal self-attention and cross-attention to the encoder, {config.n_dec_layer} blocks",
            dec,
        ),
    ]


def _recurrent(p: _Parts, arch: Architecture, config: Any, T: int | None) -> list[Stack]:
    parts = _embeddings(p, "", T, "wte.weight", config.n_embd)[:2]  # an LSTM has no positions
    H = config.n_hidden
    for k in range(config.n_layer):
        ih, hh = f"lstm.weight_ih_l{k}", f"lstm.weight_hh_l{k}"
        width = p.shapes[ih][1]
        shape = f"gates i, f, g, o: weight_ih {p.dims(ih)} ({width} → 4 × {H}) · weight_hh {p.dims(hh)}"
        label = f"LSTM cell, layer {k}: input, forget, candidate and output gates"
        parts.append(p(f"lstm.l{k}", "lstm", label, shape, k, ih, hh))
    V = p.shapes["head.weight"][0]
    parts.append(
        p("head", "lstm_head", "head (linear)", f"{H} → {V} + bias", None, "head.weight", "head.bias")
    )
    parts.append(p("probs", "probs", "next-token probabilities (softmax)", f"{V} numbers that sum to 1"))
    return [Stack("lstm", f"{arch.label}: {config.n_layer} layers, state carried from token to token", parts)]


LAYOUTS: dict[str, Callable[[_Parts, Architecture, Any, int | None], list[Stack]]] = {
    "stack": _single_stack,
    "encoder-decoder": _encoder_decoder,
    "recurrent": _recurrent,
}

# the config's sizes under their shape letters (the fields a config lacks are left out)
SIZE_FIELDS = {
    "V": "vocab_size",
    "V_src": "src_vocab_size",
    "V_tgt": "tgt_vocab_size",
    "C": "n_embd",
    "H": "n_hidden",
    "L": "n_layer",
    "L_enc": "n_enc_layer",
    "L_dec": "n_dec_layer",
    "nh": "n_head",
    "context": "block_size",
}


def model_map(config: Any, T: int | None = None) -> ModelMap:
    """The map of a model with ``config`` reading ``T`` tokens (an encoder-decoder: T source tokens)."""
    arch = architecture_for(config)
    parts = _Parts(arch.param_shapes(config))
    sizes = {k: getattr(config, f) for k, f in SIZE_FIELDS.items() if hasattr(config, f)}
    if "nh" in sizes:
        sizes["hs"] = config.n_embd // config.n_head
    stacks = LAYOUTS[arch.explanation](parts, arch, config, T)
    return ModelMap(arch.name, arch.label, arch.kind, T or 0, sizes, stacks)
