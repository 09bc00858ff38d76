"""Evaluation: two-sample metrics read against their noise floors, log-density and mode coverage.

    from difflab.eval import evaluate_samples, format_metrics_table
    result = evaluate_samples(samples, dataset, np.random.default_rng(0))   # JSON-serialisable
    print(format_metrics_table(result))
"""
from .evaluate import evaluate_samples, format_metrics_table, log_density_summary
from .floor import noise_floor
from .modes import mode_coverage, on_mode_radius
from .two_sample import METRICS, energy_distance, median_distance, mmd2_unbiased, sliced_wasserstein2

__all__ = [
    "METRICS", "energy_distance", "evaluate_samples", "format_metrics_table", "log_density_summary",
    "median_distance", "mmd2_unbiased", "mode_coverage", "noise_floor", "on_mode_radius",
    "sliced_wasserstein2",
]
