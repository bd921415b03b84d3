"""Reusable Qt widgets: plain data in, signals out. No sockets, no database."""
