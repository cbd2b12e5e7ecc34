import pytest

from twap_pipeline import sample


def test_a_style_names_a_known_layout():
    with pytest.raises(ValueError, match="unknown layout 'dayly': one of daily, hive_date"):
        sample.Style("dayly", "strings")


def test_a_style_encodes_as_its_layout_can():
    with pytest.raises(ValueError, match="encoding 'node' is not one of the daily layout's"):
        sample.Style("daily", "node")
    with pytest.raises(ValueError, match="encoding 'floats' is not one of the node_hourly"):
        sample.Style("node_hourly", "floats")
    assert sample.Style("node_hourly", "info_api").json
