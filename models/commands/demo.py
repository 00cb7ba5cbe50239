"""``playground demo``: stream a continuation of a prompt from a model in the terminal."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="shipped model name or model directory (default: the first shipped)")
    parser.add_argument("--backend", choices=("numpy", "torch"), default="numpy")
    parser.add_argument("--prompt", default="ROMEO:\n", help="text to continue")
    parser.add_argument("--max-new-tokens", type=int, default=300)
    parser.add_argument("--temperature", type=float, default=0.8, help="0 = greedy")
    parser.add_argument("--top-k", type=int, default=0, help="0 = off")
    parser.add_argument("--top-p", type=float, default=1.0, help="1 = off")
    parser.add_argument("--repetition-penalty", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stats", action="store_true", help="print timing and the stop reason at the end")


def main(args: argparse.Namespace) -> int:
    from models import SamplingParams, generate, load_model, load_tokenizer, shipped_models
    from models.generate import DoneEvent

    name = args.model
    if name is None:
        shipped = shipped_models()
        if not shipped:
            raise ValueError("no shipped models were found; pass --model DIR")
        name = shipped[0]
    params = SamplingParams(args.temperature, args.top_k, args.top_p, args.repetition_penalty)
    model = load_model(name, backend=args.backend)
    tokenizer = load_tokenizer(name)
    out = sys.stdout
    out.write(args.prompt)
    for event in generate(
        model, tokenizer.encode(args.prompt), args.max_new_tokens, params, args.seed, tokenizer=tokenizer
    ):
        if isinstance(event, DoneEvent):
            if args.stats:
                out.write(
                    f"\n\n[{event.n_tokens} tokens, {event.tokens_per_s:.1f} tokens/s, "
                    f"first token {event.ttft_ms:.1f} ms, stopped: {event.reason}]"
                )
        else:
            out.write(event.text or "")
            out.flush()
    out.write("\n")
    return 0
