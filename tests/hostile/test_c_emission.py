"""Issue 20 §1: nothing read from a checkpoint becomes code in the C export.

A class label or path that reaches generated C passes through ``deploy/c_text.py`` only: labels and the source path
become string literals with every unsafe byte escaped, comments hold only the generator's own words. The fuzz test
puts random text (random bytes included, as lone surrogates) into every string of a checkpoint's ``meta.json`` and
into its folder name: the export either refuses in one line and writes nothing, or writes C that compiles with
``-Werror`` and is, with its string literals replaced by a placeholder, identical to the C of the clean checkpoint.
``GATEDRNN_HOSTILE_SIZE`` scales the number of examples (each costs a compile; default 1 -> 20 examples per kind).
"""

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatedrnn.deploy.c99_run import find_cc
from gatedrnn.deploy.export import export_c_checkpoint
from gatedrnn.errors import UserError
from gatedrnn.models import SequenceRegressor
from gatedrnn.models.classifier import SequenceClassifier
from gatedrnn.train.checkpoint import save_checkpoint

MAX_LITERAL = 1024   # deploy.c_text.MAX_LITERAL (imported in the tests: the module is new)
SIZE = max(1, int(os.environ.get("GATEDRNN_HOSTILE_SIZE", "1")))
needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler (cc, gcc, clang or $CC)")
LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"')
NASTY = ["*/", "/*", "*/ int x; /*", "??/", "??=", "\\", '"', "\n#define x", "\x00", "%s%n", "\u202e", "\ud800",
         "\udcff", "\x1b[2J", "'", "\r\n", ""]


def _classifier(folder: Path, classes=("walk", "run", "rest")) -> Path:
    meta = {"classifier": {"classes": list(classes), "mean": [0.5, -1.0, 2.0], "std": [1.0, 2.0, 0.5]}}
    return save_checkpoint(folder, SequenceClassifier(3, 5, len(classes), seed=0), meta=meta)


def _regressor(folder: Path) -> Path:
    meta = {"training": {"cell": "lstm", "dataset": "sunspots", "column": None, "name": "value",
                         "inputs": ["level", "change"], "output": "next change"}}
    return save_checkpoint(folder, SequenceRegressor(2, 6, 1, seed=0), meta=meta)


def _normalised(folder: Path) -> str:
    return "\n".join(LITERAL.sub('"S"', (folder / name).read_text(encoding="utf-8")) for name in ("model.h", "model.c"))


def _strings(node, path=()):
    """The paths of every string leaf of a JSON value."""
    if isinstance(node, str):
        yield path
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, path + (i,))


def _set(node, path, value):
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _quiet(*_):
    pass


@needs_cc
def test_a_label_that_closes_the_comment_does_not_run(tmp_path):
    """The issue's exploit: a label ending the C comment and adding a constructor that runs a shell command when
    the export's own check loads the compiled library."""
    marker = tmp_path / "PWNED"
    payload = ('a */\n#ifndef PWN\n#define PWN\n#include <stdlib.h>\n__attribute__((constructor)) static void pwn(void) '
               f'{{ if (system("touch {marker}")) {{ }} }}\n#endif\n/* b')
    ck = _classifier(tmp_path / "ck", classes=("walk", payload, "rest"))
    try:
        export_c_checkpoint(ck, tmp_path / "c", echo=_quiet)
    except UserError:
        pass
    assert not marker.exists(), "a label in meta.json ran a shell command"
    text = (tmp_path / "c" / "model.c").read_text()
    assert "system(" not in text and "#include <stdlib.h>" not in text


def test_the_escaper_leaves_only_safe_bytes_and_refuses_long_literals():
    from gatedrnn.deploy.c_text import c_comment, c_string

    lit = c_string("*/ \"x\" ??/ \\ \n é \ud800")
    assert lit.startswith('"') and lit.endswith('"') and LITERAL.fullmatch(lit)
    inner = lit[1:-1]
    assert re.fullmatch(r"(?:[A-Za-z0-9 _\-.,:/+=@]|\\[0-7]{3})*", inner), inner
    assert "*" not in inner and "?" not in inner and '"' not in inner
    with pytest.raises(ValueError, match="at most"):
        c_string("x" * (MAX_LITERAL + 1))
    comment = c_comment("a */ b /* c ??/ d \\ \n e \u00e9")
    assert "*" not in comment and "/" not in comment and "?" not in comment and "\n" not in comment
    assert "\\" not in comment


@needs_cc
def test_labels_arrive_in_c_as_their_bytes(tmp_path):
    """The literals hold the labels' exact UTF-8 bytes: read back through the compiled library."""
    import ctypes

    from gatedrnn.deploy.c99_run import compile_c

    labels = ["walk", "*/ x /*", "r\u00e9st\n??/\"\\"]
    ck = _classifier(tmp_path / "ck", classes=labels)
    export_c_checkpoint(ck, tmp_path / "c", echo=_quiet)
    lib = ctypes.CDLL(str(compile_c([tmp_path / "c" / "model.c"], tmp_path / "libm.so")))
    names = (ctypes.c_char_p * 3).in_dll(lib, "model_class_names")
    assert [n.decode("utf-8") for n in names] == labels
    origin = ctypes.cast(ctypes.addressof(ctypes.c_char.in_dll(lib, "model_origin")), ctypes.c_char_p).value
    assert origin.decode() == str(ck)


