"""Estimators take their config (issue 28, move 2): one default per field, one set of checks, no hand copies.

The ``Forecaster`` and ``ForecastConfig``, the ``Classifier`` and ``ClassifyConfig``: every field they share has one
default, the same in the estimator's signature, in the config and in the command's ``--help`` (and in the README
where it names one); the estimators are built from their config through the config's own method
(``Forecaster(**cfg.forecaster_settings())``, ``Classifier(**cfg.classifier_settings(cell, seed))``,
``Estimator.from_config(cfg)``); nothing in src/ passes a config's fields to an estimator one by one. The language
model is built with its Trainer from its ``LMConfig`` in one public function (``gatedrnn.lm.make_trainer``).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from gatedrnn.classify import Classifier, ClassifyConfig
from gatedrnn.classify.config import POSITIONAL, ClassifierFields, ClassifierSettings
from gatedrnn.cli import build_parser
from gatedrnn.errors import UserError
from gatedrnn.forecast import ForecastConfig, Forecaster
from gatedrnn.forecast.esrnn_choice import ModelChoice
from gatedrnn.forecast.settings import ForecasterSettings

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "gatedrnn"

# fields a run resolves itself before the estimator sees them (the run's None means something the estimator's
# default cannot know): the forecast run's horizon (none: the held-out tail) and season (none: the dataset's
# calendar season); the classification run's cells (a list: one Classifier per cell)
RUN_RESOLVED = {ForecastConfig: {"horizon", "season"}, ClassifyConfig: {"cell"}}
PAIRS = [(Forecaster, ForecastConfig), (Classifier, ClassifyConfig)]


def _default(f):
    return f.default_factory() if f.default is MISSING else f.default


def _estimator_defaults(estimator) -> dict:
    params = inspect.signature(estimator).parameters        # both: the signature of their settings dataclass
    return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}


def _help_defaults(command: str) -> dict:
    """The ``(default: ...)`` each flag of ``gatedrnn COMMAND`` shows in ``--help``."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    out = {}
    for action in sub.choices[command]._actions:
        m = re.search(r"\(default: (.*)\)$", action.help or "", re.S)
        if m and action.dest != "help":
            out[action.dest] = m.group(1)
    return out


@pytest.mark.parametrize("estimator, cfg_class", PAIRS, ids=["forecast", "classify"])
def test_every_shared_field_has_one_default(estimator, cfg_class):
    est, shown = _estimator_defaults(estimator), _help_defaults(cfg_class.__name__[:-6].lower())
    shared = [f for f in fields(cfg_class) if f.name in est and f.name not in RUN_RESOLVED[cfg_class]]
    assert len(shared) >= 13, [f.name for f in shared]
    for f in shared:
        assert est[f.name] == _default(f), f"{f.name}: {estimator.__name__} {est[f.name]!r}, config {_default(f)!r}"
        assert type(est[f.name]) is type(_default(f)), f.name
        assert shown[f.name] == repr(_default(f)).replace("%", "%%"), f.name


def test_the_run_resolved_fields_reach_the_estimators_defaults():
    settings = ForecastConfig(dataset="x").validate().forecaster_settings()
    est = _estimator_defaults(Forecaster)
    assert settings["horizon"] == est["horizon"] and settings["season"] == est["season"]
    assert inspect.signature(ModelChoice.__new__).parameters["model"].default == est["model"]   # model= picks the class
    cfg = ClassifyConfig(dataset="x")
    assert _estimator_defaults(Classifier)["cell"] in cfg.cell
    assert [f.metadata["choices"]() for f in fields(ClassifierSettings) if f.name == "cell"] == \
        [f.metadata["choices"]() for f in fields(ClassifyConfig) if f.name == "cell"]


def test_default_configs_build_the_default_estimators():
    f = Forecaster.from_config(ForecastConfig(dataset="x").validate())
    assert f.settings() == Forecaster().settings()
    cfg = ClassifyConfig(dataset="x").validate()
    c = Classifier.from_config(cfg)
    assert c.settings() == Classifier(cfg.cell[0]).settings()
    assert Classifier.from_config(cfg, "gru", 3).settings() == {**Classifier("gru").settings(), "seed": 3}
    s = ClassifierSettings(cell="gru", hidden_size=8, select=False)
    assert Classifier.from_config(s).settings() == s.to_dict() == Classifier(**s.to_dict()).settings()


