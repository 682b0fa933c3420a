"""One module per venue, each exposing ``HARNESS`` (a ``VenueHarness`` subclass); listed in
``tests/conformance/conftest.py``."""
