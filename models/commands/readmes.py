"""The README.md that ``playground ship`` writes beside a shipped model: its card, in words."""

from __future__ import annotations

from typing import Any

N_MASKED = 4  # characters hidden in each fill-in example of a masked LM's card


def lm_shape(card: dict[str, Any]) -> str:
    """One sentence on a language model's shape, from its card's config."""
    c = card["config"]
    if card.get("architecture") == "lstm":
        return (
            f"A {c['n_layer']}-layer LSTM: {c['n_embd']}-wide embeddings, {c['n_hidden']} hidden units per "
            f"layer, a linear head. It reads one token at a time and carries its state; measured in "
            f"{c['block_size']}-token windows from the zero state, as the GPTs are."
        )
    tied = "tied" if c["tie_weights"] else "untied"
    return (
        f"A {c['n_layer']}-layer, {c['n_head']}-head, {c['n_embd']}-wide GPT: {c['norm']}-LN, {c['pos']} "
        f"positions,\n{c['activation'].upper()}, {tied} embeddings, a context of {c['block_size']} tokens."
    )


def card_readme(card: dict[str, Any]) -> str:
    """A short README.md for a zoo model, from its card."""
    v, hw, smp, tok = card["validation"], card["hardware"], card["sample"], card["tokenizer"]
    rows = [
        (
            "data",
            f"`{card['data']['text']}` (sha256 `{card['data']['sha256'][:12]}…`), 90/10 train/validation",
        ),
        ("tokenizer", f"{tok['kind']}, {tok['vocab_size']} tokens"),
        ("parameters", f"{card['parameters']:,}"),
        (
            "training",
            f"{card['steps']:,} steps, {card['tokens']:,} tokens, {card['wall_time_s'] / 60:.0f} min "
            f"on {hw['cpu']} ({hw['threads']} thread{'s' if hw['threads'] != 1 else ''}, {hw['device']})",
        ),
        (
            "train / validation loss at the best step",
            f"{card['train_loss']:.4f} / {card['val_loss']:.4f} nats",
        ),
        (
            "validation loss, whole split",
            f"{v['loss']:.4f} nats per token ({v['tokens']:,} tokens, NumPy twin)",
        ),
        ("validation perplexity", f"{v['perplexity']:.3f}"),
        ("validation bits per character", f"{v['bits_per_char']:.4f}"),
    ]
    table = "\n".join(f"| {k} | {val} |" for k, val in rows)
    return f"""# {card["name"]}

{lm_shape(card)}

| | |
|---|---|
{table}

Sample ({smp["backend"]} twin, temperature {smp["temperature"]}, seed {smp["seed"]},
prompt {smp["prompt"]!r}):

```text
{smp["text"]}
```

Reproduce (from the repository root):

```sh
{card["command"]}
```

`metrics.jsonl` holds the loss curves: one line per evaluation with the step, tokens seen, train
and validation loss, perplexity, bits per character, learning rate and tokens per second.
"""


def numbers_readme(card: dict[str, Any]) -> str:
    """README.md of a numbers-to-words model, from its card."""
    c, hw, acc, data = card["config"], card["hardware"], card["accuracy"], card["data"]
    if card["architecture"] == "encoder-decoder":
        shape = (
            f"An encoder-decoder transformer: {c['n_enc_layer']} encoder and {c['n_dec_layer']} decoder "
            f"layers, {c['n_head']} heads, {c['n_embd']} channels, {c['pos']} positions. It reads the "
            "digits (one token each) and writes the words (one token each) until `</s>`."
        )
        tok = card["tokenizer"]
        vocab = f"source: {tok['source']['vocab_size']} digits; target: {tok['target']['vocab_size']} words"
    else:
        shape = (
            f"A decoder-only GPT: {c['n_layer']} layers, {c['n_head']} heads, {c['n_embd']} channels, "
            f"{c['norm']}-LN, {c['pos']} positions, a context of {c['block_size']} characters. Given "
            "`1234=` it writes `one thousand two hundred thirty four` and a newline, character by character."
        )
        vocab = f"characters, {card['tokenizer']['vocab_size']} tokens"
    t, v = acc["test"], acc["val"]
    rows = [
        (
            "data",
            f"numbers 0-999,999 written in words; split seed {data['split_seed']}: "
            f"{data['splits']['train']:,} train / {data['splits']['val']:,} validation / "
            f"{data['splits']['test']:,} test numbers",
        ),
        ("tokenizer", vocab),
        ("parameters", f"{card['parameters']:,}"),
        (
            "training",
            f"{card['steps']:,} steps, {card['tokens']:,} target tokens, {card['wall_time_s'] / 60:.0f} min "
            f"on {hw['cpu']} ({hw['threads']} thread{'s' if hw['threads'] != 1 else ''}, {hw['device']})",
        ),
        (
            "train / validation loss at the best step",
            f"{card['train_loss']:.4f} / {card['val_loss']:.4f} nats",
        ),
        (
            "held-out test exact match (greedy, NumPy twin)",
            f"{100 * t['exact_match']:.2f}% ({t['correct']:,} / {t['numbers']:,})",
        ),
        (
            "held-out validation exact match",
            f"{100 * v['exact_match']:.2f}% ({v['correct']:,} / {v['numbers']:,})",
        ),
        ("greedy decoding speed (NumPy twin, batches)", f"{t['tokens_per_s']:,.0f} tokens/s"),
    ]
    table = "\n".join(f"| {k} | {val} |" for k, val in rows)
    examples = "\n".join(
        f"{e['number']} → {e['output']}" + ("" if e["correct"] else "   (wrong)") for e in card["examples"]
    )
    return f"""# {card["name"]}

{shape}

| | |
|---|---|
{table}

Examples (held-out test numbers, greedy):

```text
{examples}
```

Reproduce (from the repository root; the numbers are generated, there is no prepare step):

```sh
{card["command"]}
```

Measure again: `playground evaluate {card["name"]}`. `metrics.jsonl` holds the curves: one line per
evaluation with the step, target tokens seen, train and validation loss, greedy exact match on the
validation numbers, learning rate and tokens per second.
"""


