"""The C helpers of the fixed-point export (``deploy/c99_fixed.py``), the twins of ``deploy/fixed_point.py``: as
format strings of the prefix ``p`` (the product kernels: ``w`` their name's suffix, ``xt`` the input's type,
``mt`` the product's; for the sparse kernel, ``b``: the index bits, ``t``: their type). Every product of int16
operands is taken in int32, of an int16 weight and an int32 input (a low-rank product's middle) in int64, and
summed in int64, so nothing overflows; a right shift of a negative
number is written as ``~(~v >> s)`` (floor, whatever the compiler does with a negative ``>>``); a left shift is a
multiplication (a negative value shifted left is undefined in C99)."""

KINDS = {"": ("int16_t", "int32_t"), "32": ("int32_t", "int64_t")}    # kernel suffix -> (input, product) types

ARITH = """\
static int64_t q_floor(int64_t v, int s)    /* floor(v / 2^s), never shifting a negative number */
{{
    return v >= 0 ? v >> s : ~(~v >> s);
}}

static int64_t q_round(int64_t v, int s)    /* v / 2^s rounded to nearest, ties up */
{{
    return s > 0 ? q_floor(v + ((int64_t)1 << (s - 1)), s) : v;
}}

static int32_t q_sat32(int64_t v, uint32_t *sat)    /* v clamped to int32, a clamp counted */
{{
    if (v > INT32_MAX || v < INT32_MIN) {{
        ++*sat;
        return v > 0 ? INT32_MAX : INT32_MIN;
    }}
    return (int32_t)v;
}}

static int16_t q_h(int64_t v, int s, uint32_t *sat)    /* v / 2^s rounded, clamped to int16, a clamp counted */
{{
    const int64_t r = q_round(v, s);
    if (r > INT16_MAX || r < INT16_MIN) {{
        ++*sat;
        return r > 0 ? INT16_MAX : INT16_MIN;
    }}
    return (int16_t)r;
}}
"""

TANH = """\
static int32_t q_tanh(int64_t v)    /* v in Q16 -> tanh(v) in Q15: the table on [0, 8], linear in between */
{{
    const int64_t top = (int64_t){size} << {shift};
    const int64_t a = v < 0 ? (v < -top ? top : -v) : (v > top ? top : v);
    const int32_t i = (int32_t)(a >> {shift}), f = (int32_t)(a & {mask});
    const int32_t y = i >= {size} ? {p}_tanh_q15[{size}]
        : {p}_tanh_q15[i] + ((((int32_t){p}_tanh_q15[i + 1] - {p}_tanh_q15[i]) * f + {half}) >> {shift});
    return v < 0 ? -y : y;
}}
"""

SIGMOID = """\
static int32_t q_sigmoid(int64_t v)    /* v in Q16 -> sigmoid(v) = (1 + tanh(v / 2)) / 2 in Q15 */
{{
    return (32768 + q_tanh(q_floor(v, 1))) >> 1;
}}
"""

DOT = """\
static void {p}_dot{w}(int32_t *g, const int16_t *w, const {xt} *x, int k, int n, int sh, uint32_t *sat)
{{    /* g[j] += (w[j][.] . x) / 2^sh for j < n; w (n, k) row-major */
    int i, j;
    for (j = 0; j < n; ++j) {{
        const int16_t *wj = w + (long)j * k;
        int64_t acc = 0;
        for (i = 0; i < k; ++i) acc += ({mt})wj[i] * x[i];
        g[j] = q_sat32((int64_t)g[j] + q_round(acc, sh), sat);
    }}
}}
"""

DOT_CSR = """\
static void {p}_dot{w}_csr{b}(int32_t *g, const int16_t *v, const {t} *col, const uint16_t *row, const {xt} *x,
                        int n, int sh, uint32_t *sat)
{{    /* the same in compressed sparse rows: row j's values v[row[j]..row[j + 1]) at inputs col[.] */
    int32_t i;
    int j;
    for (j = 0; j < n; ++j) {{
        int64_t acc = 0;
        for (i = row[j]; i < (int32_t)row[j + 1]; ++i) acc += ({mt})v[i] * x[col[i]];
        g[j] = q_sat32((int64_t)g[j] + q_round(acc, sh), sat);
    }}
}}
"""
