"""The orders app: orders placed by users, the order-placed event, and the users lookup."""
