import pytest
import torch

from paperlab.losses import linear_cross_entropy
from paperlab.models import TinyCausalLM


def make_model(**kwargs):
    torch.manual_seed(0)
    return TinyCausalLM(vocab_size=15, max_len=12, **kwargs).eval()


def test_shapes_and_parameter_count():
    model = make_model()
    ids = torch.randint(0, 15, (3, 9))
    assert model(ids).shape == (3, 9, 15)
    n_params = sum(p.numel() for p in model.parameters())
    assert 80_000 <= n_params <= 120_000


def test_output_at_t_does_not_depend_on_later_tokens():
    model = make_model()
    ids = torch.randint(0, 15, (2, 10), generator=torch.Generator().manual_seed(1))
    changed = ids.clone()
    changed[:, 6:] = (changed[:, 6:] + 1) % 15
    before, after = model(ids), model(changed)
    torch.testing.assert_close(before[:, :6], after[:, :6])
    assert not torch.allclose(before[:, 6:], after[:, 6:])  # later positions do see the change


def test_output_depends_on_earlier_tokens():
    model = make_model()
    ids = torch.zeros(1, 5, dtype=torch.long)
    changed = ids.clone()
    changed[0, 0] = 3
    assert not torch.allclose(model(ids)[:, -1], model(changed)[:, -1])


def test_float64_and_gradients():
    model = make_model().double()
    logits = model(torch.randint(0, 15, (2, 4)))
    assert logits.dtype == torch.float64
    logits.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_greedy_decoding_appends_argmax_tokens():
    model = make_model()
    prompt = torch.randint(0, 15, (4, 3), generator=torch.Generator().manual_seed(2))
    out = model.generate_greedy(prompt, 3)
    assert out.shape == (4, 6) and torch.equal(out[:, :3], prompt)
    # each new token is the arg-max of the model's logits on the sequence so far
    for t in range(3, 6):
        assert torch.equal(out[:, t], model(out[:, :t])[:, -1].argmax(dim=1))
    allowed = torch.tensor([2, 5, 7])
    restricted = model.generate_greedy(prompt, 3, allowed=allowed)
    assert torch.isin(restricted[:, 3:], allowed).all()
    for t in range(3, 6):
        expected = allowed[model(restricted[:, :t])[:, -1, allowed].argmax(dim=1)]
        assert torch.equal(restricted[:, t], expected)


@pytest.mark.parametrize(
    "ids, error",
    [
        (torch.zeros(2, 13, dtype=torch.long), ValueError),  # longer than max_len
        (torch.full((2, 3), 15), ValueError),  # out of the vocabulary
        (torch.zeros(2, 3), ValueError),  # float ids
        (torch.zeros(3, dtype=torch.long), ValueError),  # 1-D
        ([[0, 1]], TypeError),
    ],
)
def test_bad_ids_raise(ids, error):
    with pytest.raises(error, match="ids"):
        make_model()(ids)


def test_bad_construction_and_generation_raise():
    with pytest.raises(ValueError, match="n_heads"):
        TinyCausalLM(10, d_model=64, n_heads=5)
    with pytest.raises(ValueError, match="vocab_size"):
        TinyCausalLM(0)
    with pytest.raises(ValueError, match="max_len"):
        make_model().generate_greedy(torch.zeros(1, 10, dtype=torch.long), 5)
    with pytest.raises(ValueError, match="allowed"):
        make_model().generate_greedy(torch.zeros(1, 3, dtype=torch.long), 2, allowed=torch.tensor([3, 15]))
    with pytest.raises(ValueError, match="allowed"):
        make_model().generate_greedy(torch.zeros(1, 3, dtype=torch.long), 2, allowed=torch.tensor([1.0]))


def test_hidden_states_feed_the_linear_cross_entropy_like_the_logits():
    torch.manual_seed(0)
    model = TinyCausalLM(vocab_size=50, max_len=8).double()
    ids = torch.randint(0, 50, (3, 8))
    targets = torch.randint(0, 50, (3, 8))
    states = model.hidden_states(ids)  # (3, 8, 64)
    torch.testing.assert_close(model.head(states), model(ids))
    dense = torch.nn.functional.cross_entropy(model(ids).flatten(0, 1), targets.flatten())
    chunked = linear_cross_entropy(states, model.head.weight, targets, model.head.bias, chunk_size=16)
    torch.testing.assert_close(chunked, dense)
