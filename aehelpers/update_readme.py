"""Refill the README's generated tables from the stored results: ``python -m aehelpers.update_readme``."""

from .results import update_readme

if __name__ == "__main__":
    print("README tables " + ("updated." if update_readme() else "already up to date."))
