"""The orders app of the fixture monolith."""
