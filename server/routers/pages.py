"""The HTML pages: Jinja2 shells whose ES modules fetch their numbers from the API.

Every page gets the same small JSON blob (models, lessons, this page's own data) in a
``<script type="application/json">`` tag, so no inline script runs and the CSP can forbid it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from server.deps import RegistryDep
from server.lessons import Lesson, available
from server.registry import Registry
from server.templating import templates
from server.training import lab_page_data

ROOT = Path(__file__).resolve().parents[2]
router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def page_route(path: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page answers GET and HEAD (a link checker or a proxy's probe asks with HEAD)."""
    return router.api_route(path, methods=["GET", "HEAD"])


# what a page may load: only this server; KaTeX sets inline styles, figures export through blob: URLs
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

NAV = (
    ("/", "Home"),
    ("/playground", "Playground"),
    ("/learn", "Lessons"),
    ("/model", "Model map"),
    ("/attention", "Attention"),
    ("/masks", "Masks"),
    ("/positions", "Positions"),
    ("/compare", "Compare"),
    ("/train", "Train"),
    ("/class", "Class"),
    ("/docs", "API"),
)


def model_cards(registry: Registry) -> list[dict[str, Any]]:
    """What the pages need to know about each served model (the card, not the weights)."""
    out = []
    for e in registry.models.values():
        c = e.config
        out.append(
            {
                "name": e.name,
                "architecture": e.architecture,
                "task": e.task,
                "metrics": e.has_metrics,  # a training log to ask /api/models/{name}/metrics for
                "example": e.example,  # an input its vocabulary reads ("Measure all" on /compare)
                "parameters": e.parameters,
                "tokenizer": e.tokenizer.kind,
                "vocab_size": c.vocab_size,
                "context": c.block_size,
                "n_layer": getattr(c, "n_layer", None) or c.n_enc_layer + c.n_dec_layer,  # enc-dec: both
                "n_enc_layer": getattr(c, "n_enc_layer", None),  # encoder-decoders only
                "n_dec_layer": getattr(c, "n_dec_layer", None),
                "n_head": getattr(c, "n_head", None),  # transformers only
                "n_embd": c.n_embd,
                "n_hidden": getattr(c, "n_hidden", None),  # LSTMs only
                "norm": getattr(c, "norm", None),
                "pos": getattr(c, "pos", None),
                "activation": getattr(c, "activation", None),
                "card": e.card,
            }
        )
    return out


def lessons_for(registry: Registry) -> list[Lesson]:
    return available({e.architecture for e in registry.models.values()})


def page(request: Request, template: str, registry: Registry, title: str, **data: Any) -> HTMLResponse:
    lessons = lessons_for(registry)
    blob = {
        "page": template.removesuffix(".html"),
        "models": model_cards(registry),
        "lessons": [{"slug": x.slug, "title": x.title, "summary": x.summary} for x in lessons],
        **data,
    }
    context = {"title": title, "nav": NAV, "path": request.url.path, "data": blob, "lessons": lessons, **data}
    return templates().TemplateResponse(request, template, context, headers=HEADERS)


@page_route("/")
def home(request: Request, registry: RegistryDep) -> HTMLResponse:
    return page(request, "home.html", registry, "Transformer Playground")


@page_route("/playground")
def playground(request: Request, registry: RegistryDep) -> HTMLResponse:
    return page(request, "playground.html", registry, "Playground")


@page_route("/learn")
def learn(request: Request, registry: RegistryDep) -> HTMLResponse:
    return page(request, "learn.html", registry, "Lessons")


@page_route("/learn/{slug}")
def lesson(request: Request, registry: RegistryDep, slug: str) -> Response:
    lessons = lessons_for(registry)
    if slug.isdigit():  # /learn/3: the third step the served models can run, by its name
        number = int(slug)
        if not 1 <= number <= len(lessons):
            raise HTTPException(
                status_code=404, detail=f"no lesson number {number}: there are 1 to {len(lessons)}"
            )
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/learn/{lessons[number - 1].slug}{query}", status_code=307)
    index = next((i for i, x in enumerate(lessons) if x.slug == slug), None)
    if index is None:
        raise HTTPException(status_code=404, detail=f"no lesson {slug!r}")
    step = lessons[index]
    prev = lessons[index - 1].slug if index > 0 else None
    nxt = lessons[index + 1].slug if index + 1 < len(lessons) else None
    return page(
        request,
        "lesson.html",
        registry,
        f"{index + 1}. {step.title}",
        step={"slug": step.slug, "title": step.title, "summary": step.summary, "number": index + 1},
        prev=prev,
        next=nxt,
        total=len(lessons),
    )


@page_route("/model")
def model_map(request: Request, registry: RegistryDep) -> HTMLResponse:
    return page(request, "model.html", registry, "The whole model on one map")


@page_route("/attention")
def attention(request: Request, registry: RegistryDep) -> HTMLResponse:
    return page(request, "attention.html", registry, "Attention explorer")


@page_route("/masks")
def masks(request: Request, registry: RegistryDep) -> HTMLResponse:
    return page(request, "masks.html", registry, "Masks")


@page_route("/positions")
def positions(request: Request, registry: RegistryDep) -> HTMLResponse:
    return page(request, "positions.html", registry, "Positional encoding")


@page_route("/compare")
def compare(request: Request, registry: RegistryDep) -> HTMLResponse:
    return page(request, "compare.html", registry, "Compare")


@page_route("/train")
@page_route("/train/{run_id}")
def train(request: Request, registry: RegistryDep, run_id: str | None = None) -> HTMLResponse:
    """The lab; ``/train/<id>`` is a run's own page: anyone with the link watches the same run."""
    if run_id is not None and request.app.state.runs.get(run_id) is None:
        raise HTTPException(
            status_code=404, detail=f"no training run {run_id!r} (runs are kept while in use)"
        )
    lab = lab_page_data(request.app.state.settings, run_id)
    return page(request, "train.html", registry, "Training lab", lab=lab)


@page_route("/docs")
def api_docs(request: Request, registry: RegistryDep) -> HTMLResponse:
    """The OpenAPI reference, drawn by the vendored Swagger UI (FastAPI's own page loads it from a CDN)."""
    return page(request, "api.html", registry, "API")


def not_found(request: Request, detail: str) -> HTMLResponse:
    registry = request.app.state.registry
    response = page(request, "404.html", registry, "Not found", detail=detail)
    response.status_code = 404
    return response
