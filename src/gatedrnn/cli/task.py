"""``gatedrnn task adding|copy|selective``: train on a long-range synthetic task, compare with the trivial baseline."""

from __future__ import annotations

from gatedrnn.config import add_config_flags, given_flags
from gatedrnn.lab.tasks import TASKS, TaskConfig
from gatedrnn.layers import CELLS


def register(sub):
    p = sub.add_parser("task", help="long-range synthetic tasks (adding problem, copy task, selective copying) "
                                    "with a learning curve",
                       description="Trains a recurrent regressor on freshly generated batches of the adding problem "
                                   "(predict the sum of two marked numbers in a sequence of length T) or the copy "
                                   "task (reproduce a symbol string after T blanks) or selective copying (reproduce "
                                   "the symbols scattered among T blanks, in order), prints the learning curve and "
                                   "the final test error against the trivial baseline. Several --cell values run "
                                   "with the same budget, one after the other.")
    p.add_argument("task", choices=TASKS)
    p.add_argument("--cell", nargs="+", choices=list(CELLS), dest="cells", default=None,
                   help=f"one or more cells, same budget for each (default: {TaskConfig().cell})")
    add_config_flags(p, TaskConfig, skip=("task", "cell"))
    p.add_argument("--out", default=None, metavar="DIR",
                   help="also write DIR/NAME.csv (curves), DIR/NAME.json (results) and DIR/NAME.png")
    p.add_argument("--name", default=None, help="file stem in DIR (default: TASK_T<length>)")
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.lab.tasks import run_tasks

    run_tasks(TaskConfig().replace(**given_flags(TaskConfig, args)), args.cells, args.out, args.name)
    return 0
