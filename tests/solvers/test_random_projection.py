"""Random projections: JL bound vs scikit-learn, exact distortion laws, entry distributions, bad inputs."""

import math

import pytest
import torch
from scipy import stats
from sklearn.random_projection import johnson_lindenstrauss_min_dim as sklearn_jl_min_dim

from paperlab.solvers import (
    gaussian_random_matrix,
    gaussian_random_projection,
    jl_failure_bound,
    johnson_lindenstrauss_min_dim,
    sparse_random_matrix,
    sparse_random_projection,
)

PROJECTIONS = {"gaussian": gaussian_random_projection, "sparse": sparse_random_projection}
DATA_SEED = 10**9  # data must not share a random stream with the matrices (seeds 0, 1, ...)


@pytest.mark.parametrize("n_samples", [1, 2, 10, 1000, 10**6])
@pytest.mark.parametrize("eps", [0.01, 0.1, 0.5, 0.99])
def test_jl_min_dim_matches_sklearn(n_samples, eps):
    assert johnson_lindenstrauss_min_dim(n_samples, eps) == int(sklearn_jl_min_dim(n_samples, eps=eps))


def test_failure_bound_is_two_over_n_squared_at_the_jl_dimension():
    n, eps = 500, 0.2
    exact_k = 4 * math.log(n) / (eps**2 / 2 - eps**3 / 3)
    assert jl_failure_bound(johnson_lindenstrauss_min_dim(n, eps), eps) >= 2 / n**2  # rounded down: weaker
    assert 2 * math.exp(-exact_k / 2 * (eps**2 / 2 - eps**3 / 3)) == pytest.approx(2 / n**2)


def _squared_norm_ratios(matrix_fn, u: torch.Tensor, n_draws: int) -> torch.Tensor:
    """||R u||^2 / ||u||^2 for n_draws independent matrices (seeds 0 .. n_draws - 1)."""
    ratios = [(matrix_fn(seed) @ u).square().sum() / u.square().sum() for seed in range(n_draws)]
    return torch.stack(ratios)


def test_gaussian_distortion_rate_matches_chi_square_law_and_bound():
    # ||R u||^2 / ||u||^2 = chi2_k / k exactly, so the rate of pairs outside (1 +- eps) is known
    k, dim, eps, draws = 25, 10, 0.3, 2000
    u = torch.randn(dim, generator=torch.Generator().manual_seed(DATA_SEED), dtype=torch.float64)
    ratios = _squared_norm_ratios(
        lambda s: gaussian_random_matrix(k, dim, seed=s, dtype=torch.float64), u, draws
    )
    rate = float(((ratios - 1).abs() > eps).double().mean())
    expected = stats.chi2.cdf(k * (1 - eps), k) + stats.chi2.sf(k * (1 + eps), k)
    assert rate == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / draws))
    assert rate <= jl_failure_bound(k, eps)


def test_sparse_squared_norm_has_the_very_sparse_mean_and_variance():
    # E||Ru||^2 = ||u||^2, Var = (2 ||u||^4 + (1/s - 3) sum u^4) / k; a Gaussian R would give 2 ||u||^4 / k
    k, dim, draws = 20, 100, 4000
    density = 1 / math.sqrt(dim)
    u = torch.zeros(dim, dtype=torch.float64)
    u[[3, 17, 50, 99]] = 0.5  # unit norm, sum u^4 = 1/4: the sparsity shows in the variance
    ratios = _squared_norm_ratios(
        lambda s: sparse_random_matrix(k, dim, seed=s, dtype=torch.float64), u, draws
    )
    variance = (2 + (1 / density - 3) * 0.25) / k
    assert float(ratios.mean()) == pytest.approx(1.0, abs=4 * math.sqrt(variance / draws))
    assert float(ratios.var()) == pytest.approx(variance, rel=0.15)


