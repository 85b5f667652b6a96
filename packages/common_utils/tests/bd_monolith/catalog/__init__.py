"""The catalog app of the fixture monolith."""
