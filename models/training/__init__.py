"""Training the PyTorch twins: the one loop (``loop``), its tasks, prepared data, settings and the model card.

The library (``models``) never imports this package; the ``playground train`` and ``prepare`` commands and
the server do."""
