"""``gatedrnn stream CHECKPOINT < values.txt``: predictions printed as the observations arrive on stdin."""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("stream", help="read observations from stdin one at a time, print each prediction at once",
                       description="Runs a checkpoint one step at a time (constant memory: only the recurrent state is "
                                   "kept) and prints a prediction per observation as soon as it is read. A forecaster "
                                   "from `gatedrnn forecast` first prints a header line '# window W, season none' (the "
                                   "window it was trained on), then reads one number per step and prints the forecast "
                                   "of the next value (nan after the first, which only primes the change input); a "
                                   "folder written by Forecaster.save reads one value per line (ID,VALUE for a panel "
                                   "model), keeps each series' last window in a ring buffer and prints a header line "
                                   "naming the columns, then the next horizon forecasts with their intervals after "
                                   "each value (a bad line is one line on stderr and the stream goes on); any other "
                                   "sequence regressor reads input_size numbers per line and prints its outputs; a "
                                   "language model reads token ids and prints the most likely next id (and token).")
    p.add_argument("checkpoint", help="a checkpoint folder (meta.json + model.npz) or a run folder holding best/, "
                                      "model/ or last/")
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.deploy.pipe import stream_checkpoint

    stream_checkpoint(args.checkpoint)
    return 0
