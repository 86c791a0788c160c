"""SAID: theta = theta_0 + lambda_layer * P z; equals the plain subspace model at lambda = 1, gradients, counts."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from paperlab.models import StructureAwareSubspaceModel, SubspaceModel


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()  # 16 + 10 = 26 parameters


def _x():
    return torch.randn(5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def test_trainable_count_is_intrinsic_dim_and_start_is_the_module():
    net = _net()
    expected = net(_x())
    model = StructureAwareSubspaceModel(net, intrinsic_dim=10, projection="dense", seed=0)
    trainable = {name: p.numel() for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"z": 10 - 4, "layer_scales": 4}
    assert model.intrinsic_dim == 10
    assert torch.equal(model(_x()), expected)


@settings(max_examples=25, deadline=None)
@given(projection=st.sampled_from(["dense", "sparse", "fastfood"]), seed=st.integers(0, 999))
def test_theta_matches_the_formula_and_plain_subspace_at_unit_scales(projection, seed):
    said = StructureAwareSubspaceModel(_net(), intrinsic_dim=9, projection=projection, seed=seed)
    plain = SubspaceModel(_net(), intrinsic_dim=5, projection=projection, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        said.z.copy_(torch.randn(5, generator=generator, dtype=torch.float64))
        plain.z.copy_(said.z)
    torch.testing.assert_close(said.theta(), plain.theta())
    scales = torch.randn(4, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        said.layer_scales.copy_(scales)
    P = said.projection.matrix()  # (26, 5)
    sizes = [12, 4, 8, 2]  # weight and bias of each layer
    expanded = torch.cat([scales[i].repeat(size) for i, size in enumerate(sizes)])
    torch.testing.assert_close(said.theta(), said.theta_0 + expanded * (P @ said.z))


def test_gradients_reach_z_and_the_scales_as_the_chain_rule_says():
    said = StructureAwareSubspaceModel(_net(), intrinsic_dim=8, projection="dense", seed=0)
    with torch.no_grad():
        said.z.copy_(torch.linspace(-1, 1, 4, dtype=torch.float64))
        said.layer_scales.copy_(torch.tensor([0.5, 2.0, -1.0, 1.5], dtype=torch.float64))
    loss = said(_x()).pow(2).sum()
    grad_z, grad_scales = torch.autograd.grad(loss, [said.z, said.layer_scales])
    theta = said.theta().detach().requires_grad_(True)
    dense_net = _net()
    pieces = torch.split(theta, [12, 4, 8, 2])
    shapes = [p.shape for p in dense_net.parameters()]
    params = {
        n: piece.view(shape) for (n, _), piece, shape in zip(dense_net.named_parameters(), pieces, shapes)
    }
    grad_theta = torch.autograd.grad(
        torch.func.functional_call(dense_net, params, (_x(),)).pow(2).sum(), theta
    )[0]
    P, z = said.projection.matrix(), said.z.detach()
    scale_per_entry = said.layer_scales.detach()[said.layer_index]
    torch.testing.assert_close(grad_z, P.T @ (scale_per_entry * grad_theta))
    expected_scales = torch.zeros(4, dtype=torch.float64).index_add_(
        0, said.layer_index, (P @ z) * grad_theta
    )
    torch.testing.assert_close(grad_scales, expected_scales)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="intrinsic_dim must exceed"):
        StructureAwareSubspaceModel(_net(), intrinsic_dim=4)
    with pytest.raises(TypeError, match="module"):
        StructureAwareSubspaceModel("net", intrinsic_dim=10)
    with pytest.raises(ValueError, match="projection"):
        StructureAwareSubspaceModel(_net(), intrinsic_dim=10, projection="gaussian")
    with pytest.raises(ValueError, match="intrinsic_dim must be <="):
        StructureAwareSubspaceModel(_net(), intrinsic_dim=31)


def test_group_by_shares_one_scale_per_layer():
    said = StructureAwareSubspaceModel(
        _net(), intrinsic_dim=7, projection="dense", seed=0, group_by=lambda n: n.split(".")[0]
    )
    assert said.layer_names == ["0", "2"] and said.layer_scales.shape == (2,) and said.z.shape == (5,)
    assert said.layer_index.tolist() == [0] * 16 + [1] * 10
    with torch.no_grad():
        said.z.normal_(generator=torch.Generator().manual_seed(0))
        said.layer_scales.copy_(torch.tensor([2.0, -0.5], dtype=torch.float64))
    P = said.projection.matrix()
    expected = said.theta_0 + torch.tensor([2.0] * 16 + [-0.5] * 10, dtype=torch.float64) * (P @ said.z)
    torch.testing.assert_close(said.theta(), expected)
    with pytest.raises(TypeError, match="group_by"):
        StructureAwareSubspaceModel(_net(), intrinsic_dim=7, group_by="layer")
