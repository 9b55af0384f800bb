# syntax=docker/dockerfile:1
# The system-health exporter: `docker build -t system-health-exporter .`
# Dependencies come from requirements.lock (exact pins); the final stage holds only the venv.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, so a source change does not reinstall them.
COPY requirements.lock ./
RUN pip install --no-cache-dir --no-deps --requirement requirements.lock
COPY pyproject.toml README.md ./
COPY exporter ./exporter
RUN pip install --no-cache-dir --no-deps . \
    && python -m compileall -q /opt/venv

FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="system-health-exporter" \
      org.opencontainers.image.description="GitHub system-health gauges for the Datadog agent's OpenMetrics check"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 exporter \
    && useradd --system --uid 10001 --gid exporter --no-create-home --shell /usr/sbin/nologin exporter
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
EXPOSE 9877
# No curl in a slim image: Python itself asks /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9877/healthz', timeout=4)"]
CMD ["python", "-m", "exporter", "serve", "--host", "0.0.0.0", "--port", "9877"]
