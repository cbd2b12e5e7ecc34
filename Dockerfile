# One image for the Dagster webserver, the Dagster daemon and the API (docker-compose.yml).
FROM python:3.11-slim

WORKDIR /opt/twap
COPY pyproject.toml README.md LICENSE ./
COPY twap_pipeline ./twap_pipeline
COPY twap_api ./twap_api
COPY twap_pipeline_tests ./twap_pipeline_tests
RUN pip install --no-cache-dir .

COPY workspace.yaml dagster.postgres.yaml ./
ENV DAGSTER_HOME=/opt/twap/dagster_home
RUN mkdir -p "$DAGSTER_HOME" && cp dagster.postgres.yaml "$DAGSTER_HOME/dagster.yaml"
