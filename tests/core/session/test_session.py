import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from dip_gui.core.classical.warm_start import warm_start
from dip_gui.core.errors import DivergenceError, InvalidParameterError, MaskError
from dip_gui.core.metrics import psnr
from dip_gui.core.networks.padded_canvas import Canvas
from dip_gui.core.problem.degradations import add_gaussian_noise, random_known_mask
from dip_gui.core.problem.tasks import make_problem, to_tensor
from dip_gui.core.session.session import Session
from dip_gui.core.stopping.divergence import LOSS_FLOOR


def run(session: Session, iterations: int):
    return [session.step() for _ in range(iterations)]


def test_canvas_pad_and_crop_round_trip_odd_size():
    canvas = Canvas.around((37, 61), 8, min_cells=2)
    assert (canvas.height, canvas.width) == (40, 64)
    image = torch.rand(1, 3, 37, 61)
    padded = canvas.pad(image)
    assert padded.shape == (1, 3, 40, 64)
    torch.testing.assert_close(canvas.crop(padded), image)


def test_canvas_pads_tiny_images_past_one_reflection():
    canvas = Canvas.around((2, 3), 8, min_cells=2)
    padded = canvas.pad(torch.rand(1, 3, 2, 3))
    assert padded.shape == (1, 3, 16, 16)


@pytest.mark.parametrize("size", [(37, 61), (5, 3), (1, 40)])
def test_session_returns_every_pixel_for_odd_sizes(tiny_preset, size, smooth_image):
    image = smooth_image(*size)
    session = Session(make_problem("denoise", image), tiny_preset, device="cpu")
    session.step()
    assert session.result().shape == (*size, 3)


def test_session_lowers_the_loss(tiny_preset, image32):
    session = Session(make_problem("denoise", image32), replace(tiny_preset, reg_noise_std=0.0), device="cpu")
    losses = [r.loss for r in run(session, 40)]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:3])


def test_small_denoise_gains_several_db(tiny_preset, smooth_image):
    clean = smooth_image(48, 48, seed=2)
    noisy = add_gaussian_noise(clean, 25, seed=0)
    preset = replace(tiny_preset, iterations=150, lr=0.02, ema=0.95)
    session = Session(make_problem("denoise", noisy, reference=clean), preset, device="cpu")
    results = run(session, 150)
    assert results[-1].psnr == pytest.approx(psnr(session.result(), clean), abs=0.05)
    assert psnr(session.result(), clean) > psnr(noisy, clean) + 4.0


def test_warm_start_begins_at_the_base_and_stays_far_above_the_noise(tiny_preset, smooth_image):
    """The residual starts at the blur and moves away from it slowly. (How far it drifts in 60
    iterations on this tiny photo depends on the CPU's arithmetic: 0.2-0.5 dB down has been seen.)"""
    clean = smooth_image(48, 48, seed=4)
    noisy = add_gaussian_noise(clean, 25, seed=1)
    preset = replace(tiny_preset, input_kind="base", base="blur", base_sigma=1.0, residual=True, iterations=60, ema=0.9)
    session = Session(make_problem("denoise", noisy, reference=clean), preset, device="cpu")
    assert session.z.shape[1] == 3  # the blurred photo is the network input
    first = session.step()
    noisy_psnr = psnr(noisy, clean)
    assert first.psnr > noisy_psnr + 3.0  # the first result is already the classical estimate
    assert first.psnr == pytest.approx(psnr(warm_start(session.problem, "blur", 1.0), clean), abs=0.05)
    assert min(step.psnr for step in run(session, 59)) > noisy_psnr + 3.0
    assert psnr(session.result(), clean) > first.psnr - 1.0


