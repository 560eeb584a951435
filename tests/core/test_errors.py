"""Bad input gets a one-line ValueError naming what was expected and what came."""

import numpy as np
import pytest

import gatedrnn as g


@pytest.mark.parametrize("cls", [g.LSTM, g.GRU, g.RNN])
def test_recurrent_input_errors(cls):
    layer = cls(3, 4, 2)
    with pytest.raises(ValueError, match=r"expected a 3-d array .*got shape \(5, 3\)"):
        layer.forward(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"expected input_size = 3.*got shape \(2, 5, 4\)"):
        layer.forward(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match="NaN or Inf"):
        layer.forward(np.full((2, 5, 3), np.nan))
    with pytest.raises(ValueError, match="floating-point"):
        layer.forward(np.zeros((2, 5, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="expected a forward call first"):
        cls(3, 4).backward(np.zeros((2, 5, 4)))


@pytest.mark.parametrize("cls", [g.GRU, g.RNN])
def test_state_shape_errors(cls):
    layer = cls(3, 4, 2)
    with pytest.raises(ValueError, match=r"expected shape \(2, 2, 4\), got \(1, 2, 4\)"):
        layer.forward(np.zeros((2, 5, 3)), np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match="expected one array"):
        layer.forward(np.zeros((2, 5, 3)), (np.zeros((2, 2, 4)), np.zeros((2, 2, 4))))


def test_lstm_state_errors():
    layer = g.LSTM(3, 4)
    with pytest.raises(ValueError, match=r"expected a pair \(h, c\)"):
        layer.forward(np.zeros((2, 5, 3)), np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match=r"state c: expected shape \(1, 2, 4\)"):
        layer.forward(np.zeros((2, 5, 3)), (np.zeros((1, 2, 4)), np.zeros((1, 3, 4))))


def test_backward_shape_error():
    layer = g.LSTM(3, 4)
    layer.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"expected shape \(2, 5, 4\), got \(2, 5, 3\)"):
        layer.backward(np.zeros((2, 5, 3)))


def test_embedding_errors():
    emb = g.Embedding(10, 4)
    with pytest.raises(ValueError, match="expected integer token ids, got dtype float64"):
        emb.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"expected ids in \[0, 10\), got values in \[0, 10\]"):
        emb.forward(np.array([[0, 10]]))
    with pytest.raises(ValueError, match=r"got values in \[-1, 3\]"):
        emb.forward(np.array([[-1, 3]]))
    with pytest.raises(ValueError, match="expected a forward call first"):
        g.Embedding(10, 4).backward(np.zeros((1, 4)))


def test_linear_and_loss_errors():
    with pytest.raises(ValueError, match="in_features = 4"):
        g.Linear(4, 2).forward(np.zeros((3, 5)))
    ce = g.SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match=r"expected shape \(2, 3\)"):
        ce.forward(np.zeros((2, 3, 5)), np.zeros((2, 4), dtype=int))
    with pytest.raises(ValueError, match=r"expected ids in \[0, 5\)"):
        ce.forward(np.zeros((2, 3, 5)), np.full((2, 3), 5))
    with pytest.raises(ValueError, match="expected a forward call first"):
        g.SoftmaxCrossEntropy().backward()


def test_constructor_errors():
    with pytest.raises(ValueError, match="hidden_size: expected a positive integer, got 0"):
        g.LSTM(3, 0)
    with pytest.raises(ValueError, match="expected float32 or float64, got int32"):
        g.GRU(3, 4, dtype=np.int32)
    with pytest.raises(ValueError, match="expected 0 <= p < 1, got 1.0"):
        g.Dropout(1.0)


def test_input_checks_raise_user_errors_a_bug_does_not():
    from gatedrnn.errors import UserError

    for bad in (lambda: g.LSTM(3, 0), lambda: g.Dropout(1.0), lambda: g.Embedding(10, 4).forward(np.zeros((2, 3)))):
        with pytest.raises(UserError):
            bad()
    assert issubclass(UserError, ValueError)


@pytest.mark.parametrize("call,msg", [
    (lambda e: e.check_int("epochs", 0), "epochs: expected a positive integer, got 0"),
    (lambda e: e.check_int("epochs", True), "epochs: expected a positive integer, got True"),
    (lambda e: e.check_int("epochs", 2.0), "epochs: expected a positive integer, got 2.0"),
    (lambda e: e.check_int("pos", -1, 0), "pos: expected an integer >= 0, got -1"),
    (lambda e: e.check_positive("lr", float("nan")), "lr: expected a finite positive number, got nan"),
    (lambda e: e.check_positive("clip", -1, zero_ok=True), "clip: expected a finite number >= 0, got -1"),
    (lambda e: e.check_probability("dropout", 1.0), "dropout: expected a number in [0, 1), got 1.0"),
    (lambda e: e.check_choice("cell", "lstmx", ["lstm", "gru"]), "cell: expected one of 'lstm', 'gru', got 'lstmx'"),
])
def test_check_helpers(call, msg):
    import gatedrnn.errors as e

    with pytest.raises(e.UserError) as exc:
        call(e)
    assert str(exc.value) == msg


def test_check_helpers_pass_good_values_through():
    import gatedrnn.errors as e

    assert e.check_int("n", 3) == 3 and e.check_int("n", None, none_ok=True) is None
    assert e.check_positive("x", 0.0, zero_ok=True) == 0.0 and e.check_probability("p", 0.5) == 0.5
    with pytest.raises(e.MissingDependency, match=r'pip install -e "\.\[nothing\]"'):
        e.require("a_module_that_does_not_exist", "this feature", "nothing")
