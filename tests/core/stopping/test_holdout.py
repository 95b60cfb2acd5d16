"""Inpainting's holdout: known pixels shaped like the holes judge the network against the fill."""

from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from dip_gui.core.classical import hole_fills
from dip_gui.core.classical import warm_start as warm_start_module
from dip_gui.core.classical.hole_fills import run_fill_choice
from dip_gui.core.classical.hole_shapes import COPIES, GAP_TO_HOLES, MAX_HIDDEN_FRACTION, holdout_mask
from dip_gui.core.classical.warm_start import warm_start
from dip_gui.core.errors import InvalidParameterError
from dip_gui.core.problem.tasks import make_problem, to_numpy, to_tensor
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.holdout import blend_weight


def square_hole(size=64, top=24, side=8):
    known = np.ones((size, size), bool)
    known[top : top + side, top : top + side] = False
    return known


def test_the_hidden_pixels_are_the_hole_moved_onto_known_pixels_away_from_it():
    known = square_hole()
    hidden = holdout_mask(known)
    assert hidden is not None
    assert not (hidden & ~known).any()
    count, labels = cv2.connectedComponents(hidden.astype(np.uint8))
    assert count - 1 == COPIES  # two copies of the 8x8 square, whole
    for label in range(1, count):
        ys, xs = np.nonzero(labels == label)
        assert len(ys) == 64 and np.ptp(ys) == 7 and np.ptp(xs) == 7
    ys, xs = np.nonzero(hidden)
    hole_ys, hole_xs = np.nonzero(~known)
    gap = np.min(np.hypot(ys[:, None] - hole_ys[None], xs[:, None] - hole_xs[None]))
    assert gap > GAP_TO_HOLES


def test_many_holes_hide_at_most_a_tenth_of_the_known_pixels_and_the_same_ones_each_time():
    rng = np.random.default_rng(3)
    known = np.ones((96, 96), bool)
    for y, x in rng.integers(0, 90, size=(60, 2)):  # strokes covering ~20% of the photo
        known[y : y + 2, x : x + 12] = False
    hidden = holdout_mask(known, seed=1)
    assert hidden is not None and not (hidden & ~known).any()
    assert 0 < hidden.sum() <= MAX_HIDDEN_FRACTION * known.sum()
    np.testing.assert_array_equal(hidden, holdout_mask(known, seed=1))


@pytest.mark.parametrize("known", [np.ones((32, 32), bool), np.zeros((32, 32), bool), square_hole(32, 15, 2)])
def test_nothing_to_hide_gives_no_holdout(known):
    assert holdout_mask(known) is None  # no holes, nothing known, or too few pixels to judge by


def shown_fill(problem, seed: int = 0) -> np.ndarray:
    """The fill a run with a holdout shows in the holes: the method chosen on its hidden pixels."""
    choice = run_fill_choice("fill", problem.observed_pixels(), problem.mask, seed)
    return warm_start(problem, "fill", 0.0, None if choice is None else choice.method)


def test_holes_too_small_to_judge_show_the_average_that_starts_at_the_fill(tiny_preset, image32):
    known = np.ones((32, 32), np.float32)
    known[15:17, 15:17] = 0
    problem = make_problem("inpaint", image32 * known[:, :, None], mask=known, reference=image32)
    session = Session(problem, holdout_preset(tiny_preset), device="cpu")
    np.testing.assert_allclose(session.result(), shown_fill(problem), atol=1e-6)
    session.step()
    assert session.holdout.hidden is None and session.holdout.weight == 1.0
    torch.testing.assert_close(session.result_tensor(), session.average.value * (1 - session.mask)
                               + session.observed * session.mask)


def test_the_blend_weight_is_the_least_squares_mix_clipped_to_0_1():
    fill, average = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    hidden = torch.zeros(1, 1, 8, 8)
    hidden[..., 2:6, 2:6] = 1
    assert float(blend_weight(average, fill, average, hidden)) == pytest.approx(1.0)
    assert float(blend_weight(average, fill, fill, hidden)) == pytest.approx(0.0)
    assert float(blend_weight(average, fill, 0.3 * average + 0.7 * fill, hidden)) == pytest.approx(0.3, abs=1e-5)
    assert float(blend_weight(average, fill, fill - (average - fill), hidden)) == 0.0  # worse than the fill: clipped
    assert float(blend_weight(fill, fill, average, hidden)) == 0.0  # no difference to judge: the fill


