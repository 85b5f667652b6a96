"""The shipping app of the fixture monolith."""
