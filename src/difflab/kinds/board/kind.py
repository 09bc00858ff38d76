"""Board-game positions (kind "board"): samples decoded to integer boards, pictured as boards,
measured by legality, novelty and move counts, and restored from noise.

`difflab sample` saves int8 boards, one row per board in row-major order (top row first), 1 for
the first player, -1 for the second, 0 for empty: (N, 9) for tic-tac-toe, (N, 42) for Connect
Four, whatever the encoding the model saw. The game is known from the number of cells (the first
axis of one sample), the encoding from the sample's shape: (cells,) values or (cells, 3) one-hot
channels (`difflab.kinds.board.boards`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import DifflabError
from .boards import decode, encode, encoding_of, move_counts, validate_boards
from .metrics import evaluate_boards, format_board_metrics, reconstruction
from .spec import game_for_cells
from ...kind import Kind, plot_split_panels, register_kind
from .pictures import plot_boards, plot_boards_vs_reference, plot_move_counts, plot_reverse_boards


def _game(run):
    return game_for_cells(int(run.shape[0]))


@register_kind
class BoardKind(Kind):
    name = "board"
    data_range = (-1.0, 1.0)      # raw range of every cell: the box x0 clipping uses (clip=True)
    denoises = True

    def finish(self, run, samples: np.ndarray) -> np.ndarray:
        """Model output -> int8 boards (N, cells): values rounded to the nearest of -1, 0, 1, or
        one-hot cells to their largest channel."""
        return decode(samples)

    def sample_shape(self, run) -> tuple:
        """(cells,): samples are integer boards whatever the encoding."""
        return (int(run.shape[0]),)

    def extra_outputs(self, out: Path) -> list[Path]:
        out = Path(out)
        return [out.with_name(f"{out.stem}_boards.png")]

    def write_outputs(self, run, samples: np.ndarray, out: Path, labels=None) -> list[Path]:
        """<out stem>_boards.png: the first 32 boards, those that break the rules framed in red."""
        game = _game(run)
        b = decode(samples)
        legal = game.legal(b)
        shown = min(len(b), 32)
        title = (f"{run.dataset_name}: first {shown} of {len(b)} boards "
                 f"({legal.mean():.0%} legal; illegal ones framed in red)")
        return [plot_boards(b, self.extra_outputs(out)[0], title, game.name, illegal=~legal, max_boards=shown)]

    def plot_split(self, ds, path) -> Path:
        return plot_split_panels(ds, path)

    def plot_samples(self, run, samples: np.ndarray, prefix, label: str | None = None) -> list[Path]:
        """<prefix>_vs_test.png (generated beside real boards) and <prefix>_moves.png (move counts)."""
        game, ds = _game(run), run.dataset
        b = decode(samples)
        name = label or f"{ds.name} / {run.config.method}"
        truth = ds.sample(max(len(b), 2000), np.random.default_rng(0))
        return [plot_boards_vs_reference(b, decode(ds.test), f"{prefix}_vs_test.png", f"{name}: generated beside real boards",
                                         game.name, illegal=~game.legal(b)),
                plot_move_counts(move_counts(b), move_counts(decode(truth)), f"{prefix}_moves.png",
                                 f"{name}: moves played, samples vs truth", game.n_cells)]

    def plot_reverse(self, run, prefix, n: int = 8, seed: int = 0, snapshots=None, **sample_kw) -> list[Path]:
        """A masked (categorical) run: <prefix>.png, a few boards as they are unmasked (masked cells
        grey: its snapshots hold NaN there, which the generic point plots cannot draw). A Gaussian
        run: the generic pictures of points."""
        if getattr(run, "categories", None) is None:
            return super().plot_reverse(run, prefix, n=n, seed=seed, snapshots=snapshots, **sample_kw)
        snaps = snapshots if snapshots is not None else run.reverse_snapshots(n, seed=seed, **sample_kw)
        sampler = sample_kw.get("sampler") or run.config.sampler
        title = f"{run.dataset_name} / {run.config.method}: reverse process ({sampler}), masked cells grey"
        return [plot_reverse_boards(snaps, f"{prefix}.png", title, _game(run).name)]

    def evaluate(self, samples, dataset, rng, n_pairs: int = 10, floors: dict | None = None) -> dict:
        return evaluate_boards(samples, dataset, rng, n_pairs=n_pairs, floors=floors)

    def format_result(self, result: dict) -> str:
        return format_board_metrics(result)

    def read_input(self, path, run, noisy: bool = False) -> np.ndarray:
        """Boards to denoise: an .npy (never unpickled) or a comma-separated .csv, one board per row;
        returned in the run's encoding (the noise is added to what the model sees)."""
        path = Path(path)
        if not path.is_file():
            raise DifflabError(f"boards file not found: {path}")
        try:
            if path.suffix == ".npy":
                x = np.load(path, allow_pickle=False)
            elif path.suffix == ".csv":
                x = np.loadtxt(path, delimiter=",", ndmin=2)
            else:
                raise DifflabError(f"{path}: expected boards in a .npy or .csv file")
        except ValueError as e:
            raise DifflabError(f"cannot read boards from {path}: {e}") from None
        return encode(validate_boards(x, _game(run).n_cells, str(path)), encoding_of(run.shape))

    def denoise_report(self, clean, noisy, restored) -> str:
        r = reconstruction(clean, noisy, restored)
        return (f"boards restored exactly: {r['restored']['boards']:.1%} (cells {r['restored']['cells']:.1%}); "
                f"the noisy boards rounded: {r['rounded_noisy']['boards']:.1%} (cells {r['rounded_noisy']['cells']:.1%})")