def test_classifier_settings_are_exactly_the_classifiers_fields():
    cfg = ClassifyConfig(dataset="x", cell=["gru", "lstm"], seeds=2, time_budget=60.0, rank_ih=None).validate()
    settings = cfg.classifier_settings("gru", 4)
    assert set(settings) == {f.name for f in fields(ClassifierSettings)}
    assert settings["time_budget"] == 15.0 and settings["seed"] == 4 and settings["cell"] == "gru"
    assert {f.name for f in fields(ClassifierFields)} <= {f.name for f in fields(ClassifyConfig)}
    assert Classifier(**settings).settings() == settings


def test_the_classifier_signature_and_docstring_come_from_the_settings():
    params = inspect.signature(Classifier).parameters
    assert list(params)[1:4] == list(POSITIONAL)
    for f in fields(ClassifierSettings):
        assert params[f.name].default == _default(f)
        assert f"``{f.name} = {_default(f)!r}``: {f.metadata['help']}" in Classifier.__doc__
    assert Classifier("fastgrnn", 8, 2).settings()["num_layers"] == 2


@pytest.mark.parametrize("args, kwargs, start", [
    (("gru", 8, 1, "last"), {}, "Classifier: expected at most 3"),
    (("gru",), {"cell": "lstm"}, "cell: expected one value"),
    ((), {"hidden_sizes": 8}, "ClassifierSettings: expected keys among"),
    ((), {"rank_ih": 0, "cell": "fastgrnn"}, "rank_ih: expected"),
    ((), {"time_budget": 0.0}, "time_budget: expected"),
])
def test_the_classifier_refuses_in_one_line(args, kwargs, start):
    with pytest.raises(UserError) as e:
        Classifier(*args, **kwargs)
    assert str(e.value).startswith(start) and "\n" not in str(e.value)


def test_the_run_reads_older_zeros_as_none():
    """``rank_ih``/``rank_hh`` 0 (full) and ``time_budget`` 0 (no bound), written by runs before they were none."""
    cfg = ClassifyConfig.from_dict({"dataset": "x", "rank_ih": 0, "rank_hh": 0, "time_budget": 0.0})
    assert (cfg.rank_ih, cfg.rank_hh, cfg.time_budget) == (None, None, None)


def test_the_readme_names_the_same_defaults():
    """The README's classify paragraph lists flags with their defaults (``--seeds 5``, ...): the config's."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    para = text[text.index("The flags are the fields of `gatedrnn.classify.ClassifyConfig`"):]
    para = para[:para.index("\n\n")]
    named = dict(re.findall(r"`--([a-z-]+) ([0-9.]+)`", para))
    assert len(named) >= 4, named
    defaults = {f.name: _default(f) for f in fields(ClassifyConfig)}
    for flag, value in named.items():
        assert float(value) == defaults[flag.replace("-", "_")], flag


# -- the house rule: estimators get their settings from the config's method, never field by field --------------
ESTIMATORS = {"Classifier", "Forecaster", "ESRNNForecaster"}
CONFIG_FIELDS = {f.name for cls in (ForecastConfig, ForecasterSettings, ClassifyConfig, ClassifierSettings)
                 for f in fields(cls)}


def _hand_copies(tree: ast.AST) -> list:
    """Calls of an estimator (or ``cls(...)`` inside one) with a keyword argument ``name=X.name`` of a config field."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name not in ESTIMATORS | {"cls"}:
            continue
        for kw in node.keywords:
            v = kw.value
            if kw.arg in CONFIG_FIELDS and isinstance(v, ast.Attribute) and v.attr == kw.arg:
                found.append(f"line {node.lineno}: {name}({kw.arg}=...{v.attr})")
    return found


def test_no_config_field_is_copied_into_an_estimator_by_hand():
    wrong = [f"{p.relative_to(SRC)} {hit}" for p in sorted(SRC.rglob("*.py"))
             for hit in _hand_copies(ast.parse(p.read_text(encoding="utf-8")))]
    assert not wrong, wrong
    assert _hand_copies(ast.parse("Classifier(cell=c, hidden_size=cfg.hidden_size)"))     # the rule does catch one


