"""The repository's own tooling: the workspace model, news fragments, the changelog gate and builds.

Never published; the noxfile runs these modules (``python -m commons_tools.<module>``).
"""