def test_the_start_waits_for_prepare_and_is_not_counted_as_an_iteration(tiny_preset, monkeypatch, smooth_image):
    """Building a session is quick; the classical start (seconds on a large photo) is made by
    prepare() or the first step, outside the iteration clock, and only once."""
    import dip_gui.core.session.session as session_module

    calls = []
    real = session_module.warm_start

    def slow_start(*args, **kwargs):
        calls.append(1)
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(session_module, "warm_start", slow_start)
    preset = replace(tiny_preset, input_kind="base", base="blur", base_sigma=1.0, residual=True)
    session = Session(make_problem("denoise", smooth_image(32, 32)), preset, device="cpu")
    assert not calls and not session.prepared
    first = session.step()
    assert calls == [1] and session.prepared and first.seconds < 0.4
    session.prepare()
    session.step()
    assert calls == [1]


def test_a_session_saved_before_its_first_step_resumes_with_the_same_input(tiny_preset, image32):
    made = Session(make_problem("denoise", image32), tiny_preset, device="cpu", seed=3)
    state = made.state_dict()  # not prepared: no input saved
    assert state["z"] is None
    resumed = Session(make_problem("denoise", image32), tiny_preset, device="cpu", seed=3)
    resumed.load_state_dict(state)
    torch.testing.assert_close(resumed.z, Session(make_problem("denoise", image32), tiny_preset, device="cpu", seed=3).z)


def test_the_average_can_start_at_the_classical_fill_and_forgets_it(tiny_preset, smooth_image):
    """Noise-input inpainting starts from grey; seeded, the first result is the Telea fill and the
    network's output takes over at the averaging weight's pace."""

    clean = smooth_image(32, 32, seed=6)
    known = np.ones((32, 32), np.float32)
    known[10:14, 4:28] = 0  # a scratch
    problem = make_problem("restore", clean * known[:, :, None], mask=known, reference=clean)
    preset = replace(tiny_preset, task="restore", base="fill", base_sigma=0.0, average_from_base=True, ema=0.9)
    session = Session(problem, preset, device="cpu")
    fill = warm_start(problem, "fill", 0.0)
    np.testing.assert_allclose(session.result(), fill, atol=1e-6)  # before any step: the classical fill
    unseeded = Session(problem, replace(preset, average_from_base=False), device="cpu")
    first, plain_first = session.step(), unseeded.step()
    assert first.psnr > plain_first.psnr + 3.0  # the fill, not the untrained network's grey
    outputs = [session.last_output]
    for _ in range(29):
        session.step()
        outputs.append(session.last_output)
    expected = torch.from_numpy(fill).permute(2, 0, 1)[None] * 0.9 ** 30
    for n, output in enumerate(outputs):
        expected = expected + 0.1 * 0.9 ** (29 - n) * output
    torch.testing.assert_close(session.average.value, expected, atol=1e-5, rtol=1e-4)


def test_a_resumed_seeded_session_keeps_its_average(tiny_preset, image32):
    known = np.ones((32, 32), np.float32)
    known[8:12, 8:20] = 0
    problem = make_problem("restore", image32 * known[:, :, None], mask=known)
    preset = replace(tiny_preset, task="restore", base="fill", base_sigma=0.0, average_from_base=True)
    session = Session(problem, preset, device="cpu")
    run(session, 3)
    resumed = Session(problem, preset, device="cpu")
    resumed.load_state_dict(session.state_dict())
    resumed.prepare()
    torch.testing.assert_close(resumed.average.value, session.average.value)


def test_seeding_the_average_needs_a_start_and_averaging(tiny_preset):
    with pytest.raises(InvalidParameterError, match="warm start"):
        replace(tiny_preset, average_from_base=True).validate()
    with pytest.raises(InvalidParameterError, match="averaging"):
        replace(tiny_preset, base="fill", average_from_base=True, ema=None).validate()


def test_back_projected_upscale_explains_the_observation_better_than_bicubic(smooth_image):
    import cv2


    low = smooth_image(12, 16, seed=5)
    problem = make_problem("sr", low, scale=4)
    base = warm_start(problem, "upsample", 0.0)
    bicubic = cv2.resize(low, (64, 48), interpolation=cv2.INTER_CUBIC)

    def residual(image):
        with torch.no_grad():
            return float(((problem.operator(to_tensor(image)) - to_tensor(low)) ** 2).mean())

    assert base.shape == (48, 64, 3)
    assert residual(base) < 0.5 * residual(bicubic)


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_super_resolution_output_is_exactly_k_times_larger(tiny_preset, scale, smooth_image):
    low = smooth_image(9, 13)
    problem = make_problem("sr", low, scale=scale)
    session = Session(problem, replace(tiny_preset, task="sr"), device="cpu")
    session.step()
    assert session.result().shape == (9 * scale, 13 * scale, 3)