def mlm_readme(card: dict[str, Any]) -> str:
    """README.md of a masked LM, from its card."""
    c, v, hw, tok = card["config"], card["validation"], card["hardware"], card["tokenizer"]
    rows = [
        (
            "data",
            f"`{card['data']['text']}` (sha256 `{card['data']['sha256'][:12]}…`), 90/10 train/validation",
        ),
        (
            "tokenizer",
            f"{tok['kind']}, {tok['vocab_size']} tokens (the last is the mask, `{tok['mask_token']}`)",
        ),
        ("parameters", f"{card['parameters']:,}"),
        (
            "training",
            f"{card['steps']:,} steps, {card['tokens']:,} tokens read, {card['wall_time_s'] / 60:.0f} min "
            f"on {hw['cpu']} ({hw['threads']} thread{'s' if hw['threads'] != 1 else ''}, {hw['device']})",
        ),
        (
            "train / validation masked loss at the best step",
            f"{card['train_loss']:.4f} / {card['val_loss']:.4f} nats",
        ),
        (
            "validation masked-token loss, whole split",
            f"{v['loss']:.4f} nats ({v['masked']:,} masked of {v['tokens']:,} tokens, NumPy twin)",
        ),
        ("validation masked-token perplexity", f"{v['perplexity']:.3f}"),
        (
            "validation masked-token accuracy",
            f"top-1 {100 * v['accuracy']:.2f}%, top-5 {100 * v['top5_accuracy']:.2f}%",
        ),
        ("reading speed (NumPy twin, batches)", f"{v['tokens_per_s']:,.0f} tokens/s"),
    ]
    table = "\n".join(f"| {k} | {val} |" for k, val in rows)
    examples = "\n\n".join(
        f"masked:  {e['masked']}\nguessed: {e['filled']}\n"
        + "\n".join(
            f"  {g['position']:>3} {g['answer']!r}: "
            + ", ".join(f"{t['char']!r} {t['prob']:.2f}" for t in g["top"][:3])
            + ("" if g["correct"] else "   (wrong)")
            for g in e["guesses"]
        )
        for e in card["examples"]
    )
    return f"""# {card["name"]}

A {c["n_layer"]}-layer, {c["n_head"]}-head, {c["n_embd"]}-wide encoder (BERT-style masked language model):
bidirectional self-attention, {c["pos"]} positions, a context of {c["block_size"]} characters; the head's
output matrix is the token embedding. It reads a text with some characters hidden behind
`{tok["mask_token"]}` and guesses each from both sides.

| | |
|---|---|
{table}

Measured: {v["how"]}.

Fill-ins (validation lines, {N_MASKED} letters hidden; each hidden letter's three best guesses):

```text
{examples}
```

Reproduce (from the repository root):

```sh
{card["command"]}
```

Measure again: `playground evaluate {card["name"]}`. `metrics.jsonl` holds the curves: one line per
evaluation with the step, tokens read, train and validation masked loss, validation masked
accuracy, learning rate and tokens per second.
"""
