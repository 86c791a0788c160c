"""The Laplace-Beltrami operator of a triangle mesh: cotangent stiffness, lumped mass and its eigenpairs.

$$(L f)_i = \\sum_{j \\sim i} \\frac{\\cot\\alpha_{ij} + \\cot\\beta_{ij}}{2} (f_i - f_j), \\qquad
  M = \\mathrm{diag}(\\text{barycentric vertex areas}),$$

with alpha_ij, beta_ij the angles opposite the edge ij. The generalized problem L phi = lambda M phi gives the
Laplace-Beltrami eigenfunctions (M-orthonormal) that functional maps use as a basis; on the unit sphere the
eigenvalues tend to l(l + 1) with multiplicity 2l + 1. Used by "Integrating Efficient Optimal Transport and
Functional Maps For Unsupervised Shape Correspondence Learning" (2024).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch

from paperlab._checks import check_positive
from paperlab.data.mesh_geometry import check_mesh, vertex_areas


def cotangent_laplacian(vertices, faces) -> scipy.sparse.csr_matrix:
    """The (V, V) cotangent stiffness matrix L (symmetric, positive semi-definite, rows summing to 0)."""
    check_mesh(vertices, faces)
    V = vertices.detach().cpu().double().numpy()
    F = faces.cpu().numpy()
    rows, cols, weights = [], [], []
    for corner in range(3):  # the angle at `corner` is opposite the edge (i, j)
        i, j, k = F[:, (corner + 1) % 3], F[:, (corner + 2) % 3], F[:, corner]
        e1, e2 = V[i] - V[k], V[j] - V[k]  # (F, 3) edges leaving the corner
        cross = np.linalg.norm(np.cross(e1, e2), axis=1)
        cot = (e1 * e2).sum(axis=1) / np.maximum(cross, np.finfo(np.float64).tiny)
        rows += [i, j]
        cols += [j, i]
        weights += [cot / 2, cot / 2]
    n = V.shape[0]
    W = scipy.sparse.coo_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), (n, n)
    )
    W = W.tocsr()  # duplicates (the two faces of an edge) are summed
    return (scipy.sparse.diags(np.asarray(W.sum(axis=1)).ravel()) - W).tocsr()


@dataclass
class LBEigenpairs:
    """``eigenvalues`` (k,) ascending, ``eigenvectors`` (V, k) M-orthonormal, ``mass`` (V,) lumped areas."""

    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor
    mass: torch.Tensor


def laplace_beltrami_eigenpairs(vertices, faces, k: int = 30) -> LBEigenpairs:
    """The first k eigenpairs of L phi = lambda M phi (SciPy's shift-invert Lanczos, ``eigsh``).

    Args:
        vertices: (V, 3), faces: (F, 3) int64 of a connected mesh. k: number of eigenpairs, 1 <= k < V.
    Returns:
        :class:`LBEigenpairs` in the dtype and on the device of ``vertices``; the first eigenvector is
        constant (eigenvalue 0 up to rounding), and each eigenvector's sign is fixed so that its largest
        entry in absolute value is positive.
    """
    check_mesh(vertices, faces)
    check_positive("k", k, integer=True)
    if k >= vertices.shape[0]:
        raise ValueError(f"k must be smaller than the number of vertices {vertices.shape[0]}, got {k}")
    L = cotangent_laplacian(vertices, faces)
    mass = vertex_areas(vertices.detach().double().cpu(), faces.cpu()).numpy()
    M = scipy.sparse.diags(mass)
    v0 = np.ones(L.shape[0])  # a fixed start vector keeps the result deterministic
    values, vectors = scipy.sparse.linalg.eigsh(L, k=k, M=M, sigma=-1e-8, which="LM", v0=v0)
    order = np.argsort(values)
    values, vectors = values[order], vectors[:, order]
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(k)])
    vectors = vectors * signs
    like = {"dtype": vertices.dtype, "device": vertices.device}
    return LBEigenpairs(
        eigenvalues=torch.from_numpy(np.clip(values, 0, None)).to(**like),
        eigenvectors=torch.from_numpy(vectors).to(**like),
        mass=torch.from_numpy(mass).to(**like),
    )
