# syntax=docker/dockerfile:1
# wa-bot as a container: `docker build -t wa-bot .`, then see docs/deploy.md (compose.yml, deploy/kubernetes/).

# Build: the wheels of wa-bot and of everything it needs, so the image itself holds no compiler and no source.
FROM python:3.12-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Run: the wheels installed from the build stage only (no index), as a user other than root.
FROM python:3.12-slim-bookworm
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels wa-bot
RUN useradd --create-home --uid 10001 wa-bot
USER wa-bot
# The default SQLite store (one replica) and a mounted .env, if any, are found here.
WORKDIR /home/wa-bot
ENV PYTHONUNBUFFERED=1
EXPOSE 3000
# /healthz answers 200 once the bot serves and its store is reachable; urlopen raises (exit 1) otherwise.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4)"]
ENTRYPOINT ["wa-bot"]
CMD ["run"]
