"""``gatedrnn classify``: train recurrent sequence classifiers on a UEA/UCR dataset, print test accuracy next to
1-NN DTW and MiniRocket.

The flags are generated from ``gatedrnn.classify.ClassifyConfig``: the fields it shares with the ``Classifier``
(``classify.config.ClassifierFields``, each with the one default ``Classifier(...)`` has too) and the run's own;
``--config FILE`` (JSON or TOML, e.g. a run's ``config.json``) gives the fields first and flags override it. This
module only parses and calls ``gatedrnn.classify.run.run``, which builds each Classifier with
``Classifier.from_config``.
"""

from __future__ import annotations

DESCRIPTION = ("Trains each recurrent cell with several seeds on the training set of a UEA/UCR time-series "
               "classification dataset (.ts files: sequences of different lengths and several dimensions), and "
               "prints the test accuracy (mean and spread over the seeds) and the model size next to 1-NN DTW and "
               "MiniRocket (from aeon, when installed: pip install -e \".[classify]\"). Datasets are found like the "
               "corpora: uea/NAME/NAME_TRAIN.ts under --data-dir or GATEDRNN_DATA; nothing is downloaded. The "
               "number of steps is chosen on a validation split of the training set (--no-select: max-steps); the "
               "test file is read once, after every model is fitted.")


def register(sub):
    from gatedrnn.classify import ClassifyConfig
    from gatedrnn.config import add_config_file_flag, add_config_flags

    p = sub.add_parser("classify", help="sequence classification on a UEA/UCR dataset; accuracy vs 1-NN DTW, MiniRocket",
                       description=DESCRIPTION)
    add_config_file_flag(p)
    p.add_argument("--data-dir", default=None, metavar="DIR", help="a folder holding uea/NAME/NAME_TRAIN.ts and "
                                                                   "NAME_TEST.ts (searched before GATEDRNN_DATA)")
    p.add_argument("--out", default=None, metavar="DIR", help="write results.json, config.json and a checkpoint "
                                                              "per cell there (default: nothing written)")
    p.add_argument("--overwrite", action="store_true", help="replace the outputs in an --out that holds files this "
                                                            "command did not write (other files there are kept)")
    add_config_flags(p, ClassifyConfig)
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.classify.config import ClassifyConfig, make_config
    from gatedrnn.classify.run import run as experiment
    from gatedrnn.config import given_flags

    cfg = make_config(args.config, given_flags(ClassifyConfig, args))
    experiment(cfg, out=args.out, data_dir=args.data_dir, overwrite=args.overwrite, inputs=[args.config],
               progress=not args.no_progress)
    return 0
