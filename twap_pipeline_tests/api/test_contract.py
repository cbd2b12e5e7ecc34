"""The pydantic models are the API's contract: every endpoint's answers, whatever the query,
validate against them (no missing field, no field the models do not name)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from twap_api.models import Coverage, Health, Service, TwapDetail, TwapPage, ValidationErrors

WALLET_QUERIES = [
    {},
    {"latest_per_twap": "false"},
    {"limit": 3},
    {"start": "2025-06-02", "end": "2025-06-04T12:00:00Z", "latest_per_twap": "false"},
    {"asset": "BTC"},
]


def validate(model: type[BaseModel], response) -> BaseModel:
    return model.model_validate_json(response.content, strict=False)


@pytest.mark.parametrize("params", WALLET_QUERIES)
def test_wallet_pages_follow_the_contract(client, loaded_events, params):
    wallets = loaded_events["state_user"].str.to_lowercase().unique().sort().to_list()[:5]
    for wallet in wallets:
        response = client.get("/api/v1/twaps", params={"wallet": wallet, **params})
        assert response.status_code == 200
        page = validate(TwapPage, response)
        assert isinstance(page, TwapPage) and page.wallet == wallet


def test_one_twap_follows_the_contract(client, loaded_events):
    ids = loaded_events.sort("twap_id")["twap_id"].unique(maintain_order=True).to_list()
    for twap_id in ids[:: max(1, len(ids) // 25)]:
        response = client.get(f"/api/v1/twaps/{twap_id}")
        assert response.status_code == 200
        twap = validate(TwapDetail, response)
        assert isinstance(twap, TwapDetail) and twap.events and len(twap.rows) == len(twap.events)


def test_health_coverage_and_root_follow_the_contract(client):
    assert validate(Health, client.get("/healthz"))
    assert validate(Coverage, client.get("/api/v1/coverage"))
    assert validate(Service, client.get("/"))


def test_invalid_parameters_follow_the_contract(client):
    response = client.get("/api/v1/twaps", params={"wallet": "0x1", "limit": 0})
    assert response.status_code == 422
    assert len(validate(ValidationErrors, response).detail) == 2


def test_the_contract_refuses_a_field_it_does_not_name(client, loaded_events):
    twap_id = loaded_events["twap_id"][0]
    body = client.get(f"/api/v1/twaps/{twap_id}").json()
    with pytest.raises(ValueError, match="extra"):
        TwapDetail.model_validate({**body, "unexpected": 1})
    del body["raw"]
    with pytest.raises(ValueError, match="raw"):
        TwapDetail.model_validate(body)
