"""Tests of twap_pipeline and twap_api, and the seeded data generator they (and the demo) use."""
