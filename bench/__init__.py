"""`make bench`: what the handlers cost, measured in one run on this machine (not a test)."""
