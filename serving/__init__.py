"""The recommendation service: FastAPI over one published bundle."""

from serving.app import create_app

__all__ = ["create_app"]
