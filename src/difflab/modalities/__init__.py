"""The kinds of data beyond vectors and images: each module registers a `difflab.modality.Modality`."""
