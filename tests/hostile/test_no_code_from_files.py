"""The promise "loading a file never runs code" (issue 20 §1), one test per reader: a checkpoint's model.npz and
extra.npz (no pickle: an object array is refused before anything of it is read), JSON (a config, meta.json, a
vocabulary), TOML, ``.ts`` and CSV files and a DataFrame's ``ds``. Each file carries a payload that would create
a marker file if anything evaluated it (a pickle whose ``__reduce__`` calls ``os.system``, Python source, shell
substitutions, spreadsheet formulas): the payload stays data or is refused in one line, and the marker never
appears."""

import io
import os
import zipfile

import numpy as np
import pytest

from gatedrnn.config import load_config_file
from gatedrnn.data.series import read_csv
from gatedrnn.data.uea import read_ts
from gatedrnn.data.vocab import FORMAT as VOCAB_FORMAT
from gatedrnn.data.vocab import Vocab
from gatedrnn.errors import UserError
from gatedrnn.models import SequenceRegressor
from gatedrnn.train.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint


@pytest.fixture()
def marker(tmp_path):
    path = tmp_path / "MARKER"
    yield path
    assert not path.exists(), "a file's content ran as code"


def payloads(marker) -> list[str]:
    """Texts that create ``marker`` if a shell, Python or a spreadsheet evaluated them."""
    return [f"__import__('os').system('touch {marker}')", f"$(touch {marker})", f"`touch {marker}`",
            f"=cmd|' /C touch {marker}'!A0", f"@SUM(1+1)*cmd|' /C touch {marker}'!A0",
            f"{{{{ open('{marker}', 'w') }}}}", f"!!python/object/apply:os.system ['touch {marker}']"]


class Payload:
    """Pickled, it calls ``os.system`` when unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture()
def checkpoint(tmp_path):
    return save_checkpoint(tmp_path / "ck", SequenceRegressor(2, 4, 1, seed=0), arrays={"slot": np.zeros(3)})


@pytest.mark.parametrize("member", ["model.npz", "extra.npz"])
def test_npz_with_a_pickled_object_is_refused_and_never_unpickled(checkpoint, marker, member):
    weights = dict(np.load(checkpoint / member))
    with open(checkpoint / member, "wb") as f:        # numpy writes an object array as a pickle
        np.savez(f, **weights, payload=np.array([Payload(marker), 1], dtype=object))
    for load in (read_checkpoint, load_checkpoint):
        with pytest.raises(UserError) as e:
            load(checkpoint)
        assert "object array" in str(e.value).lower() and "\n" not in str(e.value)
    import gatedrnn

    with pytest.raises(UserError):
        gatedrnn.load(checkpoint)


def test_npz_header_with_python_source_is_refused(checkpoint, marker):
    """numpy reads a .npy header with ``ast.literal_eval``: source in it is a syntax error, never evaluated."""
    header = f"{{'descr': __import__('os').system('touch {marker}'), 'fortran_order': False, 'shape': (1,), }}"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    member = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin-1") + b"\0" * 4
    with zipfile.ZipFile(checkpoint / "model.npz", "a") as z:
        z.writestr("payload.npy", member)
    with pytest.raises(UserError, match="corrupt or unreadable array file"):
        load_checkpoint(checkpoint)


def test_json_and_toml_text_stays_data(tmp_path, marker):
    for k, text in enumerate(payloads(marker)):
        j = tmp_path / f"c{k}.json"
        j.write_text('{"corpus": %s, "py/object": "os.system", "__class__": "subprocess.Popen"}' % _json(text))
        assert load_config_file(j)["corpus"] == text
        t = tmp_path / f"c{k}.toml"
        t.write_text(f"corpus = {_json(text)}\n")
        assert load_config_file(t) == {"corpus": text}
        v = tmp_path / f"v{k}.json"
        v.write_text('{"format": %s, "tokens": ["<unk>", %s], "level": "word", "unk": "<unk>"}'
                     % (_json(VOCAB_FORMAT), _json(text)))
        assert Vocab.load(v).tokens[1] == text


def test_meta_json_text_stays_data(checkpoint, marker):
    meta = checkpoint / "meta.json"
    text = payloads(marker)[0]
    meta.write_text(meta.read_text()[:-1] + ', "note": %s, "__reduce__": "os.system"}' % _json(text))
    assert read_checkpoint(checkpoint)[0]["note"] == text


def test_ts_labels_and_names_stay_data(tmp_path, marker):
    texts = payloads(marker)
    labels = [t.replace(" ", "_").replace(":", ";") for t in texts]      # a label is one token without ':'
    cases = "".join(f"1,2,3:{label}\n" for label in labels)
    p = tmp_path / "Toy_TRAIN.ts"
    p.write_text(f"# {texts[0]}\n@problemName {labels[1]}\n@univariate true\n@equalLength false\n"
                 f"@classLabel true {' '.join(labels)}\n@data\n{cases}")
    d = read_ts(p)
    assert list(d.y) == labels and d.name == labels[1] and d.classes == tuple(labels)
    p.write_text(f"@problemName Toy\n@univariate true\n@classLabel true a\n@data\n1,{texts[0]},2:a\n")
    with pytest.raises(UserError, match="expected comma-separated numbers"):
        read_ts(p)


def test_csv_cells_stay_data(tmp_path, marker):
    texts = [t.replace(",", ";") for t in payloads(marker)]
    p = tmp_path / "s.csv"
    p.write_text("note,value\n" + "".join(f"\"{t}\",{k}\n" for k, t in enumerate(texts * 2)))
    s = read_csv(p)
    assert s.values.tolist() == list(range(2 * len(texts))) and s.dates is None
    for t in texts:
        p.write_text(f"value\n1\n\"{t}\"\n3\n")
        with pytest.raises(UserError, match="expected a number on every row, got"):
            read_csv(p)
        p.write_text(f"when,value\n2020-01-01,1\n\"{t}\",2\n2020-01-03,3\n")
        with pytest.raises(UserError, match="expected a date in every cell of column 'when'"):
            read_csv(p, date_column="when")


def test_dataframe_ds_text_stays_data(marker):
    pd = pytest.importorskip("pandas")
    from gatedrnn.forecast.features import to_panel

    for text in payloads(marker):
        frame = pd.DataFrame({"unique_id": "a", "ds": ["2020-01-01", text, "2020-01-03"], "y": [1.0, 2.0, 3.0]})
        with pytest.raises(UserError, match="expected a date in every row of ds"):
            to_panel(frame)


def _json(text: str) -> str:
    import json

    return json.dumps(text)


def test_the_markers_are_real(tmp_path):
    """The payloads do run where code is run: the test above would see it."""
    marker = tmp_path / "MARKER"
    buf = io.BytesIO()
    np.save(buf, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    buf.seek(0)
    np.load(buf, allow_pickle=True)
    assert marker.exists()
