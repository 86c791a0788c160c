"""Parameters cells: constant values and expressions are read, anything else is refused with a clear error."""

import nbformat
import pytest

from paperlab.collection.notebooks import notebook_parameters, parse_value


def notebook(source):
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["parameters"]})
    return nbformat.v4.new_notebook(cells=[cell])


def test_reads_literals_and_constant_arithmetic():
    values = notebook_parameters(
        notebook('profile = "ci"\nseed = 0\ndevice = "auto"\neps = 2.0**-12\nsizes = [1, 2 * 3]')
    )
    assert values == {"profile": "ci", "seed": 0, "device": "auto", "eps": 2.0**-12, "sizes": [1, 6]}


@pytest.mark.parametrize(
    "source, match",
    [
        ('profile = "ci"\nseed = 0\ndevice = "auto"\nn = len("abc")', "constant expressions"),
        ('profile = "ci"\nseed = 0\nimport os', "simple assignments"),
        ('profile = "ci"\nseed = 0', "must define device"),
    ],
)
def test_refuses_code_and_missing_names(source, match):
    with pytest.raises(ValueError, match=match):
        notebook_parameters(notebook(source))


def test_no_parameters_cell_is_an_error():
    with pytest.raises(ValueError, match="exactly one code cell tagged 'parameters'"):
        notebook_parameters(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]))


def test_parse_value():
    assert parse_value("3") == 3 and parse_value("[1, 2]") == [1, 2] and parse_value("abc") == "abc"
