"""Property-based checks of parameter validation: every bad setting is refused with a clear message
(InvalidParameterError), every good one accepted, and nothing else is ever raised."""

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dip_gui.cli.main import main
from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.imaging import save_image
from dip_gui.core.problem.presets import get_preset

any_float = st.floats(allow_nan=True, allow_infinity=True)


def _valid(iterations, lr, ema, jitter) -> bool:
    return (iterations > 0 and 0 < lr <= 1 and (ema is None or 0 <= ema < 1)
            and jitter >= 0 and math.isfinite(jitter))


@given(iterations=st.integers(-10**6, 10**6), lr=any_float, ema=st.none() | any_float, jitter=any_float)
def test_preset_settings_are_accepted_exactly_when_valid(iterations, lr, ema, jitter):
    preset = get_preset("denoise").with_overrides(iterations=iterations, lr=lr, reg_noise_std=jitter)
    preset = preset.with_overrides(ema=ema) if ema is not None else preset.with_overrides()
    expected = _valid(iterations, lr, ema if ema is not None else preset.ema, jitter)
    if expected:
        preset.validate()
    else:
        with pytest.raises(InvalidParameterError):
            preset.validate()


@given(name=st.text(min_size=1, max_size=12))
def test_unknown_preset_settings_are_refused(name):
    if name in get_preset("denoise").__dataclass_fields__:
        return
    with pytest.raises(InvalidParameterError, match="unknown preset settings"):
        get_preset("denoise").with_overrides(**{name: 1})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(iters=st.integers(-3, 2), lr=any_float, seconds=st.none() | any_float)
@example(iters=2, lr=0.01, seconds=None)  # the accepted path runs for real every time
@example(iters=1, lr=0.5, seconds=30.0)
def test_the_command_line_refuses_bad_numbers_in_one_line(tmp_path, capsys, iters, lr, seconds, smooth_image):
    photo = tmp_path / "in.png"
    if not photo.exists():
        save_image(photo, smooth_image(16, 16))
    output = tmp_path / "out.png"
    output.unlink(missing_ok=True)
    argv = ["run", str(photo), "-o", str(output), "--task", "denoise", "--device", "cpu", "--quiet",
            f"--iters={iters}", f"--lr={lr!r}"]
    if seconds is not None:
        argv += [f"--max-seconds={seconds!r}"]
    good = iters > 0 and 0 < lr <= 1 and (seconds is None or 0 < seconds < math.inf)
    code = main(argv)
    err = capsys.readouterr().err
    if good:
        assert code == 0 and output.exists()
    else:
        assert code == 2 and not output.exists()
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err


def test_a_parser_mistake_is_one_line_too(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["run", "in.png", "-o", "out.png", "--task", "denoise", "--lr", "-1e+16"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: argument --lr") and "--option=-1" in err