def test_inpainting_keeps_known_pixels_unless_asked_for_the_network_output(tiny_preset, image32):
    known = random_known_mask(image32.shape[:2], 0.3, seed=0)
    observed = image32 * known[:, :, None]
    session = Session(make_problem("inpaint", observed, mask=known), replace(tiny_preset, task="inpaint"), device="cpu")
    run(session, 3)
    result = session.result()
    on_known = known.astype(bool)
    np.testing.assert_array_equal(result[on_known], np.clip(observed, 0, 1)[on_known])
    session.problem.keep_known = False  # what `run --raw-output` asks for
    network_output = session.result()
    assert np.abs(network_output[on_known] - observed[on_known]).max() > 1e-3


def test_same_seed_same_output_and_other_seed_differs(tiny_preset, image32):
    def final(seed):
        session = Session(make_problem("denoise", image32), tiny_preset, seed=seed, device="cpu")
        run(session, 5)
        return session.result()

    np.testing.assert_array_equal(final(7), final(7))
    assert np.abs(final(7) - final(8)).max() > 1e-4


def test_grey_photo_uses_one_output_channel(tiny_preset, image32):
    grey = np.repeat(image32.mean(axis=2, keepdims=True), 3, axis=2)
    session = Session(make_problem("denoise", grey, grey=True), tiny_preset, device="cpu")
    session.step()
    assert session.net.head[-1].out_channels == 1
    result = session.result()
    assert result.shape == (32, 32, 3) and np.array_equal(result[..., 0], result[..., 2])


def test_flash_uses_the_guide_as_input(tiny_preset, image32):
    flash = np.ascontiguousarray(image32[::-1])
    preset = replace(tiny_preset, task="flash", input_kind="image", reg_noise_std=0.0)
    session = Session(make_problem("flash", image32, guide=flash), preset, device="cpu")
    torch.testing.assert_close(session.canvas.crop(session.z), to_tensor(flash))


def test_nan_loss_backtracks_to_a_real_copy_and_lowers_the_lr(tiny_preset, image32, monkeypatch):
    session = Session(make_problem("denoise", image32), tiny_preset, device="cpu")
    run(session, 60)  # the guard saved a copy at iteration 50
    saved = {k: v.clone() for k, v in session.guard._good[0].items()}
    with torch.no_grad():  # corrupt the live weights in place: a view would corrupt the copy too
        for p in session.net.parameters():
            p.fill_(float("nan"))
    lr_before = session.current_lr()
    result = session.step()
    assert result.backtracked
    assert session.current_lr() == pytest.approx(lr_before * 0.5, rel=0.05)
    for key, value in session.net.state_dict().items():
        torch.testing.assert_close(value, saved[key])
    assert np.isfinite(session.result()).all()


def test_repeated_divergence_stops_with_a_message(tiny_preset, image32):
    session = Session(make_problem("denoise", image32), tiny_preset, device="cpu")
    run(session, 51)
    with pytest.raises(DivergenceError, match="diverged"):
        for _ in range(10):
            with torch.no_grad():
                for p in session.net.parameters():
                    p.fill_(float("inf"))
            session.step()


def test_problem_checks(image32):
    with pytest.raises(MaskError, match="needs a mask"):
        make_problem("inpaint", image32)
    with pytest.raises(MaskError, match="no pixel to fill"):
        make_problem("inpaint", image32, mask=np.ones((32, 32), np.float32))
    with pytest.raises(MaskError, match="whole photo"):
        make_problem("inpaint", image32, mask=np.zeros((32, 32), np.float32))
    with pytest.raises(MaskError, match="32x32"):
        make_problem("inpaint", image32, mask=np.ones((30, 32), np.float32))
    with pytest.raises(InvalidParameterError, match="flash photo"):
        make_problem("flash", image32, guide=np.zeros((10, 10, 3), np.float32))
    with pytest.raises(InvalidParameterError, match="scale"):
        make_problem("sr", image32, scale=3)


