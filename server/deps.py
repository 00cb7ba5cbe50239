"""Dependencies shared by the routers: the registry and a looked-up model."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from server.registry import ModelEntry, Registry


def get_registry(request: Request) -> Registry:
    return request.app.state.registry


RegistryDep = Annotated[Registry, Depends(get_registry)]


def lookup(registry: Registry, name: str) -> ModelEntry:
    """The entry for ``name``, or a 404 that lists the names that exist."""
    entry = registry.get(name)
    if entry is None:
        known = ", ".join(registry.models) or "none"
        raise HTTPException(status_code=404, detail=f"no model named {name!r}; known models: {known}")
    return entry
