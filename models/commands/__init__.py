"""The ``playground`` sub-commands that work on models: one module each, with ``add_arguments(parser)`` and
``main(args) -> int``. The library (``models``) never imports them; ``server.cli`` dispatches to them."""
