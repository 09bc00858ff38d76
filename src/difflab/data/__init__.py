"""Datasets: one module per family, one registry."""
from .base import Dataset, Normaliser
from .registry import dataset_names, get_dataset, list_datasets, register, register_prefix

__all__ = ["Dataset", "Normaliser", "dataset_names", "get_dataset", "list_datasets", "register", "register_prefix"]
