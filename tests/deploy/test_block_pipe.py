"""`gatedrnn stream` on a block language model (`--arch block`) prints the next token of every token read, as it
does for a LanguageModel."""

import io

import numpy as np

from gatedrnn.deploy.pipe import stream_checkpoint
from gatedrnn.models import MODELS
from gatedrnn.models.stream import Stream
from gatedrnn.train.checkpoint import save_checkpoint


def test_stream_of_a_block_lm_gives_next_tokens(tmp_path):
    model = MODELS["BlockLM"](12, 8, 2, seed=0)
    ck = save_checkpoint(tmp_path / "ck", model)
    out = io.StringIO()
    stream_checkpoint(ck, stdin=io.StringIO("1 2 3\n4\n"), stdout=out)
    s = Stream(model)
    want = [str(int(np.argmax(s.step(t)))) for t in (1, 2, 3, 4)]
    assert out.getvalue().split() == want
