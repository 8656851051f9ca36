"""FID, KID and SSIM maths against independent computations and closed forms."""

import numpy as np
import pytest

from vtonpipe.eval.metrics import feature_statistics, frechet_distance, kernel_distance, kernel_distance_stats, ssim


def _spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def _fid_by_eigh(mu1, s1, mu2, s2):
    # Independent route: Tr sqrt(S1 S2) = Tr sqrt(S1^1/2 S2 S1^1/2), a symmetric PSD matrix.
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root1 @ s2 @ root1)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.sum(np.sqrt(np.clip(inner, 0, None))))


def test_fid_closed_form_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)  # 5 + 1 + 1 + 4
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, abs=1e-10)
    assert expected == pytest.approx(11.0)


def test_fid_general_covariances_match_eigh_route():
    rng = np.random.default_rng(1)
    for d in (2, 8, 32):
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        s1, s2 = _spd(rng, d), _spd(rng, d)
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(_fid_by_eigh(mu1, s1, mu2, s2), rel=1e-8)


def test_fid_from_gaussian_features_converges_to_closed_form():
    rng = np.random.default_rng(2)
    d = 4
    mu1, mu2 = np.zeros(d), np.full(d, 0.5)
    s1, s2 = _spd(rng, d), _spd(rng, d)
    f1 = rng.multivariate_normal(mu1, s1, size=40000)
    f2 = rng.multivariate_normal(mu2, s2, size=40000)
    sample = frechet_distance(*feature_statistics(f1), *feature_statistics(f2))
    exact = _fid_by_eigh(mu1, s1, mu2, s2)
    assert sample == pytest.approx(exact, rel=0.05, abs=0.02)
    # The statistics are the unbiased ones clean-fid uses.
    mu, sigma = feature_statistics(f1)
    np.testing.assert_allclose(sigma, np.cov(f1, rowvar=False))
    np.testing.assert_allclose(mu, f1.mean(0))


def test_fid_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(3)
    feats = rng.normal(size=(300, 16)) * rng.uniform(0.5, 2, size=16)
    mu, sigma = feature_statistics(feats)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-8
    # Fewer samples than dimensions (singular covariance), the common small-set case.
    few = rng.normal(size=(10, 64))
    mu, sigma = feature_statistics(few)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-4


def _mmd2_unbiased(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1.0) ** 3  # noqa: E731
    m = x.shape[0]
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    off = ~np.eye(m, dtype=bool)
    return kxx[off].mean() + kyy[off].mean() - 2 * kxy.mean()


def test_kid_matches_direct_mmd_when_subsets_are_whole_sets():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(50, 12))
    y = rng.normal(loc=0.3, size=(50, 12))
    # m = n: every subset is a permutation of the whole set, so KID equals the full-set MMD^2.
    assert kernel_distance(x, y, num_subsets=3) == pytest.approx(_mmd2_unbiased(y, x), rel=1e-10)


def test_kid_subsets_average_direct_mmd_of_the_same_draws():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(40, 6)), rng.normal(size=(30, 6))
    draw = np.random.default_rng(7)
    expected = np.mean(
        [
            _mmd2_unbiased(y[draw.choice(30, 10, replace=False)], x[draw.choice(40, 10, replace=False)])
            for _ in range(20)
        ]
    )
    assert kernel_distance(x, y, num_subsets=20, max_subset_size=10, seed=7) == pytest.approx(expected, rel=1e-10)


def test_kid_std_is_the_spread_of_the_subset_values_and_the_mean_is_unchanged():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(40, 6)), rng.normal(size=(30, 6))
    draw = np.random.default_rng(7)
    values = [
        _mmd2_unbiased(y[draw.choice(30, 10, replace=False)], x[draw.choice(40, 10, replace=False)]) for _ in range(20)
    ]
    mean, std = kernel_distance_stats(x, y, num_subsets=20, max_subset_size=10, seed=7)
    assert mean == kernel_distance(x, y, num_subsets=20, max_subset_size=10, seed=7)
    assert mean == -0.2320737832883979  # the value before the std was added, bit for bit
    assert std == pytest.approx(np.std(values), rel=1e-9) and std > 0  # ddof 0, as torchmetrics
    # Subsets that are the whole sets agree up to rounding.
    assert kernel_distance_stats(x[:30], y, num_subsets=5)[1] < 1e-12


def test_kid_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    c = rng.normal(loc=1.0, size=(400, 8))
    same, diff = kernel_distance(a, b, num_subsets=10), kernel_distance(a, c, num_subsets=10)
    assert abs(same) < 0.05 * diff
    assert diff > 0


def _ssim_direct(a, b, data_range=1.0):
    # Per-pixel loop: reflect-pad by 5, 11x11 Gaussian (sigma 1.5) window, then the SSIM formula.
    g = np.exp(-0.5 * ((np.arange(11) - 5) / 1.5) ** 2)
    w = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    pa = np.pad(a, ((5, 5), (5, 5)), mode="reflect")
    pb = np.pad(b, ((5, 5), (5, 5)), mode="reflect")
    out = np.zeros(a.shape)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            x, y = pa[i : i + 11, j : j + 11], pb[i : i + 11, j : j + 11]
            mx, my = (w * x).sum(), (w * y).sum()
            vx, vy = max((w * x * x).sum() - mx**2, 0), max((w * y * y).sum() - my**2, 0)
            cxy = (w * x * y).sum() - mx * my
            out[i, j] = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return out.mean()


def test_ssim_matches_direct_implementation_on_known_images():
    yy, xx = np.mgrid[0:24, 0:20] / 24.0
    ramp = (xx + yy) / 2
    checker = ((np.indices((24, 20)).sum(0) // 3) % 2).astype(float)
    rng = np.random.default_rng(8)
    noisy = np.clip(ramp + rng.normal(0, 0.1, ramp.shape), 0, 1)
    for a, b in ((ramp, noisy), (ramp, checker), (checker, 1 - checker)):
        assert ssim(a, b) == pytest.approx(_ssim_direct(a, b), rel=1e-10, abs=1e-12)
    # Colour images: channels are independent, the mean runs over them too.
    rgb_a, rgb_b = np.stack([ramp, checker, noisy], -1), np.stack([noisy, ramp, checker], -1)
    expected = np.mean([_ssim_direct(rgb_a[..., c], rgb_b[..., c]) for c in range(3)])
    assert ssim(rgb_a, rgb_b) == pytest.approx(expected, rel=1e-10)


def test_ssim_known_values():
    rng = np.random.default_rng(9)
    img = rng.uniform(size=(32, 32, 3))
    assert ssim(img, img) == pytest.approx(1.0)
    # Two flat images: no variance, SSIM is the luminance term (2ab + C1) / (a^2 + b^2 + C1).
    a, b, c1 = 0.2, 0.6, 0.01**2
    assert ssim(np.full((16, 16), a), np.full((16, 16), b)) == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1))
    with pytest.raises(ValueError):
        ssim(np.zeros((16, 16)), np.zeros((16, 17)))
