"""`make catalog`: the generated indexes list every paper with its status and link the done ones."""

from paperlab.collection.catalog import Catalog, Paper
from paperlab.collection.index import collection_index, topic_index, write_indexes


def small_catalog(folder):
    (folder / "optimal_transport").mkdir(parents=True)
    return Catalog(
        [
            Paper(
                "sw",
                "Sliced",
                "2023",
                ["000"],
                "optimal_transport",
                "reproduce",
                "r",
                "done",
                "optimal_transport/sw.ipynb",
                "variance drops",
            ),
            Paper("later", "Later", "2024", ["000"], "optimal_transport", "reproduce", "r", "planned"),
            Paper("away", "Away", "2022", ["001"], "graphs", "out-of-scope", "r", "out-of-scope"),
        ],
        folder,
    )


def test_indexes_count_link_and_list(tmp_path):
    catalog = small_catalog(tmp_path)
    text = collection_index(catalog)
    assert "3 papers: 1 planned, 1 done, 1 out-of-scope." in text
    assert "[sw](optimal_transport/sw.ipynb)" in text and "| Later | 2024 | planned | later |" in text
    topic = topic_index(catalog, "optimal_transport")
    assert "[sw](sw.ipynb)" in topic and "variance drops" in topic and "Away" not in topic
    written = write_indexes(catalog)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "README.md",
        "optimal_transport/README.md",
    ]
