# Transformer Playground: the web app and its shipped models, CPU only, no network needed at run time.
#   docker build -t transformer-playground .
#   docker run --rm -p 8000:8000 transformer-playground        → http://localhost:8000
# Settings by environment: PLAYGROUND_MAX_STREAMS, PLAYGROUND_DEFAULT_MODEL, PLAYGROUND_TORCH_THREADS,
# PLAYGROUND_BLAS_THREADS, PLAYGROUND_RETRY_AFTER_S, PLAYGROUND_MAX_BODY_BYTES, PLAYGROUND_MODELS_DIR.
FROM python:3.11-slim-bookworm

# where the CPU-only torch wheel comes from (the default index would bring the CUDA build)
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHON=/opt/venv/bin/python

RUN python -m venv /opt/venv

# torch first, in its own layer: it is most of the image and changes least
COPY scripts/image-install.sh /usr/local/bin/image-install.sh
RUN TORCH_INDEX_URL="$TORCH_INDEX_URL" image-install.sh torch

COPY . /src
RUN image-install.sh project /src && rm -rf /src

RUN groupadd --system --gid 10001 playground \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin playground
USER 10001:10001
WORKDIR /tmp

EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["playground", "serve", "--host", "0.0.0.0", "--port", "8000"]
