"""Functional maps: correspondences as small matrices between Laplace-Beltrami bases, with their regularizers.

A map from shape A to shape B transports functions: in the first k eigenfunctions Phi_A, Phi_B it is a k x k
matrix C_AB. Given descriptor (feature) functions F_A (V_A, c), F_B (V_B, c), with spectral coefficients
A = Phi_A^T M_A F_A and B = Phi_B^T M_B F_B, the regularized least-squares map is

$$C_{AB} = \\arg\\min_C \\lVert C A - B\\rVert_F^2 + \\lambda \\lVert C \\Lambda_A - \\Lambda_B C\\rVert_F^2,$$

solved row by row in closed form (differentiable in the features). Unsupervised training penalizes the
structure a near-isometric map must have: orthogonality (C^T C = I), bijectivity (C_AB C_BA = I) and
commutativity with the Laplacians. The point-to-point map is read off by nearest neighbours between the
aligned spectral embeddings. From "Integrating Efficient Optimal Transport and Functional Maps For
Unsupervised Shape Correspondence Learning" (2024).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_positive, check_tensor


def spectral_coefficients(features, eigenvectors, mass) -> torch.Tensor:
    """(k, c) coefficients Phi^T M F of features (V, c) in the M-orthonormal basis eigenvectors (V, k)."""
    check_tensor("features", features, dim=2, floating=True)
    check_tensor("eigenvectors", eigenvectors, dim=2, floating=True)
    check_tensor("mass", mass, dim=1, floating=True)
    if not features.shape[0] == eigenvectors.shape[0] == mass.shape[0]:
        raise ValueError(
            f"features, eigenvectors and mass must have the same number of vertices, got "
            f"{features.shape[0]}, {eigenvectors.shape[0]} and {mass.shape[0]}"
        )
    return eigenvectors.T @ (mass.unsqueeze(1) * features)  # (k, c)


def functional_map(
    coefficients_a, coefficients_b, eigenvalues_a, eigenvalues_b, lam: float = 1e-3
) -> torch.Tensor:
    """The (k, k) map C_AB minimizing ||C A - B||^2 + lam ||C Lambda_A - Lambda_B C||^2 (see the module).

    Row i solves (A A^T + lam diag((lambda^A - lambda^B_i)^2)) c_i = A b_i. Eigenvalues are divided by the
    largest of both shapes so that ``lam`` does not depend on the shapes' scale.

    Args:
        coefficients_a, coefficients_b: (k, c) spectral coefficients of the same c features on A and B.
        eigenvalues_a, eigenvalues_b: (k,) Laplace-Beltrami eigenvalues. lam: Laplacian-commutativity weight.
    """
    for name, x in (("coefficients_a", coefficients_a), ("coefficients_b", coefficients_b)):
        check_tensor(name, x, dim=2, floating=True)
    if coefficients_a.shape != coefficients_b.shape:
        raise ValueError(
            f"coefficients_a and coefficients_b must have the same shape, got {tuple(coefficients_a.shape)} "
            f"and {tuple(coefficients_b.shape)}"
        )
    k = coefficients_a.shape[0]
    for name, x in (("eigenvalues_a", eigenvalues_a), ("eigenvalues_b", eigenvalues_b)):
        check_tensor(name, x, dim=1, floating=True)
        if x.shape[0] != k:
            raise ValueError(f"{name} must have {k} entries, got {x.shape[0]}")
    check_positive("lam", lam, allow_zero=True)
    scale = torch.maximum(eigenvalues_a.max(), eigenvalues_b.max()).clamp_min(
        torch.finfo(eigenvalues_a.dtype).tiny
    )
    mu_a, mu_b = eigenvalues_a / scale, eigenvalues_b / scale
    gram = coefficients_a @ coefficients_a.T  # (k, k)
    penalty = (mu_a.unsqueeze(0) - mu_b.unsqueeze(1)).pow(2)  # (k rows of C, k columns): (mu^A_j - mu^B_i)^2
    systems = gram.unsqueeze(0) + lam * torch.diag_embed(penalty)  # (k, k, k): one system per row of C
    right = (coefficients_a @ coefficients_b.T).T.unsqueeze(-1)  # (k, k, 1): A b_i for each row i
    return torch.linalg.solve(systems, right).squeeze(-1)  # (k, k), row i = c_i


@dataclass
class FMapPenalties:
    """The unsupervised functional-map penalties (squared Frobenius norms), each a scalar tensor."""

    orthogonality: torch.Tensor
    bijectivity: torch.Tensor
    laplacian: torch.Tensor


def fmap_penalties(C_ab, C_ba, eigenvalues_a, eigenvalues_b) -> FMapPenalties:
    """||C_AB^T C_AB - I||^2 + ||C_BA^T C_BA - I||^2, ||C_AB C_BA - I||^2 + ||C_BA C_AB - I||^2, and
    ||C_AB Lambda_A - Lambda_B C_AB||^2 + ||C_BA Lambda_B - Lambda_A C_BA||^2 (eigenvalues scaled to max 1)."""
    check_tensor("C_ab", C_ab, dim=2, floating=True)
    check_tensor("C_ba", C_ba, dim=2, floating=True)
    k = C_ab.shape[0]
    if C_ab.shape != (k, k) or C_ba.shape != (k, k):
        raise ValueError(
            f"C_ab and C_ba must be square of the same size, got {tuple(C_ab.shape)} and {tuple(C_ba.shape)}"
        )
    identity = torch.eye(k, dtype=C_ab.dtype, device=C_ab.device)
    scale = torch.maximum(eigenvalues_a.max(), eigenvalues_b.max()).clamp_min(torch.finfo(C_ab.dtype).tiny)
    mu_a, mu_b = eigenvalues_a / scale, eigenvalues_b / scale
    square = lambda x: x.pow(2).sum()  # noqa: E731
    return FMapPenalties(
        orthogonality=square(C_ab.T @ C_ab - identity) + square(C_ba.T @ C_ba - identity),
        bijectivity=square(C_ab @ C_ba - identity) + square(C_ba @ C_ab - identity),
        laplacian=square(C_ab * mu_a.unsqueeze(0) - mu_b.unsqueeze(1) * C_ab)
        + square(C_ba * mu_b.unsqueeze(0) - mu_a.unsqueeze(1) * C_ba),
    )


def fmap_to_pointwise(C_ab, eigenvectors_a, eigenvectors_b) -> torch.Tensor:
    """(V_B,) index into A for each vertex of B: argmin_i ||Phi_A[i] C_AB^T - Phi_B[j]|| (nearest neighbours)."""
    check_tensor("C_ab", C_ab, dim=2, floating=True)
    check_tensor("eigenvectors_a", eigenvectors_a, dim=2, floating=True)
    check_tensor("eigenvectors_b", eigenvectors_b, dim=2, floating=True)
    k = C_ab.shape[0]
    if eigenvectors_a.shape[1] != k or eigenvectors_b.shape[1] != k:
        raise ValueError(
            f"eigenvectors must have {k} columns, got {eigenvectors_a.shape[1]} and {eigenvectors_b.shape[1]}"
        )
    with torch.no_grad():
        aligned = eigenvectors_a @ C_ab.T  # (V_A, k): A's spectral embedding carried to B's basis
        return torch.cdist(eigenvectors_b, aligned).argmin(dim=1)
