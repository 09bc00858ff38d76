"""The package version, in one place (read by the package, run folders and the CLI)."""
__version__ = "0.1.0"
