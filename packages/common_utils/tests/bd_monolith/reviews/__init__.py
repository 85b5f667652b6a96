"""The reviews app of the fixture monolith."""
