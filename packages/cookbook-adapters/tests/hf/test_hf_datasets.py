"""The HF dataset store on local files, `save_to_disk` folders and a hand-built hub cache, offline."""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pytest
from cookbook_adapters.hf import HFDatasetStore, HFRows
from cookbook_runtime.errors import CookbookError, StorageError
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports import create_adapter, shuffled_order
from cookbook_runtime.testing import DATASET_STORE_CHECKS
from hf_cache import add_repo

Splits = dict[str, list[dict[str, Any]]]


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _rows(n: int, tag: str = "") -> list[dict[str, Any]]:
    return [{"id": i, "text": f"{tag}row {i}", "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(n)]


def _layout_jsonl_folder(root: Path, splits: Splits) -> str:
    for split, rows in splits.items():
        (root / f"{split}.jsonl").write_bytes(_jsonl(rows))
    return str(root)


def _layout_parquet_folder(root: Path, splits: Splits) -> str:
    (root / "data").mkdir()
    for split, rows in splits.items():
        datasets.Dataset.from_list(rows).to_parquet(str(root / "data" / f"{split}-00000-of-00001.parquet"))
    return str(root)


def _layout_saved(root: Path, splits: Splits) -> str:
    datasets.DatasetDict({s: datasets.Dataset.from_list(r) for s, r in splits.items()}).save_to_disk(str(root / "saved"))
    return str(root / "saved")


def _layout_hub_cache(root: Path, splits: Splits) -> str:
    files = {f"data/{split}.jsonl": _jsonl(rows) for split, rows in splits.items()}
    add_repo(root / "hub", "contract-org/contract-data", files, repo_type="dataset")
    return "contract-org/contract-data"


LAYOUTS: dict[str, Callable[[Path, Splits], str]] = {
    "jsonl-folder": _layout_jsonl_folder,
    "parquet-folder": _layout_parquet_folder,
    "save-to-disk": _layout_saved,
    "hub-cache": _layout_hub_cache,
}


def _store(tmp_path: Path) -> HFDatasetStore:
    return HFDatasetStore(cache_dir=str(tmp_path / "ds-cache"), hub_cache=str(tmp_path / "hub"))


def _contract_cases() -> list[Any]:
    """Every check on every layout, map-style and streamed.

    Streamed views have no length (the port lets them raise TypeError), so that
    check is left out for them. A streamed Parquet shuffle costs 5 s per pass
    (`datasets` waits for pyarrow's threads to stop), so that case runs as slow.
    """
    cases = []
    for check in DATASET_STORE_CHECKS.values():
        for layout in LAYOUTS:
            for streaming in (False, True):
                if streaming and check.__name__ == "dataset_len":
                    continue
                slow = streaming and layout == "parquet-folder" and "shuffle" in check.__name__
                cases.append(
                    pytest.param(
                        check,
                        layout,
                        streaming,
                        id=f"{check.__name__}-{layout}-{'streaming' if streaming else 'mapped'}",
                        marks=[pytest.mark.slow] if slow else [],
                    )
                )
    return cases


@pytest.mark.parametrize(("check", "layout", "streaming"), _contract_cases())
async def test_dataset_contract(check: Any, layout: str, streaming: bool, tmp_path: Path) -> None:
    counter = iter(range(100))

    def factory(splits: Splits) -> tuple[HFDatasetStore, DatasetRef]:
        root = tmp_path / f"d{next(counter)}"
        root.mkdir()
        name = LAYOUTS[layout](root, splits)
        store = HFDatasetStore(cache_dir=str(root / "ds-cache"), hub_cache=str(root / "hub"))
        return store, DatasetRef(name=name, streaming=streaming)

    await check(factory)


def test_streamed_view_has_no_length(tmp_path: Path) -> None:
    name = _layout_jsonl_folder(tmp_path, {"train": _rows(3)})
    rows = _store(tmp_path).open(DatasetRef(name=name, streaming=True))
    with pytest.raises(TypeError):
        len(rows)


@pytest.mark.parametrize("fmt", ["jsonl", "json", "parquet", "csv", "arrow"])
def test_single_local_file_of_each_format(fmt: str, tmp_path: Path) -> None:
    rows = [{"id": i, "text": f"t{i}"} for i in range(5)]
    path = tmp_path / f"data.{fmt}"
    ds = datasets.Dataset.from_list(rows)
    if fmt in {"jsonl", "json"}:
        path.write_bytes(_jsonl(rows))
    elif fmt == "parquet":
        ds.to_parquet(str(path))
    elif fmt == "csv":
        ds.to_csv(str(path), index=False)
    else:
        table = pa.Table.from_pylist(rows)
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    store = _store(tmp_path)
    ref = DatasetRef(name=str(path))
    assert store.splits(ref) == ["train"]
    assert list(store.open(ref)) == rows


def test_explicit_format_overrides_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / "rows.txt"
    path.write_bytes(_jsonl(_rows(3)))
    got = list(_store(tmp_path).open(DatasetRef(name=str(path), format="jsonl")))
    assert [r["id"] for r in got] == [0, 1, 2]


def test_single_file_serves_the_split_the_ref_names(tmp_path: Path) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_bytes(_jsonl(_rows(2)))
    ref = DatasetRef(name=str(path), split="validation")
    assert _store(tmp_path).splits(ref) == ["validation"]
    assert len(_store(tmp_path).open(ref)) == 2


def _two_config_repo(tmp_path: Path) -> str:
    card = (
        "---\nconfigs:\n"
        "- config_name: small\n  data_files:\n  - split: train\n    path: small/train.jsonl\n"
        "- config_name: large\n  data_files:\n  - split: train\n    path: large/train.jsonl\n"
        "  - split: test\n    path: large/test.jsonl\n"
        "---\n"
    )
    files = {
        "README.md": card.encode(),
        "small/train.jsonl": _jsonl(_rows(2, "small ")),
        "large/train.jsonl": _jsonl(_rows(6, "large ")),
        "large/test.jsonl": _jsonl(_rows(1, "large-test ")),
    }
    add_repo(tmp_path / "hub", "org/two-configs", files, repo_type="dataset")
    return "org/two-configs"


def test_hub_dataset_config_is_honoured(tmp_path: Path) -> None:
    name = _two_config_repo(tmp_path)
    store = _store(tmp_path)
    large = DatasetRef(name=name, config="large")
    assert sorted(store.splits(large)) == ["test", "train"]
    assert [r["text"] for r in store.open(large)] == [f"large row {i}" for i in range(6)]
    assert len(store.open(DatasetRef(name=name, config="small"))) == 2


def test_hub_dataset_revision_is_honoured(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    old = "1" * 40
    add_repo(hub, "org/revs", {"data/train.jsonl": _jsonl(_rows(2, "old "))}, repo_type="dataset", commit=old, ref=None)
    add_repo(hub, "org/revs", {"data/train.jsonl": _jsonl(_rows(3, "new "))}, repo_type="dataset", commit="2" * 40)
    store = _store(tmp_path)
    assert [r["text"] for r in store.open(DatasetRef(name="org/revs"))] == ["new row 0", "new row 1", "new row 2"]
    assert [r["text"] for r in store.open(DatasetRef(name="org/revs", revision=old))] == ["old row 0", "old row 1"]


def _one_line(exc: BaseException) -> str:
    assert "\n" not in str(exc), f"multi-line error: {exc}"
    return str(exc)


def test_unknown_hub_id_offline_is_one_line_naming_it(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as info:
        _store(tmp_path).open(DatasetRef(name="nobody/no-such-dataset"))
    text = _one_line(info.value)
    assert "'nobody/no-such-dataset'" in text and "offline" in text


def test_unknown_revision_offline_names_it(tmp_path: Path) -> None:
    add_repo(tmp_path / "hub", "org/d", {"data/train.jsonl": _jsonl(_rows(1))}, repo_type="dataset")
    with pytest.raises(StorageError) as info:
        _store(tmp_path).open(DatasetRef(name="org/d", revision="v9"))
    assert "'v9'" in _one_line(info.value)


def test_unreachable_hub_falls_back_to_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dead_endpoint: str
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", dead_endpoint)
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", dead_endpoint)
    add_repo(tmp_path / "hub", "org/cached", {"data/train.jsonl": _jsonl(_rows(2))}, repo_type="dataset")
    store = HFDatasetStore(cache_dir=str(tmp_path / "c"), hub_cache=str(tmp_path / "hub"), offline=False)
    assert len(store.open(DatasetRef(name="org/cached"))) == 2
    with pytest.raises(StorageError) as info:
        store.open(DatasetRef(name="org/uncached"))
    assert "'org/uncached'" in _one_line(info.value)


def test_missing_local_path_names_it(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does-not-exist.jsonl"):
        _store(tmp_path).open(DatasetRef(name=str(tmp_path / "does-not-exist.jsonl")))


def test_malformed_jsonl_is_a_cookbook_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1}\n{not json\n')
    with pytest.raises(CookbookError):
        list(_store(tmp_path).open(DatasetRef(name=str(path), streaming=True)))


def test_streamed_transforms_compose(tmp_path: Path) -> None:
    name = _layout_jsonl_folder(tmp_path, {"train": _rows(50)})
    rows = _store(tmp_path).open(DatasetRef(name=name, streaming=True))
    assert [r["id"] for r in rows.skip(10).take(3)] == [10, 11, 12]
    assert [r["id"] for r in rows.select([40, 2, 7]).take(2)] == [40, 2]
    shuffled = [r["id"] for r in rows.shuffle(3).take(50)]
    assert sorted(shuffled) == list(range(50)) and shuffled != list(range(50))


def test_mapped_transforms_compose_through_index_mappings(tmp_path: Path) -> None:
    name = _layout_jsonl_folder(tmp_path, {"train": _rows(50)})
    rows = _store(tmp_path).open(DatasetRef(name=name))
    order = list(shuffled_order(3, 50))
    shuffled = rows.shuffle(3)
    assert [r["id"] for r in shuffled.select([2, 0, 49])] == [order[2], order[0], order[49]]
    assert [r["id"] for r in shuffled.skip(45).shuffle(1)] == [order[45 + i] for i in shuffled_order(1, 5)]
    assert [r["id"] for r in rows.select(array("q", [7, 7, 1]))] == [7, 7, 1]
    assert [r["messages"] for r in rows.select([4])] == [_rows(50)[4]["messages"]]
    assert len(shuffled.take(10).select(range(3, 6))) == 3


@pytest.mark.parametrize("bad", [50, -1])
def test_selecting_past_the_end_is_an_index_error(bad: int, tmp_path: Path) -> None:
    name = _layout_jsonl_folder(tmp_path, {"train": _rows(50)})
    rows = _store(tmp_path).open(DatasetRef(name=name)).shuffle(0)
    with pytest.raises(IndexError, match=str(bad)):
        rows.select([0, bad])


def test_a_formatted_dataset_keeps_its_format_when_shuffled() -> None:
    rows = HFRows(datasets.Dataset.from_list(_rows(6)).with_format("numpy", columns=["id"]))
    got = list(rows.shuffle(2))
    assert [int(r["id"]) for r in got] == list(shuffled_order(2, 6))
    assert all(set(r) == {"id"} for r in got), got


def test_offline_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    store = HFDatasetStore(cache_dir=str(tmp_path / "c"), hub_cache=str(tmp_path / "hub"))
    with pytest.raises(StorageError, match="HF_HUB_OFFLINE"):
        store.splits(DatasetRef(name="org/nothing-here"))


def test_registry_builds_the_store(tmp_path: Path) -> None:
    store = create_adapter("hf", "datasets", {"cache_dir": str(tmp_path / "c")})
    name = _layout_jsonl_folder(tmp_path, {"train": _rows(4)})
    assert isinstance(store, HFDatasetStore)
    assert len(store.open(DatasetRef(name=name))) == 4


def test_packaged_dataset_names_resolve_to_their_folder(tmp_path: Path) -> None:
    from cookbook_runtime.ports import register_packaged_dataset

    (tmp_path / "pkg").mkdir()
    _layout_jsonl_folder(tmp_path / "pkg", {"train": _rows(3), "test": _rows(2)})
    register_packaged_dataset("hf_packaged", tmp_path / "pkg")
    store = _store(tmp_path)
    ref = DatasetRef(name="cookbook:hf_packaged", format="jsonl")
    assert [r["id"] for r in store.open(ref, "test")] == [0, 1]
