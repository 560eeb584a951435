"""One token at a time through a ``BlockLM`` in constant memory: ``Stream(block_lm)`` (or ``BlockStream``).

The state is what the parallel forward carries between windows, and nothing more: per block the minRNN's hidden
vector (batch, E d) and the conv's last k-1 inputs (batch, k-1, d), allocated once. A step is, per block, the norm
of the token's vector, one conv step (``CausalConv1d.step``: a shift of the k-1 inputs), the min cell's one-step
update (``step_update`` of its layer on ``x @ step_weights``: the same arithmetic as the scan's step), the
projection, the residual and the feed-forward block; then the last norm and the output layer. Its logits equal the
parallel forward over the same tokens (tests/test_block.py: < 1e-5 in float32 over 4,096 steps).
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import to_numpy, xp
from gatedrnn.errors import UserError, check_int


class BlockStream:
    """``BlockStream(block_lm, batch=1)``: ``step(ids) -> logits`` (vocab,) for batch 1, else (batch, vocab);
    ``run(ids)``, ``reset(state=None)``, ``state`` (a copy: ``(h, buffer)`` as ``BlockLM.forward`` returns it),
    ``state_bytes``, ``refresh()`` after more training."""

    def __init__(self, model, batch: int = 1):
        check_int("Stream batch", batch)
        self.model, self.stack = model, model.blocks
        self.batch = B = int(batch)
        self.dtype = self.stack.dtype
        L, H, d, k = self.stack.num_layers, self.stack.hidden_size, self.stack.d_model, self.stack.k
        self.num_layers, self.hidden_size, self.output_size = L, H, model.vocab_size
        self._h = [xp.zeros((B, H), dtype=self.dtype) for _ in range(L)]
        self._buf = [xp.zeros((B, k - 1, d), dtype=self.dtype) for _ in range(L)]
        self._cells = [block.rnn.layers[0] for block in self.stack.blocks]
        self._g = [xp.empty((B, cell.step_width * H), dtype=self.dtype) for cell in self._cells]
        self._tmp = [xp.empty((B, H), dtype=self.dtype) for _ in range(L)]
        self._u = xp.empty((B, d), dtype=self.dtype)
        self.refresh()

    def refresh(self) -> None:
        """Copy the min cells' one-step weights: the input rows and the bias row of ``step_weights()`` (its h rows
        are zero: no gate of a min cell reads h_{t-1})."""
        self._W, self._b = [], []
        for cell in self._cells:
            W = numpy.asarray(to_numpy(cell.step_weights()), dtype=numpy.float64)
            D = cell.input_size
            self._W.append(xp.asarray(W[:D], dtype=self.dtype))
            self._b.append(xp.asarray(W[D + cell.hidden_size], dtype=self.dtype))

    @property
    def state_bytes(self) -> int:
        return sum(int(a.nbytes) for a in self._h + self._buf)

    def reset(self, state=None) -> None:
        """Zero the state, or set it from ``state`` = (h (layers, batch, E d), buffer (layers, batch, k-1, d))."""
        if state is None:
            for a in self._h + self._buf:
                a[...] = 0
            return
        h, buf = self.stack.check_state(state, self.batch)
        for i in range(self.num_layers):
            self._h[i][...] = h[i]
            self._buf[i][...] = buf[i]

    @property
    def state(self):
        return xp.stack([a.copy() for a in self._h]), xp.stack([a.copy() for a in self._buf])

    def _embed(self, ids):
        ids = numpy.asarray(ids)
        V = self.output_size
        if not numpy.issubdtype(ids.dtype, numpy.integer) or ids.size != self.batch:
            raise UserError(f"Stream.step: expected {self.batch} integer token id(s), got {ids!r}")
        if int(ids.min()) < 0 or int(ids.max()) >= V:
            raise UserError(f"Stream.step: expected token ids in [0, {V}), got values in [{int(ids.min())}, "
                            f"{int(ids.max())}]")
        return self.model.embed.W[ids.reshape(-1)]

    def step(self, ids):
        """Feed one token per stream and return the next-token logits (a new array)."""
        x = self._embed(ids)
        for i, block in enumerate(self.stack.blocks):
            block.conv.step(block.norm.forward(x), self._buf[i], out=self._u)
            g, h = self._g[i], self._h[i]
            xp.matmul(self._u, self._W[i], out=g)
            g += self._b[i]
            self._cells[i].step_update(g, h, None, self._tmp[i])
            x = block.ff.forward(x + block.proj.forward(h))
        logits = self.model.out.forward(self.stack.norm.forward(x))
        return logits[0] if self.batch == 1 else logits

    def run(self, ids) -> numpy.ndarray:
        """Step through a sequence of tokens (time along axis 0) -> the stacked logits."""
        return xp.stack([self.step(ids[t]) for t in range(len(ids))])