@pytest.fixture
def scratched(image32):
    known = np.ones((32, 32), np.float32)
    known[12:16, 4:24] = 0  # a scratch
    problem = make_problem("inpaint", image32 * known[:, :, None], mask=known, reference=image32)
    return problem, known


def holdout_preset(tiny_preset):
    return replace(tiny_preset, task="inpaint", base="fill", base_sigma=0.0, holdout=True)


@pytest.fixture
def telea_fill_only(monkeypatch):
    """Telea's fill alone. Only which fill a run uses is chosen on its hidden pixels
    (hole_fills.run_fill_choice); and on these smooth photos the biharmonic and texture fills predict
    scattered hidden pixels so well that the fills made with and without them hardly differ."""
    monkeypatch.setattr(hole_fills, "FILL_METHODS", {"telea": hole_fills.FILL_METHODS["telea"]})
    monkeypatch.setattr(warm_start_module, "FILL_METHODS", hole_fills.FILL_METHODS)


@pytest.mark.parametrize("residual", [False, True])
def test_the_fit_never_sees_the_hidden_pixels(tiny_preset, scratched, residual, telea_fill_only):
    """Nor through the start of a residual preset, which is made without them: with one fill method,
    nothing of them reaches the fit."""
    problem, known = scratched
    preset = holdout_preset(tiny_preset)
    if residual:
        preset = replace(preset, residual=True, base_sigma=0.8)
    session = Session(problem, preset, device="cpu")
    session.prepare()
    hidden = session.holdout.hidden
    assert float(hidden.sum()) > 0 and float((hidden * (1 - session.mask)).sum()) == 0
    torch.testing.assert_close(session.holdout.fit_mask(), session.mask * (1 - hidden))
    other = make_problem("inpaint", problem.observed.copy(), mask=known, reference=problem.reference)
    other.observed[hidden[0, 0].numpy() > 0] = 1.0 - other.observed[hidden[0, 0].numpy() > 0]  # change only them
    changed = Session(other, preset, device="cpu")
    assert changed.step().loss == pytest.approx(session.step().loss, rel=1e-6)


def test_the_holes_show_the_fill_until_the_network_predicts_the_hidden_pixels_better(tiny_preset, scratched, image32):
    problem, _ = scratched
    session = Session(problem, holdout_preset(tiny_preset), device="cpu")
    fill = shown_fill(problem)
    np.testing.assert_allclose(session.result(), fill, atol=1e-6)  # before any step: the fill
    hidden = session.holdout.hidden[0, 0].numpy() > 0
    assert np.abs(to_numpy(session.average.value)[hidden] - image32[hidden]).max() > 0.01
    session.step()
    assert session.holdout.weight < 0.2  # the untrained network's grey predicts the hidden pixels badly
    assert not session.holdout.released_now()
    session.average.value = to_tensor(image32)  # an average right everywhere, the hidden pixels too
    session.holdout.judge(session.average.value, session.observed)
    np.testing.assert_allclose(session.result(), image32, atol=1e-6)
    assert session.holdout.weight == pytest.approx(1.0) and session.holdout.released_now()
    assert session.holdout.probe is None  # no probe for a scratch: the fit gets every known pixel back
    torch.testing.assert_close(session.holdout.fit_mask(), session.mask)  # handed over: the fit sees them again
    session.average.value = to_tensor(shown_fill(problem))
    session.holdout.judge(session.average.value, session.observed)
    assert session.holdout.weight == 1.0  # for good: the hidden pixels are fitted now, no judge any more


