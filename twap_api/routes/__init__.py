"""One router per resource: TWAPs, coverage, health."""
