"""The notifications app: records a notification for each placed order and serves them."""
