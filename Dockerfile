# One image for the adapters, the workers and the scheduler (they differ only by command).
# The base image is pinned to an exact Python release (docs/operations.md, "Updating
# dependencies", says how to move it); the dependencies are installed from the lock, each
# file checked against its sha256, and the package itself without resolving anything again.
FROM python:3.11.14-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 10001 twinbridge
WORKDIR /app
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY core ./core
COPY bridge ./bridge
COPY workers ./workers
# The stand-ins, so that `twinbridge demo` also runs in the image (sandbox/README.md).
COPY sandbox ./sandbox
COPY console ./console
RUN pip install --no-deps . && rm -rf build *.egg-info
# Only the examples: the real config/links.yaml is mounted read-only by docker-compose.yml.
COPY config ./config
# Runs as an unprivileged user, who cannot write the installed code.
USER twinbridge
ENTRYPOINT ["twinbridge"]
CMD ["run"]
