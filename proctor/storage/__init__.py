"""Persistence adapters: the only package that imports SQLAlchemy or Alembic."""
