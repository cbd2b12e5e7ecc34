"""The SQL of each TWAP table, one module a table: what the loader, the checks and the assets
run against it. Every value is a bound parameter; identifiers are fixed here."""
