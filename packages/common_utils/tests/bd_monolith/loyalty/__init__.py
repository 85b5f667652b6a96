"""The loyalty app of the fixture monolith."""