def test_preset_validation(tiny_preset, image32):
    for bad in (dict(iterations=0), dict(lr=-1.0), dict(ema=1.5), dict(reg_noise_std=-0.1)):
        with pytest.raises(InvalidParameterError):
            Session(make_problem("denoise", image32), replace(tiny_preset, **bad), device="cpu")


@pytest.mark.slow
@pytest.mark.parametrize("task", ["sr", "restore", "denoise", "jpeg"])
def test_fast_presets_run_long_without_false_divergence(task, smooth_image):
    """Warm starts begin with a tiny loss: the run goes on through Adam's wiggles at that level (the
    guard's floor, tests/core/stopping/test_divergence.py) and ends fitted. A real spike (denoise on
    this clean photo can jump from 2e-4 to 0.02, depending on the CPU's last bits) is backtracked."""
    from dip_gui.core.problem.presets import get_preset

    clean = smooth_image(32, 32, seed=6)
    kwargs = {"scale": 2} if task == "sr" else {}
    observed = clean[::2, ::2] if task == "sr" else clean
    if task == "restore":
        kwargs["mask"] = random_known_mask((32, 32), 0.5, seed=1)
        observed = clean * kwargs["mask"][:, :, None]
    session = Session(make_problem(task, observed, **kwargs), get_preset(task).with_overrides(iterations=150), device="cpu")
    steps = [session.step() for _ in range(150)]  # a DivergenceError would end it
    assert steps[-1].loss < LOSS_FLOOR / 10  # fitted to 40 dB: not left at a spike


def test_small_holes_optimise_a_region_and_paste_it_back(tiny_preset, smooth_image):
    from dip_gui.core.problem.tasks import hole_region

    photo = smooth_image(600, 500, seed=3)
    known = np.ones((600, 500), np.float32)
    known[300:310, 240:260] = 0.0  # a small scratch
    problem = make_problem("inpaint", photo * known[:, :, None], mask=known, reference=photo)
    top, left, height, width = problem.region
    assert height * width < 0.5 * 600 * 500 and problem.out_size == (height, width)
    assert top <= 300 - 160 and left <= 240 - 160 and top + height >= 310 + 160
    session = Session(problem, replace(tiny_preset, task="inpaint"), device="cpu")
    run(session, 2)
    result = session.result()
    assert result.shape == (600, 500, 3)
    outside = known.astype(bool)
    np.testing.assert_array_equal(result[outside], photo[outside])  # seamless: only the holes change
    assert hole_region(np.zeros((50, 50), np.float32) + (np.arange(50) > 5)[None, :]) is None  # big holes: whole photo


def test_noise_estimate_and_the_blur_it_chooses(smooth_image):
    from dip_gui.core.classical.warm_start import adapted_blur_sigma, estimate_noise_sigma

    clean = smooth_image(128, 128)
    for sigma in (15, 25, 50):
        estimate = estimate_noise_sigma(add_gaussian_noise(clean, sigma, seed=2))
        assert abs(estimate - sigma) < 0.2 * sigma, (sigma, estimate)
    assert adapted_blur_sigma(add_gaussian_noise(clean, 25, seed=2), 1.0) == 1.0  # as before up to sigma 30
    heavy = adapted_blur_sigma(add_gaussian_noise(clean, 50, seed=2), 1.0)
    assert 1.2 < heavy < 1.6
    assert adapted_blur_sigma(clean[:1, :1], 1.0) == 1.0  # too small to tell: the preset's blur


