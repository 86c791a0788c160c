"""Mesh measures: weights, supports, SW against POT on the same directions, the translation closed form."""

import ot
import pytest
import torch

from paperlab.data import face_areas, icosphere
from paperlab.distances import MeshMeasure, mesh_measure, mesh_sliced_wasserstein, random_projections

f64 = torch.float64


def test_the_three_encodings():
    mesh = icosphere(2, dtype=f64)
    vertices = mesh_measure(mesh.vertices, mesh.faces, "vertices")
    assert vertices.support is mesh.vertices and vertices.weights.sum().item() == pytest.approx(1.0)
    surface = mesh_measure(mesh.vertices, mesh.faces, "surface", n_samples=300, seed=0)
    assert surface.support.shape == (300, 3)
    radii = surface.support.norm(dim=1)  # on the flat faces, inside the sphere and above the chord depth
    assert radii.max().item() <= 1 + 1e-12 and radii.min().item() > 0.95
    varifold = mesh_measure(mesh.vertices, mesh.faces, "varifold")
    areas = face_areas(mesh.vertices, mesh.faces)
    assert varifold.support.shape == (320, 6)
    torch.testing.assert_close(varifold.weights, areas / areas.sum())
    torch.testing.assert_close(varifold.support[:, 3:].norm(dim=1), torch.ones(320, dtype=f64))


@pytest.mark.parametrize("kind", ["vertices", "varifold"])
def test_sliced_wasserstein_matches_pot_on_the_same_directions(kind):
    mesh = icosphere(2, dtype=f64)
    stretched = mesh.vertices * torch.tensor([1.5, 1.0, 0.7], dtype=f64)
    source = mesh_measure(mesh.vertices, mesh.faces, kind)
    target = mesh_measure(stretched, mesh.faces, kind)
    d = source.support.shape[1]
    theta = random_projections(d, 40, seed=0, dtype=f64)
    ours = mesh_sliced_wasserstein(source, target, seed=None, n_projections=40)
    ours = torch.sqrt(
        torch.mean(
            torch.stack(
                [
                    mesh_sliced_wasserstein(
                        MeshMeasure(source.support @ theta[:, [l]], source.weights),
                        MeshMeasure(target.support @ theta[:, [l]], target.weights),
                        n_projections=1,
                    ).pow(2)
                    for l in range(40)
                ]
            )
        )
    )
    reference = ot.sliced_wasserstein_distance(
        source.support.numpy(), target.support.numpy(), source.weights.numpy(), target.weights.numpy(),
        projections=theta.numpy(),
    )  # fmt: skip
    assert ours.item() == pytest.approx(float(reference), rel=1e-9)


def test_translation_gives_the_projected_shift_exactly():
    mesh = icosphere(1, dtype=f64)
    shift = torch.tensor([0.3, -0.2, 0.5], dtype=f64)
    source = mesh_measure(mesh.vertices, mesh.faces, "vertices")
    target = mesh_measure(mesh.vertices + shift, mesh.faces, "vertices")
    theta = random_projections(3, 25, seed=1, dtype=f64)
    value = mesh_sliced_wasserstein(source, target, n_projections=25, seed=1)
    # W_2 of a translated 1-D measure is the projected shift: SW_2^2 = mean_l (theta_l . t)^2
    assert value.pow(2).item() == pytest.approx((shift @ theta).pow(2).mean().item(), rel=1e-10)
    assert mesh_sliced_wasserstein(source, source, seed=0).item() == pytest.approx(0.0, abs=1e-12)


def test_gradient_reaches_the_vertices():
    mesh = icosphere(1, dtype=f64)
    vertices = mesh.vertices.clone().requires_grad_(True)
    target = mesh_measure(1.2 * mesh.vertices, mesh.faces, "surface", 200, seed=0)
    for kind in ("vertices", "surface", "varifold"):
        other = target if kind == "surface" else mesh_measure(1.2 * mesh.vertices, mesh.faces, kind)
        loss = mesh_sliced_wasserstein(mesh_measure(vertices, mesh.faces, kind, 200, seed=1), other, seed=2)
        (grad,) = torch.autograd.grad(loss, vertices)
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0
        # growing the sphere towards the target lowers the loss: the gradient points inwards on average
        assert (grad * mesh.vertices).sum() < 0


def test_bad_inputs():
    mesh = icosphere(1)
    with pytest.raises(ValueError, match="kind must be one of"):
        mesh_measure(mesh.vertices, mesh.faces, "points")
    with pytest.raises(ValueError, match="n_samples must be > 0"):
        mesh_measure(mesh.vertices, mesh.faces, "surface", n_samples=0)
    with pytest.raises(TypeError, match="source must be a MeshMeasure"):
        mesh_sliced_wasserstein(mesh.vertices, mesh_measure(mesh.vertices, mesh.faces, "vertices"))
    with pytest.raises(ValueError, match="same feature dimension"):
        mesh_sliced_wasserstein(
            mesh_measure(mesh.vertices, mesh.faces, "vertices"),
            mesh_measure(mesh.vertices, mesh.faces, "varifold"),
        )