def test_labels_too_long_or_of_the_wrong_count_are_one_line(tmp_path):
    ck = _classifier(tmp_path / "ck", classes=("a", "b" * (MAX_LITERAL + 1), "c"))
    with pytest.raises(UserError, match="C export labels: expected labels of at most"):
        export_c_checkpoint(ck, tmp_path / "c", echo=_quiet)
    meta = json.loads((ck / "meta.json").read_text())
    meta["classifier"]["classes"] = ["a", "b"]
    (ck / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match=r"classifier 'classes': expected a list of 3 labels"):
        export_c_checkpoint(ck, tmp_path / "c", echo=_quiet)
    assert not (tmp_path / "c").exists()


_TEXT = st.one_of(st.sampled_from(NASTY), st.text(max_size=40),
                  st.binary(max_size=40).map(lambda b: b.decode("utf-8", "surrogateescape")),
                  st.lists(st.sampled_from(NASTY), max_size=4).map("".join))
_NAME = st.binary(min_size=1, max_size=60).map(lambda b: b.replace(b"/", b"_").replace(b"\0", b"_")) \
    .filter(lambda b: b not in (b".", b".."))


@needs_cc
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_random_meta_strings_give_the_same_c_or_one_line(kind, tmp_path_factory):
    clean_dir = tmp_path_factory.mktemp("clean")
    make = _classifier if kind == "classifier" else _regressor
    clean = make(clean_dir / "ck")
    export_c_checkpoint(clean, clean_dir / "c", echo=_quiet)
    reference = _normalised(clean_dir / "c")
    meta = json.loads((clean / "meta.json").read_text())
    leaves = list(_strings(meta))
    compiled = []

    @settings(max_examples=20 * SIZE, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(leaf=st.one_of(st.none(), st.sampled_from(leaves)), value=_TEXT, labels=st.lists(_TEXT, min_size=3, max_size=3), name=_NAME)
    def check(leaf, value, labels, name):
        root = Path(tmp_path_factory.mktemp("fuzz"))
        ck = root / "cks" / os.fsdecode(name)
        shutil.copytree(clean, ck)
        tampered = json.loads(json.dumps(meta))
        if kind == "classifier":
            tampered["classifier"]["classes"] = labels
        if leaf is not None:
            _set(tampered, leaf, value)
        (ck / "meta.json").write_text(json.dumps(tampered), encoding="utf-8")   # ensure_ascii: surrogates as \\u
        out = root / "c"
        try:
            result = export_c_checkpoint(ck, out, echo=_quiet)
        except UserError as exc:
            assert "\n" not in str(exc)
            assert not out.exists() or not any(out.iterdir())
            return
        assert result["max_abs_diff"] is not None and result["max_abs_diff"] < 1e-4   # compiled with -Werror, ran
        assert _normalised(out) == reference
        compiled.append(1)

    check()
    assert len(compiled) >= 5 * SIZE, f"{len(compiled)} examples compiled: the property was hardly checked"


def test_every_c_emitter_goes_through_the_escaper():
    """A module of deploy/ that writes C text (the comment "Generated by gatedrnn: do not edit. */") takes its
    strings from deploy/c_text.py."""
    deploy = Path(__file__).resolve().parents[2] / "src" / "gatedrnn" / "deploy"
    emitters = [p for p in deploy.glob("*.py") if "Generated by gatedrnn: do not edit. */" in p.read_text()]
    assert emitters
    for path in emitters:
        text = path.read_text()
        assert "from gatedrnn.deploy.c_text import" in text or path.name.startswith("c99_header"), path.name


def test_onnx_emission_keeps_meta_strings_as_data(tmp_path):
    """ONNX is data (a protobuf), but check it: an export of a checkpoint whose meta holds code-like text has only
    standard ONNX operators of the default domain, no functions, and none of that text anywhere in the graph."""
    onnx = pytest.importorskip("onnx")
    from gatedrnn.deploy.export import export_checkpoint

    payload = '*/ __import__("os").system("touch PWNED") /* ${x} `id`'
    ck = _classifier(tmp_path / "ck", classes=("walk", payload, "rest"))
    meta = json.loads((ck / "meta.json").read_text())
    meta["training"] = {"note": payload}
    (ck / "meta.json").write_text(json.dumps(meta))
    export_checkpoint(ck, tmp_path / "m.onnx", echo=_quiet)
    model = onnx.load(str(tmp_path / "m.onnx"))
    standard = {s.name for s in onnx.defs.get_all_schemas()}
    assert all(n.domain in ("", "ai.onnx") and n.op_type in standard for n in model.graph.node)
    assert not model.functions and all(o.domain in ("", "ai.onnx") for o in model.opset_import)
    assert b"PWNED" not in (tmp_path / "m.onnx").read_bytes() and not (tmp_path / "PWNED").exists()
