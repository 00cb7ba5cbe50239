"""The ``playground`` command: one sub-command per job, each defined beside the code it runs.

It sits in ``server`` because it dispatches to both sides: the model commands (``models.commands``)
and the server's own (``serve``, ``loadtest``); the model library never imports it. Every
sub-command module offers ``add_arguments(parser)`` and ``main(args) -> int``; a module is
imported only when its command runs (``playground serve`` reads no other command's module), so
``playground --help`` and the server's start stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# command → (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("models.commands.demo", "generate text from a model in the terminal, on either backend"),
    "bench": (
        "models.commands.bench",
        "benchmark generation speed: transformers vs the PyTorch and NumPy twins",
    ),
    "prepare": (
        "models.commands.prepare",
        "tokenize a text into train/validation token arrays for training",
    ),
    "train": (
        "models.commands.train",
        "train a model (PyTorch twin): GPT or LSTM on prepared text, the encoder-decoder or a GPT on "
        "numbers to words, a masked LM; checkpoints, resume, export",
    ),
    "evaluate": (
        "models.commands.evaluate",
        "measure a language model on a text (--text: loss, perplexity, bits/char), a numbers-to-words "
        "model (held-out greedy exact match) or a masked LM; speed, parameters",
    ),
    "check": (
        "models.commands.check",
        "check a model folder (your own checkpoint): the twins agree, with transformers too; writes its card",
    ),
    "compare": (
        "models.commands.compare",
        "one table over every shipped model: quality from its card, speed and memory on both backends",
    ),
    "serve": ("server.serve", "serve the models over HTTP (the API, its docs at /docs)"),
    "loadtest": (
        "server.loadtest",
        "stream many generations at once from a running server and report latency",
    ),
    "ship": (
        "models.commands.ship",
        "copy a run's best model into the zoo with its card, sample and README",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command`` only that sub-command's arguments are read (its module imported),
    the others are listed by name and help; with None, all of them."""
    parser = argparse.ArgumentParser(
        prog="playground",
        description="Transformer Playground: small transformers, twice (PyTorch and NumPy).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(module=module)
        if command is None or command == name:
            importlib.import_module(module).add_arguments(p)
    return parser


def command_of(argv: list[str]) -> str:
    """The sub-command named in ``argv``: its first word that is not an option ("" if none)."""
    return next((a for a in argv if not a.startswith("-")), "")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(command_of(argv)).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s"
    )
    try:
        return int(importlib.import_module(args.module).main(args) or 0)
    except (ValueError, FileNotFoundError) as e:  # bad input: a message, not a traceback
        print(f"playground {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"playground {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
