"""``gatedrnn export CHECKPOINT --onnx model.onnx`` (ONNX, with ONNX's own recurrent operators) or ``--c DIR``
(standalone C99: model.h and model.c); a Forecaster folder exports whole to either (raw values in, forecasts out;
in C a ring buffer with PREFIX_push and PREFIX_forecast)."""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("export", help="export a checkpoint to ONNX (checked in onnxruntime) or to standalone C99",
                       description="--onnx FILE writes the checkpoint's model (embedding or input, the recurrent "
                                   "layers, the output layer) as an ONNX graph built with onnx.helper and validated by "
                                   "onnx.checker; when onnxruntime is installed, runs both on a random input and prints "
                                   "the largest difference (needs the onnx extra: pip install -e \".[onnx]\"). A folder "
                                   "written by Forecaster.save becomes one graph with its preprocessing and every "
                                   "ensemble member: inputs y (batch, window) raw float64 values and, with a season, "
                                   "start (batch,) int64, the index of y's first value in its series; outputs "
                                   "quantiles, y_hat and the lo-/hi- interval columns in the series' units (the model's "
                                   "metadata says window, season, horizon and the layout). --c DIR "
                                   "writes PREFIX.h and PREFIX.c: C99 with no allocation and nothing beyond <math.h>, "
                                   "one step per call; when a C compiler is found, compiles it and prints the largest "
                                   "difference against gatedrnn's Stream. A Forecaster folder in C: PREFIX_push(state, "
                                   "value) keeps the last window in a ring buffer, PREFIX_forecast(state, out) writes "
                                   "horizon x quantiles doubles, checked against Forecaster.predict over 1000 values. "
                                   "--fixed q15 writes a step in integer arithmetic only (fastgrnn, fastrnn; raw int16 "
                                   "inputs for a classifier, int32 Q16 outputs), checked bit-exact against its Python "
                                   "reference, with its flash, RAM and multiplies per step. A block language model "
                                   "(--arch block) exports to ONNX and to C99 as well.")
    p.add_argument("checkpoint", help="a checkpoint folder (meta.json + model.npz) or a run folder holding best/, "
                                      "model/ or last/")
    to = p.add_mutually_exclusive_group(required=True)
    to.add_argument("--onnx", metavar="FILE", help="where to write the .onnx file (not inside the checkpoint folder)")
    to.add_argument("--c", metavar="DIR", help="the folder for PREFIX.h and PREFIX.c (created if needed; not inside "
                                               "the checkpoint folder)")
    p.add_argument("--with-state", action="store_true",
                   help="ONNX: add inputs h_0 (and c_0), (num_layers, batch, hidden), to start from a given state")
    p.add_argument("--int8", action="store_true",
                   help="C: int8 weight matrices with a float32 scale per output unit (about 4x smaller)")
    p.add_argument("--fixed", choices=["q15"], default=None,
                   help="C: integer arithmetic only (int16 weights and states, a tanh table; no float, <stdint.h> "
                        "only), for a fastgrnn or fastrnn checkpoint; checked bit-exact against its Python reference")
    p.add_argument("--prefix", default="model", help="C: the name of the files and the prefix of every C name")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing file at the output path that no earlier export wrote (never a special "
                        "file, nor one inside the checkpoint)")
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.errors import UserError

    if args.c is None:
        if args.int8 or args.fixed or args.prefix != "model":
            flag = "--int8" if args.int8 else ("--fixed" if args.fixed else "--prefix")
            raise UserError(f"{flag}: expected --c DIR (a C export option), got --onnx")
        from gatedrnn.deploy.block_export import export_onnx_any  # a block language model has its own graph
        export_onnx_any(args.checkpoint, args.onnx, with_state=args.with_state, overwrite=args.overwrite)
    elif args.fixed:
        if args.int8:
            raise UserError(f"--fixed {args.fixed}: expected it without --int8 (its weights are int16 already), got both")
        from gatedrnn.deploy.fixed_export import export_fixed_checkpoint
        export_fixed_checkpoint(args.checkpoint, args.c, prefix=args.prefix, overwrite=args.overwrite)
    else:                                    # a block language model has its own C export
        from gatedrnn.deploy.block_export import export_c_any
        export_c_any(args.checkpoint, args.c, int8=args.int8, prefix=args.prefix, overwrite=args.overwrite)
    return 0
