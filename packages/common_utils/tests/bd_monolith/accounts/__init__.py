"""The accounts app of the fixture monolith."""