@pytest.mark.parametrize("handed_over", [False, True])
def test_a_resumed_session_hides_the_same_pixels_or_none_once_handed_over(tiny_preset, scratched, handed_over):
    problem, _ = scratched
    session = Session(problem, holdout_preset(tiny_preset), device="cpu")
    session.step()
    if handed_over:
        session.holdout.release()
    resumed = Session(problem, holdout_preset(tiny_preset), device="cpu")
    resumed.load_state_dict(session.state_dict())
    resumed.prepare()
    torch.testing.assert_close(resumed.holdout.hidden, session.holdout.hidden)
    torch.testing.assert_close(resumed.holdout.fit_mask(), session.holdout.fit_mask())
    assert resumed.holdout.released_now() == handed_over
    torch.testing.assert_close(resumed.average.value, session.average.value)


def test_a_holdout_needs_the_fill_as_its_start_and_an_average(tiny_preset):
    with pytest.raises(InvalidParameterError, match="fill"):
        replace(tiny_preset, holdout=True).validate()
    with pytest.raises(InvalidParameterError, match="ema"):
        replace(holdout_preset(tiny_preset), ema=None).validate()


def test_a_holdout_preset_on_a_photo_without_holes_fits_every_pixel(tiny_preset, smooth_image):
    image = smooth_image(32, 32)
    session = Session(make_problem("denoise", image), replace(holdout_preset(tiny_preset), task="denoise"),
                      device="cpu")
    session.step()
    assert session.holdout is None


def test_pixels_missing_all_over_the_photo_get_known_pixels_hidden_at_random():
    """Half the pixels missing at random (restoration): no known pixel is far from a hole, so a
    random tenth of the known pixels is hidden instead of shifted copies of the holes."""
    from dip_gui.core.problem.degradations import random_known_mask

    known = random_known_mask((96, 96), 0.5, seed=2) > 0.5
    hidden = holdout_mask(known, seed=1)
    assert hidden is not None and not (hidden & ~known).any()
    assert hidden.sum() == pytest.approx(MAX_HIDDEN_FRACTION * known.sum(), rel=0.2)
    np.testing.assert_array_equal(hidden, holdout_mask(known, seed=1))
    assert (hidden != holdout_mask(known, seed=2)).any()
    lightly = random_known_mask((96, 96), 0.05, seed=2) > 0.5  # a few specks: room to keep the gap
    gapped = holdout_mask(lightly, seed=1)
    distance = cv2.distanceTransform(lightly.astype(np.uint8), cv2.DIST_L2, 3)
    assert gapped is not None and distance[gapped].min() > GAP_TO_HOLES


def test_a_restoration_holdout_judges_against_the_scattered_pixel_fill_made_without_the_hidden_pixels(tiny_preset, smooth_image):
    from dip_gui.core.classical.warm_start import non_local_means_fill
    from dip_gui.core.problem.degradations import random_known_mask

    image = smooth_image(48, 48, seed=3)
    known = random_known_mask((48, 48), 0.5, seed=0)
    problem = make_problem("restore", image * known[:, :, None], mask=known, reference=image)
    preset = replace(tiny_preset, task="restore", base="nlm_fill", base_sigma=0.0, holdout=True)
    session = Session(problem, preset, device="cpu")
    session.prepare()
    hidden = session.holdout.hidden[0, 0].numpy() > 0
    seen = known * ~hidden
    observed = problem.observed.astype(np.float32)
    np.testing.assert_allclose(to_numpy(session.holdout.fill_unseen),
                               non_local_means_fill(observed, seen), atol=1e-6)
    np.testing.assert_allclose(session.result(), non_local_means_fill(observed, known), atol=1e-6)


def test_the_first_results_show_the_full_fill_not_the_one_made_without_the_hidden_pixels(tiny_preset, smooth_image,
                                                                                          telea_fill_only):
    """The average starts at the fill made without the hidden pixels; the result counts what is left
    of that start as the full fill, so the network's share grows from zero at the averaging rate."""
    from dip_gui.core.problem.degradations import random_known_mask

    image = smooth_image(48, 48, seed=1)
    known = random_known_mask((48, 48), 0.5, seed=0)
    problem = make_problem("restore", image * known[:, :, None], mask=known, reference=image)
    session = Session(problem, replace(holdout_preset(tiny_preset), task="restore"), device="cpu")  # ema 0.9
    fill = shown_fill(problem)
    session.step()
    assert session.network_share() <= 1 - 0.9 + 1e-6
    holes = problem.mask < 0.5
    unseen = to_numpy(session.holdout.fill_unseen)
    assert np.abs(unseen[holes] - fill[holes]).max() > 0.02  # the two fills differ in the holes
    session.holdout.last_weight = 1.0  # as if the judge trusted the average fully
    network = to_numpy(session.last_output)
    np.testing.assert_allclose(session.result()[holes], 0.9 * fill[holes] + 0.1 * network[holes], atol=1e-5)


