"""The notes app of the fixture monolith."""