def test_an_adaptive_blur_start_is_stronger_on_a_very_noisy_photo(smooth_image):
    from dip_gui.core.problem.presets import get_preset

    clean = smooth_image(64, 64)
    noisy = add_gaussian_noise(clean, 50, seed=2)
    preset = get_preset("denoise", "fast").with_overrides(base="blur", base_sigma=1.0, adapt_blur=True)
    adapted = Session(make_problem("denoise", noisy, reference=clean), preset, device="cpu")
    fixed = Session(make_problem("denoise", noisy, reference=clean), replace(preset, adapt_blur=False), device="cpu")
    assert psnr(adapted.base, adapted.reference) > psnr(fixed.base, fixed.reference) + 0.5


def test_adam_is_fused_on_the_cpu_and_updates_as_the_per_tensor_one():
    from dip_gui.core.runtime.device import make_adam

    torch.manual_seed(0)
    ours = [torch.randn(5, 3, requires_grad=True), torch.randn(7, requires_grad=True)]
    plain = [p.detach().clone().requires_grad_(True) for p in ours]
    fused, loop = make_adam(ours, 0.01, torch.device("cpu")), torch.optim.Adam(plain, lr=0.01, foreach=False)
    assert fused.defaults["fused"]  # PyTorch >= 2.4 has the CPU kernel
    for step in range(5):
        for a, b in zip(ours, plain):
            a.grad = torch.full_like(a, 0.1 * step) + a.detach()
            b.grad = a.grad.clone()
        fused.step()
        loop.step()
    for a, b in zip(ours, plain):
        assert torch.allclose(a, b, atol=1e-6)


def test_cost_estimate_grows_with_the_photo_and_separates_the_fixed_cost():
    """Time and memory grow with the pixels, memory beside a fixed part (the figures themselves are
    checked against `bench`, by hand: docs/performance.md)."""
    from dip_gui.core.estimate.cost import estimate_cost
    from dip_gui.core.estimate.memory import count_memory
    from dip_gui.core.problem.presets import get_preset

    preset = get_preset("denoise", "fast")
    small, large = estimate_cost(preset, (128, 128), device="cpu"), estimate_cost(preset, (512, 512), device="cpu")
    assert large.seconds_per_iteration > small.seconds_per_iteration
    assert large.memory_bytes > 3 * small.memory_bytes
    assert large.canvas == (512, 512)
    counts = [count_memory(preset, size, 3, torch.device("cpu")) for size in ((128, 128), (512, 512))]
    assert counts[1].saved > 14 * counts[0].saved
    assert counts[1].session_images == 16 * counts[0].session_images


def test_cost_estimate_fits_two_probes_for_every_network(monkeypatch):
    """Small and wide networks alike get a fixed + per-pixel fit through the 64 and 128 px probes
    (the paper networks' one probe scaled by the pixels read them 1.5x too slow). Probe times here:
    0.05 s fixed + 5e-6 s per pixel."""
    import dip_gui.core.estimate.cost as estimate
    from dip_gui.core.estimate.memory import count_memory
    from dip_gui.core.problem.presets import get_preset

    probed = []

    def fake_probe(net, z, device):
        probed.append(z.shape[-1])
        return 0.05 + 5e-6 * z.shape[-1] * z.shape[-2]

    monkeypatch.setattr(estimate, "_probe_seconds", fake_probe)
    for name in ("balanced", "paper"):
        probed.clear()
        cost = estimate.estimate_cost(get_preset("denoise", name), (512, 512), device="cpu", host_memory="fast")
        assert probed == [64, 128]
        assert cost.seconds_per_iteration == pytest.approx(0.05 + 5e-6 * 128 * 128 * 16**1.05, rel=1e-6)
    paper = cost
    # giving freed memory back costs page faults the probes do not see: a time per byte saved
    faulting = estimate.estimate_cost(get_preset("denoise", "paper"), (512, 512), device="cpu", host_memory="lean")
    saved = count_memory(get_preset("denoise", "paper"), (512, 512), 3, torch.device("cpu"), lean=True).saved
    assert faulting.seconds_per_iteration == pytest.approx(
        paper.seconds_per_iteration + estimate.PAGE_FAULT_SECONDS_PER_BYTE * saved, rel=1e-6)
