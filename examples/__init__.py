"""Example programs; ``clients/`` holds mail clients that fault experiments run."""
