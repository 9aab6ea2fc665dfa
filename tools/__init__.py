"""Developer tools run through `python3 dev.py`: generated documentation and checks."""
