"""Super-resolution's result back-projected onto the small photo (core/classical/back_projection.py)."""

import numpy as np
import pytest
import torch

from dip_gui.core.classical.back_projection import START_ROUNDS, BackProjection
from dip_gui.core.classical.warm_start import back_projected_upscale, gaussian_blur
from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.metrics import psnr
from dip_gui.core.problem.degradations import downscale
from dip_gui.core.problem.presets import get_preset
from dip_gui.core.problem.tasks import make_problem, to_tensor
from dip_gui.core.session.checkpoint import load_session, save_session
from dip_gui.core.session.session import Session


def _striped(size: int = 64) -> np.ndarray:
    """Soft shapes under slanted stripes: detail a 2 px blur removes and back-projection can restore."""
    from tests.makers import smooth_image
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    stripes = 0.25 * np.sin((xs + 0.5 * ys) / 2.5)[:, :, None]
    return np.clip(smooth_image(size, size, seed=4) + stripes, 0.0, 1.0).astype(np.float32)


def _problem(size: int = 64):
    clean = _striped(size)
    return make_problem("sr", downscale(clean, 4), scale=4, reference=clean), clean


def _error_on_small_photo(problem, image: torch.Tensor) -> float:
    with torch.no_grad():
        return float(((problem.operator(image.clamp(0, 1)) - problem.observed_tensor()) ** 2).mean())


def test_back_projection_makes_a_blurred_upscale_explain_the_photo_and_restores_its_detail():
    problem, clean = _problem()
    blurred = to_tensor(gaussian_blur(back_projected_upscale(problem.observed_pixels(), problem), 2.0))
    projected = BackProjection(problem.operator, problem.observed_tensor()).apply(blurred)

    assert _error_on_small_photo(problem, projected) < 0.05 * _error_on_small_photo(problem, blurred)
    assert psnr(projected.clamp(0, 1), to_tensor(clean)) > psnr(blurred, to_tensor(clean)) + 2.0


def test_the_correction_starts_with_every_round_then_takes_one_per_update_and_reading_changes_nothing():
    problem, _ = _problem()
    blurred = to_tensor(gaussian_blur(back_projected_upscale(problem.observed_pixels(), problem), 2.0))
    projection = BackProjection(problem.operator, problem.observed_tensor())
    before_any_update = projection.apply(blurred)
    assert projection.correction is None  # a read keeps nothing

    projection.update(blurred)
    assert torch.equal(projection.apply(blurred), before_any_update)  # the first update: START_ROUNDS rounds
    first = projection.correction.clone()
    projection.apply(blurred)
    assert torch.equal(projection.correction, first)

    projection.update(blurred)  # one more round: closer still to explaining the photo
    assert not torch.equal(projection.correction, first)
    later = BackProjection(problem.operator, problem.observed_tensor())
    later.correction = torch.zeros_like(blurred)
    for _ in range(START_ROUNDS + 1):
        later.update(blurred)
    torch.testing.assert_close(projection.correction, later.correction)


def _fast_session(problem, iterations: int = 6) -> Session:
    return Session(problem, get_preset("sr", "fast").with_overrides(iterations=iterations), seed=2, device="cpu")


def test_fast_super_resolution_shows_at_least_the_classical_upscale_while_its_network_is_still_blurred():
    problem, clean = _problem()
    upscale = psnr(to_tensor(np.clip(back_projected_upscale(problem.observed_pixels(), problem), 0, 1)),
                   to_tensor(clean))
    session = _fast_session(problem)
    assert psnr(session.result_tensor(), session.reference) >= upscale - 0.05  # before the first step
    for _ in range(3):
        result = session.step()
        raw = psnr(session.result_tensor(raw=True), session.reference)
        assert result.psnr >= upscale - 0.05
        assert raw < upscale - 1.0  # the network's own output: the blurred upscale and little more


def test_a_resumed_fast_super_resolution_run_ends_where_an_uninterrupted_one_does(tmp_path):
    problem, _ = _problem(48)
    straight = _fast_session(problem)
    for _ in range(6):
        straight.step()
    first = _fast_session(problem)
    for _ in range(3):
        first.step()
    resumed, _ = load_session(save_session(tmp_path / "sr.dips", first), device="cpu")
    for _ in range(3):
        resumed.step()
    np.testing.assert_array_equal(resumed.result(), straight.result())


def test_back_projection_is_for_super_resolution_only():
    with pytest.raises(InvalidParameterError, match="super-resolution only"):
        get_preset("denoise", "fast").with_overrides(back_project=True).validate()


def test_a_camera_blur_set_too_wide_is_not_sharpened_round_after_round():
    """Told more blur than the photo has, no upscale explains its sharpness: a round that would
    explain it worse is left out, where each would otherwise add the same detail again."""
    from dip_gui.core.classical.back_projection import refine
    from tests.makers import striped_photo

    clean = striped_photo(64)
    small = downscale(clean, 2, blur=1.5)
    told_too_much = make_problem("sr", small, scale=2, blur=3.0)
    observed = told_too_much.observed_tensor()
    upscale = torch.nn.functional.interpolate(observed, scale_factor=2, mode="bicubic", align_corners=False)
    correction = refine(torch.zeros_like(upscale), told_too_much.operator, observed, upscale, 60)
    assert float((upscale + correction).abs().max()) < 2.0  # 12 unguarded rounds reach 2.5, 60 reach 9
    assert psnr(back_projected_upscale(small, told_too_much), clean) > 10.0  # 2.8 dB unguarded


def test_a_run_told_a_little_too_much_camera_blur_holds_near_its_first_preview():
    """A round per iteration for hundreds of iterations would undo the wider blur ever further: the
    correction forgets a share of itself each time under a camera blur (``BLURRED_LEAK``)."""
    from dataclasses import replace

    from dip_gui.core.metrics import psnr
    from tests.makers import TINY_NET, textured_photo

    clean = textured_photo(64)
    small = downscale(clean, 2, blur=1.0)
    preset = replace(get_preset("sr", "fast"), net=TINY_NET, iterations=200)
    session = Session(make_problem("sr", small, scale=2, blur=1.5), preset, seed=0, device="cpu")
    session.step()
    first = psnr(session.result(), clean)
    for _ in range(199):
        session.step()
    assert psnr(session.result(), clean) > first - 2.0  # 24.3 -> 23.4 dB; forgetting nothing: 18.2
