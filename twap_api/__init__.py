"""REST API over the tables the twap pipeline loads."""