def test_the_estimators_are_built_from_the_configs_method():
    assert "cls(**cfg.forecaster_settings(" in inspect.getsource(Forecaster.from_config)
    assert "cfg.classifier_settings(" in inspect.getsource(Classifier.from_config)
    run = (SRC / "classify" / "run.py").read_text(encoding="utf-8")
    assert "Classifier.from_config(cfg" in run and "Classifier(" not in run.replace("Classifier.from_config(", "")
    for path in ("forecast/future.py", "forecast/m4.py", "forecast/experiment.py"):
        text = (SRC / path).read_text(encoding="utf-8")
        assert re.search(r"forecaster_settings\(|Forecaster\.from_config\(", text), path


def test_the_language_model_is_built_in_one_function():
    """``gatedrnn.lm.make_trainer(config, corpus, out_dir)`` (lm/trainer.py): the model (``build_language_model``),
    the optimizer, the batches, the schedule and the ``Trainer``, all from the ``LMConfig``; no other place in lm/
    builds them, and ``train_language_model``'s run trains through it."""
    import gatedrnn.lm as lm

    calls: dict = {}
    for p in sorted((SRC / "lm").glob("*.py")):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for node in ast.walk(fn):
                name = getattr(node.func, "id", None) if isinstance(node, ast.Call) else None
                if name in ("Trainer", "build_language_model", "make_optimizer", "make_trainer"):
                    calls.setdefault(name, []).append(f"{p.name}:{fn.name}")
    assert calls == {**{k: ["trainer.py:make_trainer"] for k in ("Trainer", "build_language_model", "make_optimizer")},
                     "make_trainer": ["run.py:_train_locked"]}, calls
    assert "make_trainer" in lm.__all__ and "``make_trainer``" in (lm.__doc__ or "")
    assert [p.name for p in inspect.signature(lm.make_trainer).parameters.values()][:3] == ["config", "corpus", "out_dir"]


def test_make_trainer_is_the_trainer_train_language_model_runs(tmp_path):
    """The public entry builds the run's Trainer: fitted by hand it reaches the validation loss the whole run
    reports, to the last bit; a bad config is one line before anything is built."""
    from gatedrnn.data.corpus import load_corpus
    from gatedrnn.data.synthetic import toy_sentences
    from gatedrnn.lm import LMConfig, make_trainer, train_language_model

    text = tmp_path / "toy.txt"
    text.write_text(toy_sentences(3000, seed=0))
    cfg = LMConfig(corpus=str(text), level="char", embed_size=8, hidden_size=12, batch_size=4, time_size=8,
                   eval_batch_size=2, optimizer="adam", lr=0.01, clip=1.0, max_steps=6, log_every=3)
    quiet = dict(progress=False, echo=lambda line: None)
    trainer = make_trainer(cfg, load_corpus(str(text), "char"), tmp_path / "by-hand", **quiet)
    assert trainer.max_steps == 6 and trainer.model.num_params() > 0
    by_hand = trainer.fit()
    whole = train_language_model(cfg, tmp_path / "run", **quiet)
    assert by_hand["step"] == whole["step"] == 6 and by_hand["stopped"] == whole["stopped"]
    assert by_hand["val_loss"] == whole["val_loss"] and by_hand["val_ppl"] == whole["val_ppl"]    # bit for bit
    with pytest.raises(UserError, match="hidden_size: expected a positive integer"):
        make_trainer(LMConfig(hidden_size=0), None, tmp_path / "never")


def test_the_readme_names_the_forecasters_defaults():
    """The README's paragraph on the Forecaster's settings lists each with its default (``cell="lstm"``, ...): the
    signature's, every setting named."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    para = text[text.index("each setting declared once in\n  `gatedrnn.forecast.settings`"):]
    para = " ".join(para[:para.index("Measured once each")].split())
    named = dict(re.findall(r"`([a-z_]+)=([^`]+)`", para))
    named.update({k: "None" for k in re.findall(r"`(window|hidden_size|max_steps)`", para)})
    signature = {k: p.default for k, p in inspect.signature(Forecaster).parameters.items() if k != "self"}
    assert set(named) == set(signature), set(named) ^ set(signature)
    for name, value in named.items():
        assert ast.literal_eval(value) == signature[name], name
