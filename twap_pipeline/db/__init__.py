"""The TWAP database itself: how to reach it (``urls``) and its versioned schema (``schema``,
with the Alembic revisions under ``migrations/``). Imports neither Dagster nor FastAPI, so the
pipeline, the API and the CLI all share it."""
