"""Evaluation that serves every kind of data: two-sample metrics read against their noise floors,
log-density and mode coverage, Frechet distances and k-NN precision/recall in any feature space.

    from difflab.eval import evaluate_samples, format_metrics_table
    result = evaluate_samples(samples, dataset, np.random.default_rng(0))   # JSON-serialisable
    print(format_metrics_table(result))

Each kind's own metrics (classifier features for images and audio, nearest sentences for text,
legality for boards) live in its package under `difflab.kinds`.
"""
from .evaluate import evaluate_samples, format_metrics_table, log_density_summary, reference_floors
from .floor import noise_floor
from .frechet import frechet_distance, knn_precision_recall
from .modes import mode_coverage, on_mode_radius
from .two_sample import METRICS, energy_distance, median_distance, mmd2_unbiased, sliced_wasserstein2

__all__ = [
    "METRICS", "energy_distance", "evaluate_samples", "format_metrics_table", "frechet_distance",
    "knn_precision_recall", "log_density_summary", "median_distance", "mmd2_unbiased", "mode_coverage",
    "noise_floor", "on_mode_radius", "reference_floors", "sliced_wasserstein2",
]
