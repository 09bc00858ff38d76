"""Evaluation: two-sample metrics read against their noise floors, log-density and mode coverage;
for images, FD-clf and k-NN precision/recall in the features of difflab's own classifier.

    from difflab.eval import evaluate_samples, format_metrics_table
    result = evaluate_samples(samples, dataset, np.random.default_rng(0))   # JSON-serialisable
    print(format_metrics_table(result))
    result = evaluate_images(images, image_dataset, np.random.default_rng(0))   # images (N, C, H, W) in [0, 1]
"""
from .classifier import get_classifier
from .evaluate import evaluate_samples, format_metrics_table, log_density_summary, reference_floors
from .floor import noise_floor
from .frechet import frechet_distance, knn_precision_recall
from .images import evaluate_images, format_image_metrics, image_reference_floors
from .modes import mode_coverage, on_mode_radius
from .two_sample import METRICS, energy_distance, median_distance, mmd2_unbiased, sliced_wasserstein2

__all__ = [
    "METRICS", "energy_distance", "evaluate_images", "evaluate_samples", "format_image_metrics",
    "format_metrics_table", "frechet_distance", "get_classifier", "image_reference_floors", "knn_precision_recall",
    "log_density_summary",
    "median_distance", "mmd2_unbiased", "mode_coverage", "noise_floor", "on_mode_radius", "reference_floors",
    "sliced_wasserstein2",
]
