# One image for the Dagster webserver, the Dagster daemon, the migrations and the API
# (docker-compose.yml). The build stage resolves the pinned dependencies into a virtual
# environment; the runtime stage copies only that environment and runs as an unprivileged user.
FROM python:3.11-slim AS build

WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY twap_pipeline ./twap_pipeline
COPY twap_api ./twap_api
RUN pip install --no-cache-dir --no-deps .

FROM python:3.11-slim

RUN useradd --create-home --uid 10001 twap \
    && mkdir -p /var/lib/twap /opt/twap/dagster_home \
    && chown twap:twap /var/lib/twap /opt/twap/dagster_home
COPY --from=build /opt/venv /opt/venv
WORKDIR /opt/twap
COPY workspace.yaml ./
COPY dagster.postgres.yaml ./dagster_home/dagster.yaml
ENV PATH=/opt/venv/bin:$PATH \
    DAGSTER_HOME=/opt/twap/dagster_home \
    PYTHONUNBUFFERED=1
USER twap
