# The modelwarden image: the operator (`modelwarden run`), the evaluator sidecar
# (`modelwarden evaluator proxy`) and the rest of the CLI; the chart runs it as both.
# Build with `make image` (needs Docker; CI has no Docker engine, so it is not built there).
FROM python:3.11-slim AS build
WORKDIR /src
# Exactly what `pip install .` needs: the project file, the readme it names, the sources.
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
COPY --from=build /install /usr/local
# The chart's podSecurityContext runs as 65532 with a read-only root filesystem; /tmp is an
# emptyDir there. Nothing here needs to write anywhere else.
USER 65532:65532
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
ENTRYPOINT ["modelwarden"]
CMD ["--help"]