def test_a_residual_holdout_shows_the_sharp_fill_and_fits_over_the_blurred_one(tiny_preset, scratched):
    """The blur of a residual's start only gives the network a data term: the holes show the fill."""
    from dip_gui.core.classical.warm_start import gaussian_blur

    problem, _ = scratched
    preset = replace(holdout_preset(tiny_preset), residual=True, base_sigma=0.8)
    session = Session(problem, preset, device="cpu")
    np.testing.assert_allclose(session.result(), shown_fill(problem), atol=1e-6)
    unseen = to_numpy(session.holdout.fill_unseen)
    np.testing.assert_allclose(to_numpy(session._base), gaussian_blur(unseen, 0.8), atol=1e-6)


@pytest.mark.parametrize("task", ["inpaint", "restore"])
def test_the_fast_presets_judge_grey_photos_too(task, smooth_image):
    """A grey photo's fills keep their channel axis (OpenCV's blur drops it)."""
    from dip_gui.core.problem.degradations import random_known_mask
    from dip_gui.core.problem.presets import get_preset

    image = np.repeat(smooth_image(48, 48, seed=2)[:, :, :1], 3, axis=2)  # as a grey file loads
    if task == "restore":
        known = random_known_mask((48, 48), 0.5, seed=0)
    else:
        known = np.ones((48, 48), np.float32)
        known[20:24, 5:40] = 0
    problem = make_problem(task, image * known[:, :, None], grey=True, mask=known, reference=image)
    session = Session(problem, get_preset(task, "fast"), device="cpu")
    session.step()
    assert session.holdout.hidden is not None
    assert session.holdout.fill_unseen.shape == session.holdout.fill.shape == (1, 1, 48, 48)
    result = session.result()
    assert result.shape == (48, 48, 3) and np.allclose(result, result[:, :, :1])  # grey stays grey


def test_the_probe_is_whole_hidden_shapes_about_a_fifth_of_them_and_the_same_each_time():
    from dip_gui.core.stopping.holdout import MIN_PROBE_PIXELS, PROBE_SHARE, probe_mask

    rng = np.random.default_rng(3)
    known = np.ones((128, 128), bool)
    for y, x in rng.integers(0, 120, size=(120, 2)):
        known[y : y + 2, x : x + 8] = False
    hidden = holdout_mask(known, seed=1)
    probe = probe_mask(hidden, seed=1)
    assert probe is not None and not (probe & ~hidden).any()
    assert MIN_PROBE_PIXELS <= probe.sum() <= PROBE_SHARE * hidden.sum()
    assert probe.sum() > 0.5 * PROBE_SHARE * hidden.sum()
    count, labels = cv2.connectedComponents(hidden.astype(np.uint8), connectivity=8)
    for label in range(1, count):  # each hidden shape is in the probe entirely or not at all
        inside = probe[labels == label]
        assert inside.all() or not inside.any()
    np.testing.assert_array_equal(probe, probe_mask(hidden, seed=1))
    assert probe_mask(hidden & (labels == 1), seed=1) is None  # one small stroke: too few pixels


def restored(size=64, seed=0):
    from dip_gui.core.problem.degradations import random_known_mask
    from tests.makers import smooth_image

    image = smooth_image(size, size, seed=seed)
    known = random_known_mask((size, size), 0.5, seed=0)
    return make_problem("restore", image * known[:, :, None], mask=known, reference=image), image


