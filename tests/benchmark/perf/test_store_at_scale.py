"""The stored-embeddings benchmark, at a size a test can afford."""

from __future__ import annotations

from benchmark.perf import store_at_scale


def test_a_store_written_in_parts_loads_whole_and_in_order(tmp_path):
    store_at_scale.write_store(tmp_path, 700)  # three parts, the last one short
    run = store_at_scale.load_run(str(tmp_path), 700)  # checks rows against their parts
    assert (run["parts"], run["ok"], run["lacking"]) == (3, 700, 0)
    assert run["result_gb"] == 700 * store_at_scale.DIM * 2 / 2**30


def test_the_report_compares_two_sizes(tmp_path):
    load, memory = store_at_scale.measure(tmp_path, sizes=(1000, 3000))
    assert load.baseline_name == "1k ids" and load.value > 0 and "12 parts" in load.note
    assert "3000 of 3000 loaded ok, 0 missing" in load.note
    assert memory.unit == "GB" and memory.value > memory.baseline
    assert not any(tmp_path.glob("store-*"))  # the stores are removed once measured
