"""The picture of generated sentence embeddings beside the test set."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...viz._figure import REFERENCE_GREY, SAMPLE_COLOR, new_figure, save
from .geometry import nearest_cosines, pca_basis


def plot_text_samples(samples, dataset, path, title: str = "") -> Path:
    """Two panels: a PCA scatter (axes of the training set) of the test embeddings and the samples,
    and histograms of the nearest-training cosine of the samples and of the test embeddings."""
    fig = new_figure(11, 4.8)
    fig.suptitle(title)
    ax1, ax2 = fig.subplots(1, 2)
    centre, basis = pca_basis(dataset.train)
    for x, color, label in ((dataset.test, REFERENCE_GREY, f"test (N={len(dataset.test)})"),
                            (samples, SAMPLE_COLOR, f"samples (N={len(samples)})")):
        z = (np.asarray(x, np.float64) - centre) @ basis
        ax1.scatter(z[:, 0], z[:, 1], s=4, alpha=0.5, color=color, label=label, linewidths=0)
    ax1.set(xlabel="PC 1 (training set)", ylabel="PC 2", title="embeddings, first two principal components")
    ax1.legend(loc="upper right", markerscale=3)
    s_nn = nearest_cosines(samples, dataset.train)[0][:, 0]
    t_nn = nearest_cosines(dataset.test, dataset.train)[0][:, 0]
    bins = np.linspace(min(s_nn.min(), t_nn.min()), 1.0, 41)
    ax2.hist(t_nn, bins=bins, density=True, alpha=0.6, color=REFERENCE_GREY, label=f"test, mean {t_nn.mean():.3f}")
    ax2.hist(s_nn, bins=bins, density=True, alpha=0.6, color=SAMPLE_COLOR, label=f"samples, mean {s_nn.mean():.3f}")
    ax2.set(xlabel="cosine similarity to the nearest training sentence", ylabel="density",
            title="nearest-neighbour similarity")
    ax2.legend(loc="upper left")
    return save(fig, path)
