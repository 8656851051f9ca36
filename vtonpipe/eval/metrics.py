"""Metric maths on numpy arrays: FID and KID from features (clean-fid), SSIM (torchmetrics).

Conventions followed, so numbers compare with published try-on tables:

- ``frechet_distance``: clean-fid's ``frechet_distance`` (scipy ``sqrtm`` of sigma1 @ sigma2,
  eps * I added to both covariances only when the product is singular, imaginary part dropped).
- ``feature_statistics``: mean and unbiased (N-1) covariance, as ``np.cov(rowvar=False)``.
- ``kernel_distance``: clean-fid's KID, the unbiased MMD^2 with the cubic polynomial kernel
  k(x, y) = (x.y / d + 1)^3, averaged over ``num_subsets`` random subsets of min(n1, n2, 1000)
  rows. Summaries report it x 1000, as papers do, with the std over the subsets (ddof 0, as
  torchmetrics and torch-fidelity report it; clean-fid reports the mean only).
- ``ssim``: torchmetrics >= 1.5 ``structural_similarity_index_measure`` with its defaults:
  Gaussian window 11 (sigma 1.5), K1 0.01, K2 0.03, reflect padding so the SSIM map keeps the
  image size, mean over channels and pixels; ``data_range`` 1 for [0, 1] images.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg
from scipy.ndimage import correlate1d

SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def feature_statistics(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, unbiased covariance) of an (N, D) feature matrix, in float64."""
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] < 2:
        raise ValueError(f"need an (N, D) feature matrix with N >= 2, got shape {feats.shape}")
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():
        # Fewer samples than dimensions make the product singular; scipy warns, the check below acts.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            # Regularise as clean-fid does when the square root is not finite.
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def kernel_distance_subsets(
    feats1: np.ndarray,
    feats2: np.ndarray,
    num_subsets: int = 100,
    max_subset_size: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Unbiased MMD^2 (cubic polynomial kernel) of each of `num_subsets` random subset draws.

    Each draw takes min(n1, n2, `max_subset_size`) rows of both sets without replacement; `seed`
    makes the draws reproducible. When both sets hold at most `max_subset_size` rows and the same
    count, every subset is the whole set and the values do not depend on it.
    """
    feats1 = np.asarray(feats1, dtype=np.float64)
    feats2 = np.asarray(feats2, dtype=np.float64)
    d = feats1.shape[1]
    m = min(feats1.shape[0], feats2.shape[0], max_subset_size)
    if m < 2:
        raise ValueError(f"KID needs at least 2 features per set, got {feats1.shape[0]} and {feats2.shape[0]}")
    rng = np.random.default_rng(seed)
    values = np.empty(num_subsets)
    for i in range(num_subsets):
        x = feats2[rng.choice(feats2.shape[0], m, replace=False)]
        y = feats1[rng.choice(feats1.shape[0], m, replace=False)]
        k_xx = (x @ x.T / d + 1.0) ** 3
        k_yy = (y @ y.T / d + 1.0) ** 3
        k_xy = (x @ y.T / d + 1.0) ** 3
        # Unbiased estimate: within-set sums exclude the diagonal.
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        values[i] = within - 2.0 * k_xy.sum() / (m * m)
    return values


def kernel_distance_stats(
    feats1: np.ndarray,
    feats2: np.ndarray,
    num_subsets: int = 100,
    max_subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """KID and its spread: (mean, std) of `kernel_distance_subsets`.

    The mean is summed in draw order and divided by `num_subsets`, as clean-fid does; the std
    is the population std (ddof 0), as torchmetrics and torch-fidelity report it.
    """
    values = kernel_distance_subsets(feats1, feats2, num_subsets, max_subset_size, seed)
    return float(sum(values.tolist()) / num_subsets), float(np.std(values))


def kernel_distance(
    feats1: np.ndarray,
    feats2: np.ndarray,
    num_subsets: int = 100,
    max_subset_size: int = 1000,
    seed: int = 0,
) -> float:
    """KID: the mean unbiased MMD^2 over random subsets (clean-fid's ``kernel_distance``)."""
    return kernel_distance_stats(feats1, feats2, num_subsets, max_subset_size, seed)[0]


def _gaussian_window(sigma: float) -> np.ndarray:
    # torchmetrics derives the size from sigma: int(3.5 * sigma + 0.5) * 2 + 1 = 11 for 1.5.
    size = int(3.5 * sigma + 0.5) * 2 + 1
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def ssim_map(img1: np.ndarray, img2: np.ndarray, data_range: float = 1.0, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Per-pixel SSIM of two HxW or HxWxC float images (same size as the inputs)."""
    a = np.asarray(img1, dtype=np.float64)
    b = np.asarray(img2, dtype=np.float64)
    if a.shape != b.shape or a.ndim not in (2, 3):
        raise ValueError(f"ssim needs two HxW or HxWxC images of one shape, got {a.shape} and {b.shape}")
    window = _gaussian_window(sigma)
    if min(a.shape[:2]) <= len(window) // 2:
        raise ValueError(f"images of {a.shape[:2]} are too small for an {len(window)}-pixel window")

    def blur(x: np.ndarray) -> np.ndarray:
        # scipy's "mirror" mode is torch's "reflect" padding (edge pixel not repeated).
        return correlate1d(correlate1d(x, window, axis=0, mode="mirror"), window, axis=1, mode="mirror")

    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = np.maximum(blur(a * a) - mu_a**2, 0.0)
    var_b = np.maximum(blur(b * b) - mu_b**2, 0.0)
    cov = blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def ssim(img1: np.ndarray, img2: np.ndarray, data_range: float = 1.0) -> float:
    """Mean SSIM of two images in [0, data_range] (HxW or HxWxC, channels last)."""
    return float(ssim_map(img1, img2, data_range).mean())
