"""Evaluation: two-sample metrics read against their noise floors, figures that see the tails
(outlier share, mean true log-density, share outside a bounded support; k-NN precision/recall
where the density is unknown) and mode coverage; for images, FD-clf and k-NN precision/recall
in the features of difflab's own classifier.

    from difflab.eval import evaluate_samples, format_metrics_table
    result = evaluate_samples(samples, dataset, np.random.default_rng(0))   # JSON-serialisable
    print(format_metrics_table(result))                   # ends with the verdict, judge(result)
    result = evaluate_images(images, image_dataset, np.random.default_rng(0))   # images (N, C, H, W) in [0, 1]
"""
from .classifier import get_classifier
from .evaluate import evaluate_samples, format_metrics_table, judge, log_density_summary, reference_floors
from .floor import judge_median, noise_floor, summarise
from .frechet import frechet_distance, knn_precision_recall
from .images import evaluate_images, format_image_metrics, image_reference_floors
from .modes import mode_coverage, on_mode_radius
from .precision_recall import precision_recall, precision_recall_floors
from .tails import log_density_threshold, tail_figures, tail_floors
from .two_sample import METRICS, energy_distance, median_distance, mmd2_unbiased, sliced_wasserstein2

__all__ = [
    "METRICS", "energy_distance", "evaluate_images", "evaluate_samples", "format_image_metrics",
    "format_metrics_table", "frechet_distance", "get_classifier", "image_reference_floors", "knn_precision_recall",
    "judge", "judge_median", "log_density_summary", "log_density_threshold",
    "median_distance", "mmd2_unbiased", "mode_coverage", "noise_floor", "on_mode_radius", "precision_recall",
    "precision_recall_floors", "reference_floors", "sliced_wasserstein2", "summarise", "tail_figures", "tail_floors",
]
