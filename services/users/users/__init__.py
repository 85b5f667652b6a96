"""The users app: Django's users with a display name, their API and the token endpoint."""
