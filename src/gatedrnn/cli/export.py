"""``gatedrnn export CHECKPOINT --onnx model.onnx``: the model as ONNX, with ONNX's own recurrent operators."""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("export", help="export a checkpoint to ONNX (ONNX's recurrent operators), checked in onnxruntime",
                       description="Writes the checkpoint's model (embedding or input, the recurrent layers, the output "
                                   "layer) as an ONNX graph built with onnx.helper and validated by onnx.checker; when "
                                   "onnxruntime is installed, runs both on a random input and prints the largest "
                                   "difference. Needs the onnx extra: pip install -e \".[onnx]\".")
    p.add_argument("checkpoint", help="a checkpoint folder (meta.json + model.npz) or a run folder holding best/, "
                                      "model/ or last/")
    p.add_argument("--onnx", required=True, metavar="FILE",
                   help="where to write the .onnx file (not inside the checkpoint folder)")
    p.add_argument("--with-state", action="store_true",
                   help="add inputs h_0 (and c_0), (num_layers, batch, hidden), to start from a given state")
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.deploy.export import export_checkpoint

    export_checkpoint(args.checkpoint, args.onnx, with_state=args.with_state)
    return 0
