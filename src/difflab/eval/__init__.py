"""Evaluation that serves every kind of data: two-sample metrics read against their noise floors,
figures that see the tails (outlier share, mean true log-density, share outside a bounded
support; k-NN precision/recall where the density is unknown), mode coverage, Frechet distances
in any feature space.

    from difflab.eval import evaluate_samples, format_metrics_table
    result = evaluate_samples(samples, dataset, np.random.default_rng(0))   # JSON-serialisable
    print(format_metrics_table(result))                   # ends with the verdict, judge(result)

Each kind's own metrics (classifier features for images and audio, nearest sentences for text,
legality for boards) live in its package under `difflab.kinds`.
"""
from .evaluate import evaluate_samples, format_metrics_table, judge, log_density_summary, reference_floors
from .floor import judge_median, noise_floor, summarise
from .frechet import frechet_distance, knn_precision_recall
from .modes import mode_coverage, on_mode_radius
from .precision_recall import precision_recall, precision_recall_floors
from .tails import log_density_threshold, tail_figures, tail_floors
from .two_sample import METRICS, energy_distance, median_distance, mmd2_unbiased, sliced_wasserstein2

__all__ = [
    "METRICS", "energy_distance", "evaluate_samples", "format_metrics_table", "frechet_distance",
    "judge", "judge_median", "knn_precision_recall", "log_density_summary", "log_density_threshold",
    "median_distance", "mmd2_unbiased", "mode_coverage", "noise_floor", "on_mode_radius", "precision_recall",
    "precision_recall_floors", "reference_floors", "sliced_wasserstein2", "summarise", "tail_figures", "tail_floors",
]
