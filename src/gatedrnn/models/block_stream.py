"""One token at a time through a ``BlockLM`` in constant memory: ``Stream(block_lm)`` (or ``BlockStream``).

The state is what the parallel forward carries between windows, and nothing more: per block the minRNN's hidden
vector (batch, E d) and the conv's last k-1 inputs (batch, k-1, d), allocated once. A step is, per block, the norm
of the token's vector, one conv step (``CausalConv1d.step``: a shift of the k-1 inputs), the min cell's one-step
update (``step_update`` of its layer on ``x @ step_weights``: the same arithmetic as the scan's step), the
projection, the residual and the feed-forward block; then the last norm and the output layer. Its logits equal the
parallel forward over the same tokens (tests/layers/test_block.py: < 1e-5 in float32 over 4,096 steps).

A step at batch 1 is all call overhead, so ``refresh`` copies every weight once into the layout a step multiplies
by (the transposes of the Linear weights, the conv's taps, the min cell's fused input columns) and the step writes
into buffers allocated once, calling no layer's ``forward`` (which would check and cache its input).
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
        ff = self.stack.blocks[0].ff.fc1.out_features
        self._x, self._u, self._c = (xp.empty((B, d), dtype=self.dtype) for _ in range(3))
        self._a, self._a2 = (xp.empty((B, ff), dtype=self.dtype) for _ in range(2))
        self._logits = xp.empty((B, model.vocab_size), dtype=self.dtype)
        self.refresh()

    def refresh(self) -> None:
        """Copy the weights: per block its norms, the conv's taps, the min cell's input columns and bias row of
        ``step_weights()`` (its h rows are zero: no gate of a min cell reads h_{t-1}), the projection and the
        feed-forward matrices (transposed), then the last norm and the output layer."""
        def arr(a):
            return None if a is None else xp.asarray(to_numpy(a), dtype=self.dtype).copy()

        def norm(layer):
            return arr(layer.weight), arr(getattr(layer, "bias", None)), layer.eps

        self._blocks = []
        for block, cell in zip(self.stack.blocks, self._cells):
            W = numpy.asarray(to_numpy(cell.step_weights()), dtype=numpy.float64)
            D = cell.input_size
            self._blocks.append(dict(
                norm1=norm(block.norm), taps=arr(block.conv.weight[:, 0, :].T), conv_b=arr(block.conv.bias),
                W=xp.asarray(W[:D], dtype=self.dtype), b=xp.asarray(W[D + cell.hidden_size], dtype=self.dtype),
                P=arr(block.proj.W.T), pb=arr(block.proj.b), norm2=norm(block.ff.norm), F1=arr(block.ff.fc1.W.T),
                f1=arr(block.ff.fc1.b), F2=arr(block.ff.fc2.W.T), f2=arr(block.ff.fc2.b),
                gelu=type(block.ff.act).__name__ == "GELU", act=block.ff.act))
        self._norm_f = norm(self.stack.norm)
        self._O, self._ob = arr(self.model.out.W.T), arr(self.model.out.b)

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

    input_size = 1          # one token id per stream and step (what ``gatedrnn stream`` reads from each line)

    def check_input(self, x, where: str = "Stream.step") -> None:
        """Refuse anything but integer token ids in [0, vocab) (as numbers: ``gatedrnn stream``'s lines), in one
        line starting with ``where``; the state is not touched."""
        v = numpy.asarray(x, dtype=numpy.float64).reshape(-1)
        V = self.output_size
        bad = ~((v >= 0) & (v < V) & (v == numpy.floor(v)))      # NaN and Inf fail the comparisons
        if bad.any():
            raise UserError(f"{where}: expected integer token ids in [0, {V}), got {float(v[bad][0]):g}")

    def _embed(self, ids):
        ids = numpy.asarray(ids)
        if ids.dtype.kind == "f" and numpy.isfinite(ids).all() and (ids == numpy.floor(ids)).all():
            ids = ids.astype(numpy.int64)              # token ids given as numbers: 3.0 is token 3
        V = self.output_size
        if not numpy.issubdtype(ids.dtype, numpy.integer) or ids.size != self.batch:
            raise UserError(f"Stream.step: expected {self.batch} integer token id(s), got {ids!r}")
        if int(ids.min()) < 0 or int(ids.max()) >= V:
            raise UserError(f"Stream.step: expected token ids in [0, {V}), got values in [{int(ids.min())}, "
                            f"{int(ids.max())}]")
        return self.model.embed.W[ids.reshape(-1)]

    def _norm(self, x, params, out):
        """LayerNorm (with a bias) or RMSNorm (without) of the rows of ``x`` into ``out``."""
        w, b, eps = params
        if b is not None:
            xp.subtract(x, x.mean(axis=1, keepdims=True), out=out)
        else:
            out[...] = x
        out *= 1.0 / xp.sqrt((out * out).mean(axis=1, keepdims=True) + eps)
        out *= w
        if b is not None:
            out += b
        return out

    def _conv(self, u, buf, taps, bias, out):
        """One step of the causal conv: taps[k-1] on u, taps[j] on the buffer's row j; the buffer shifted."""
        k = taps.shape[0]
        xp.multiply(u, taps[k - 1], out=out)
        for j in range(k - 1):
            out += buf[:, j] * taps[j]
        out += bias
        if k > 1:
            buf[:, :-1] = buf[:, 1:]
            buf[:, -1] = u
        return out

    def _ff(self, blk):
        """x += fc2(act(fc1(norm2(x)))) on the stream's buffers."""
        x, u, a = self._x, self._u, self._a
        xp.matmul(self._norm(x, blk["norm2"], u), blk["F1"], out=a)
        a += blk["f1"]
        if blk["gelu"]:                               # x (1 + tanh(c (x + 0.044715 x^3))) / 2, in place
            t = self._a2
            xp.multiply(a, a, out=t)
            t *= 0.044715
            t += 1.0
            t *= a
            t *= 0.7978845608028654
            xp.tanh(t, out=t)
            t += 1.0
            a *= t
            a *= 0.5
        else:
            a[...] = blk["act"].forward(a)
        xp.matmul(a, blk["F2"], out=u)
        u += blk["f2"]
        x += u

    def step(self, ids):
        """Feed one token per stream and return the next-token logits: a view of a buffer that the next step
        overwrites (copy it to keep it)."""
        x, u, c = self._x, self._u, self._c
        x[...] = self._embed(ids)
        for i, blk in enumerate(self._blocks):
            self._conv(self._norm(x, blk["norm1"], u), self._buf[i], blk["taps"], blk["conv_b"], c)
            g, h = self._g[i], self._h[i]
            xp.matmul(c, blk["W"], out=g)
            g += blk["b"]
            self._cells[i].step_update(g, h, None, self._tmp[i])
            xp.matmul(h, blk["P"], out=u)
            u += blk["pb"]
            x += u
            self._ff(blk)
        xp.matmul(self._norm(x, self._norm_f, u), self._O, out=self._logits)
        self._logits += self._ob
        return self._logits[0] if self.batch == 1 else self._logits

    def run(self, ids) -> numpy.ndarray:
        """Step through a sequence of tokens (time along axis 0) -> the stacked logits (none for no token)."""
        if len(ids) == 0:
            shape = self._logits.shape[1:] if self.batch == 1 else self._logits.shape
            return xp.empty((0,) + shape, dtype=self._logits.dtype)
        return xp.stack([self.step(ids[t]).copy() for t in range(len(ids))])
