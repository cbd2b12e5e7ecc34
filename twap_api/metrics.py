"""Prometheus metrics of the API, in a registry of its own: requests by route template,
latency, requests in flight, the connection pool's use, and how far the newest loaded event
lags now (the last two read when scraped). With several workers each process keeps its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "twap_api_requests",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "twap_api_request_duration_seconds",
    "Time to answer a request, by method and route template",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
IN_FLIGHT = Gauge("twap_api_requests_in_flight", "Requests being answered now", registry=REGISTRY)
POOL = Gauge(
    "twap_api_db_pool_connections",
    "Database pool connections: size (open), available (idle), waiting (requests queued)",
    ["state"],
    registry=REGISTRY,
)
NEWEST_EVENT_LAG = Gauge(
    "twap_api_newest_event_lag_seconds",
    "Now minus the time of the newest loaded event (NaN when unknown)",
    registry=REGISTRY,
)