def test_the_probe_stays_hidden_after_the_hand_over(tiny_preset):
    problem, image = restored()
    session = Session(problem, replace(holdout_preset(tiny_preset), task="restore"), device="cpu")
    session.step()
    holdout = session.holdout
    assert holdout.probe is not None and session.validation_values() == 3 * int(holdout.probe.sum())
    holdout.release()
    torch.testing.assert_close(holdout.fit_mask(), session.mask - holdout.probe)
    other = make_problem("restore", problem.observed.copy(), mask=problem.mask, reference=image)
    probe = holdout.probe[0, 0].numpy() > 0
    other.observed[probe] = 1.0 - other.observed[probe]  # change only the probe pixels
    changed = Session(other, replace(holdout_preset(tiny_preset), task="restore"), device="cpu")
    changed.step()
    changed.holdout.release()
    assert changed.step().loss == pytest.approx(session.step().loss, rel=1e-6)


def test_the_validation_error_is_the_results_error_on_the_probe_with_the_fill_that_never_saw_it(tiny_preset,
                                                                                                telea_fill_only):
    problem, image = restored()
    session = Session(problem, replace(holdout_preset(tiny_preset), task="restore"), device="cpu")
    session.step()
    holdout = session.holdout
    probe = holdout.probe[0, 0].numpy() > 0
    truth = problem.observed[probe]
    for weight in (0.0, 0.4, 1.0):
        holdout.last_weight = torch.tensor(weight)
        mixed = weight * to_numpy(session.average.value) + (1 - weight) * to_numpy(holdout.fill_unseen)
        expected = float(np.mean((mixed[probe] - truth) ** 2))
        assert float(session.validation_error()) == pytest.approx(expected, rel=1e-5)
    holdout.last_weight = torch.tensor(0.0)
    np.testing.assert_allclose(to_numpy(holdout.fill)[probe], truth, atol=1e-6)  # the full fill knows them...
    assert float(session.validation_error()) > 1e-5  # ...so the error is made with the one that does not
    session.average.value = to_tensor(image)
    holdout.last_weight = torch.tensor(1.0)
    assert float(session.validation_error()) == pytest.approx(0.0, abs=1e-12)


def test_only_scattered_holes_keep_a_probe(tiny_preset, smooth_image):
    """Inpainting masks get no probe: there the output variance makes no early suggestion, so a probe
    would only cost the fit its pixels (docs/stopping.md)."""
    from dip_gui.core.classical.hole_shapes import holes_are_scattered

    rng = np.random.default_rng(3)
    known = np.ones((96, 96), np.float32)
    for y, x in rng.integers(0, 90, size=(60, 2)):  # strokes: plenty hidden, enough for a probe
        known[y : y + 2, x : x + 12] = 0
    image = smooth_image(96, 96)
    problem = make_problem("inpaint", image * known[:, :, None], mask=known, reference=image)
    session = Session(problem, holdout_preset(tiny_preset), device="cpu")
    session.prepare()
    assert not holes_are_scattered(known > 0.5) and float(session.holdout.hidden.sum()) > 200
    assert session.holdout.probe is None and session.validation_values() == 0
    restoration, _ = restored()
    assert holes_are_scattered(restoration.mask > 0.5)


def test_preparing_a_run_fills_once_per_method_and_once_more_with_the_chosen_one(tiny_preset, scratched, monkeypatch):
    """The fill the holdout judges is the one its choice made: a texture fill of a 512 px photo takes
    seconds, and the first preview waits for them."""
    problem, _ = scratched
    calls: list[str] = []

    def counted(name, fill):
        return lambda image, known: calls.append(name) or fill(image, known)

    counting = {name: counted(name, fill) for name, fill in hole_fills.FILL_METHODS.items()}
    monkeypatch.setattr(hole_fills, "FILL_METHODS", counting)
    monkeypatch.setattr(warm_start_module, "FILL_METHODS", counting)
    session = Session(problem, holdout_preset(tiny_preset), device="cpu")
    session.prepare()
    made = list(calls)
    choice = run_fill_choice("fill", problem.observed_pixels(), problem.mask, session.seed)
    assert sorted(made) == sorted([*counting, choice.method])
    np.testing.assert_allclose(to_numpy(session.holdout.fill_unseen), choice.fill_unseen, atol=1e-6)
