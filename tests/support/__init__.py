"""Test helpers shared across test folders (``from tests.support.<module> import ...``): the
paper-CLI process harness and the venue connector fixtures' common parts."""