@pytest.mark.parametrize("name", sorted(PROJECTIONS))
def test_all_pairwise_distances_within_eps_at_the_jl_dimension(name):
    # The lemma's proof bounds each pair's failure by 2 / n^2, so over many seeds the failed pairs
    # must not exceed (pairs x seeds x 2 / n^2) and at least 1/n of the seeds must keep every pair.
    n, dim, eps, seeds = 20, 400, 0.5, 60
    k = johnson_lindenstrauss_min_dim(n, eps)
    X = torch.randn(n, dim, generator=torch.Generator().manual_seed(DATA_SEED), dtype=torch.float64)
    original = torch.pdist(X).square()
    failures = []
    for seed in range(seeds):
        projected = torch.pdist(PROJECTIONS[name](X, k, seed=seed)).square()
        failures.append(int(((projected / original - 1).abs() > eps).sum()))
    n_pairs = n * (n - 1) // 2
    assert sum(failures) <= seeds * n_pairs * jl_failure_bound(k, eps)
    assert sum(f == 0 for f in failures) >= seeds / n


def test_gaussian_entries_are_normal_with_variance_one_over_k():
    R = gaussian_random_matrix(50, 80, seed=3, dtype=torch.float64)
    assert R.shape == (50, 80)
    assert stats.kstest(R.flatten().numpy(), stats.norm(scale=1 / math.sqrt(50)).cdf).pvalue > 1e-3


@pytest.mark.parametrize("density", ["auto", 1 / 3, 1.0])
def test_sparse_entries_zero_fraction_values_and_signs(density):
    k, dim = 200, 400
    s = 1 / math.sqrt(dim) if density == "auto" else density
    R = sparse_random_matrix(k, dim, density=density, seed=4, dtype=torch.float64)
    assert R.is_sparse and R.shape == (k, dim)
    dense = R.to_dense()
    n_entries = k * dim
    zero_fraction = float((dense == 0).double().mean())
    assert zero_fraction == pytest.approx(1 - s, abs=5 * math.sqrt(s * (1 - s) / n_entries) + 1e-12)
    non_zero = dense[dense != 0]
    assert torch.allclose(non_zero.abs(), torch.full_like(non_zero, 1 / math.sqrt(s * k)))
    positives = float((non_zero > 0).double().mean())
    assert positives == pytest.approx(0.5, abs=5 * math.sqrt(0.25 / non_zero.numel()))


@pytest.mark.parametrize("name", sorted(PROJECTIONS))
def test_projection_is_x_times_the_seeded_matrix(name):
    X = torch.randn(30, 60, dtype=torch.float64)
    matrix_fn = gaussian_random_matrix if name == "gaussian" else sparse_random_matrix
    R = matrix_fn(12, 60, seed=5, dtype=torch.float64)
    R = R.to_dense() if R.is_sparse else R
    assert torch.allclose(PROJECTIONS[name](X, 12, seed=5), X @ R.T)


@pytest.mark.parametrize("name", sorted(PROJECTIONS))
def test_seeds_dtype_and_global_generator(name):
    X = torch.randn(10, 40)
    project = PROJECTIONS[name]
    assert project(X, 8, seed=0).dtype == torch.float32
    assert torch.equal(project(X, 8, seed=0), project(X, 8, seed=0))
    assert not torch.equal(project(X, 8, seed=0), project(X, 8, seed=1))
    torch.manual_seed(7)
    first = project(X, 8)
    torch.manual_seed(7)
    assert torch.equal(first, project(X, 8))


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: johnson_lindenstrauss_min_dim(0, 0.1), ValueError),
        (lambda: johnson_lindenstrauss_min_dim(10.0, 0.1), TypeError),
        (lambda: johnson_lindenstrauss_min_dim(10, 1.0), ValueError),
        (lambda: johnson_lindenstrauss_min_dim(10, 0.0), ValueError),
        (lambda: jl_failure_bound(0, 0.1), ValueError),
        (lambda: gaussian_random_matrix(0, 5), ValueError),
        (lambda: gaussian_random_matrix(3, 5, seed=-1), ValueError),
        (lambda: sparse_random_matrix(3, 5, density=0.0), ValueError),
        (lambda: sparse_random_matrix(3, 5, density=1.5), ValueError),
        (lambda: sparse_random_matrix(3, 5, density="sqrt"), TypeError),
        (lambda: gaussian_random_projection(torch.randn(5), 2), ValueError),
        (lambda: gaussian_random_projection(torch.ones(4, 5, dtype=torch.long), 2), TypeError),
        (lambda: sparse_random_projection(torch.full((4, 5), math.inf), 2), ValueError),
        (lambda: sparse_random_projection(torch.randn(4, 5), 2.5), TypeError),
    ],
)
def test_bad_inputs(call, error):
    with pytest.raises(error):
        call()
