"""``gatedrnn export CHECKPOINT --onnx model.onnx``: the model as ONNX, with ONNX's own LSTM/GRU/RNN operators."""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("export", help="export a checkpoint to ONNX (ONNX's LSTM/GRU/RNN operators), checked in onnxruntime",
                       description="Writes the checkpoint's model (embedding or input, the recurrent layers, the output "
                                   "layer) as an ONNX graph built with onnx.helper and validated by onnx.checker; when "
                                   "onnxruntime is installed, runs both on a random input and prints the largest "
                                   "difference. Needs the onnx extra: pip install 'gatedrnn[onnx]'.")
    p.add_argument("checkpoint", help="a checkpoint folder (meta.json + model.npz) or a run folder holding model/, "
                                      "best/ or last/")
    p.add_argument("--onnx", required=True, metavar="FILE", help="where to write the .onnx file")
    p.add_argument("--with-state", action="store_true",
                   help="add inputs h_0 (and c_0), (num_layers, batch, hidden), to start from a given state")
    p.set_defaults(func=run)


def run(args):
    import numpy

    from gatedrnn.cli import CommandError
    from gatedrnn.cli.stream import find_checkpoint
    from gatedrnn.deploy.onnx import OPSET, export_onnx, max_abs_diff
    from gatedrnn.train.checkpoint import load_checkpoint

    ck = find_checkpoint(args.checkpoint)
    model, meta, _ = load_checkpoint(ck)
    try:
        path = export_onnx(model, args.onnx, with_state=args.with_state)
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    cfg = meta.get("model", {}).get("config", {})
    print(f"wrote {path} ({path.stat().st_size:,} bytes): {type(model).__name__}, {cfg.get('cell', '?').upper()} "
          f"{cfg.get('hidden_size')} units x {cfg.get('num_layers')}, opset {OPSET}; onnx.checker passed")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("note: onnxruntime is not installed, so the export was not run (pip install 'gatedrnn[onnx]')")
        return 0
    rng = numpy.random.default_rng(0)
    B, T = 2, 16
    if hasattr(model, "vocab_size"):
        x = rng.integers(0, model.vocab_size, size=(B, T))
    else:
        x = rng.standard_normal((B, T, model.rnn.input_size)).astype(numpy.float32)
    state = None
    if args.with_state:
        L, H = model.rnn.num_layers, model.rnn.hidden_size
        h = rng.standard_normal((L, B, H)).astype(numpy.float32) * 0.5
        state = (h, h * 0.5) if cfg.get("cell") == "lstm" else h
    diff = max_abs_diff(model, path, x, state)
    print(f"onnxruntime vs gatedrnn on a random input (batch {B}, {T} steps): max abs difference {diff:.2e} "
          f"over the outputs and the final state")
    return 0
