"""The web server of Transformer Playground: FastAPI app factory, settings, model registry, routers.

No maths here: every number comes from ``models``.
"""
