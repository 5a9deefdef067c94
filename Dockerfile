# One image for the adapters and the workers (they differ only by command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 twinbridge
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY bridge ./bridge
COPY workers ./workers
# The stand-ins, so that `twinbridge demo` also runs in the image (sandbox/README.md).
COPY sandbox ./sandbox
RUN pip install --no-cache-dir .
COPY config ./config
USER twinbridge
ENTRYPOINT ["twinbridge"]
CMD ["run"]
