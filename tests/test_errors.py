"""check_options: an option the callee does not take is a one-line error before the call, and a
TypeError raised inside the callee stays a TypeError with its traceback."""
import pytest

from difflab import processes
from difflab.errors import DifflabError, check_options
from difflab.nets import make_network
from difflab.processes import make_process


def _sampler(denoise_fn, x, *, steps, eta: float = 0.0, generator=None):
    return x


class _Thing:
    def __init__(self, data_shape, width: int = 3, *, depth: int = 2):
        pass


def test_unknown_and_missing_options_name_themselves_and_list_the_valid_ones():
    check_options(_sampler, {"steps": 3, "eta": 1.0}, "sampler 'x'", fixed=("denoise_fn", "x", "generator"))
    with pytest.raises(DifflabError, match=r"^sampler 'x': unknown option 'etta'; valid options: eta, steps$"):
        check_options(_sampler, {"steps": 3, "etta": 1.0}, "sampler 'x'", fixed=("denoise_fn", "x", "generator"))
    with pytest.raises(DifflabError, match=r"unknown options 'generator', 'z'; valid options: eta, steps$"):
        check_options(_sampler, {"steps": 3, "generator": 1, "z": 0}, "s", fixed=("denoise_fn", "x", "generator"))
    with pytest.raises(DifflabError, match=r"^s: missing option 'steps'; valid options: eta, steps$"):
        check_options(_sampler, {}, "s", fixed=("denoise_fn", "x", "generator"))
    check_options(_Thing, {"width": 4, "depth": 1}, "thing", fixed=("data_shape",))       # a class: its __init__
    with pytest.raises(DifflabError, match="valid options: depth, width$"):
        check_options(_Thing, {"data_shape": (2,)}, "thing", fixed=("data_shape",))
    check_options(lambda a=1, **more: None, {"anything": 1}, "open")                    # **kwargs takes any name


def test_make_process_and_make_network_check_options_before_the_call(monkeypatch):
    with pytest.raises(DifflabError, match=r"^process 've': unknown option 'beta_end'; valid options: n_levels, "
                                           r"sigma_max, sigma_min, time_sampling$"):
        make_process({"name": "ve", "beta_end": 0.02})
    with pytest.raises(DifflabError, match=r"^network 'mlp': unknown option 'widht'; valid options: depth, emb_dim, "
                                           r"fourier, fourier_max, width$"):
        make_network({"name": "mlp", "widht": 64}, (2,))

    def broken(**options):
        return len(3)                                    # a bug inside the callee: a TypeError of its own

    monkeypatch.setitem(processes.PROCESSES, "vp", broken)
    with pytest.raises(TypeError, match="has no len"):
        make_process({"name": "vp", "n_steps": 10})
