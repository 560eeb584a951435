"""The C kernels of the C99 export (deploy/c99.py), as format strings of the prefix ``p``: ``y += W x`` for a
float32 matrix stored (inputs, outputs) row-major (an axpy per input: the inner loop runs over outputs, independent
of each other, so it vectorises without reassociating a sum), and its int8 forms (``y += scale * (q x)`` through a
scratch ``acc``; the head's ``y = b + scale * (q x)`` in place). ``restrict`` (C99) tells the compiler that the
operands do not overlap."""

KERNELS = """\
static void {p}_axpy(float *restrict y, const float *restrict w, const float *restrict x, int k, int n)
{{
    int i = 0, j;
    for (; i + 4 <= k; i += 4) {{          /* four inputs at a time, four outputs per statement group */
        const float x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
        const float *restrict w0 = w + (long)i * n, *restrict w1 = w0 + n, *restrict w2 = w1 + n, *restrict w3 = w2 + n;
        for (j = 0; j + 4 <= n; j += 4) {{
            y[j] += w0[j] * x0 + w1[j] * x1 + w2[j] * x2 + w3[j] * x3;
            y[j + 1] += w0[j + 1] * x0 + w1[j + 1] * x1 + w2[j + 1] * x2 + w3[j + 1] * x3;
            y[j + 2] += w0[j + 2] * x0 + w1[j + 2] * x1 + w2[j + 2] * x2 + w3[j + 2] * x3;
            y[j + 3] += w0[j + 3] * x0 + w1[j + 3] * x1 + w2[j + 3] * x2 + w3[j + 3] * x3;
        }}
        for (; j < n; ++j) y[j] += w0[j] * x0 + w1[j] * x1 + w2[j] * x2 + w3[j] * x3;
    }}
    for (; i < k; ++i) {{
        const float xi = x[i];
        const float *restrict wi = w + (long)i * n;
        for (j = 0; j < n; ++j) y[j] += wi[j] * xi;
    }}
}}
"""

KERNELS8 = """\
static void {p}_axpy8(float *restrict y, const signed char *restrict w, const float *restrict scale,
                      const float *restrict x, int k, int n, float *restrict acc)
{{
    int i = 0, j;
    for (j = 0; j < n; ++j) acc[j] = 0.0f;
    for (; i + 4 <= k; i += 4) {{          /* four inputs at a time, four outputs per statement group */
        const float x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
        const signed char *restrict w0 = w + (long)i * n, *restrict w1 = w0 + n, *restrict w2 = w1 + n, *restrict w3 = w2 + n;
        for (j = 0; j + 4 <= n; j += 4) {{
            acc[j] += (float)w0[j] * x0 + (float)w1[j] * x1 + (float)w2[j] * x2 + (float)w3[j] * x3;
            acc[j + 1] += (float)w0[j + 1] * x0 + (float)w1[j + 1] * x1 + (float)w2[j + 1] * x2 + (float)w3[j + 1] * x3;
            acc[j + 2] += (float)w0[j + 2] * x0 + (float)w1[j + 2] * x1 + (float)w2[j + 2] * x2 + (float)w3[j + 2] * x3;
            acc[j + 3] += (float)w0[j + 3] * x0 + (float)w1[j + 3] * x1 + (float)w2[j + 3] * x2 + (float)w3[j + 3] * x3;
        }}
        for (; j < n; ++j) acc[j] += (float)w0[j] * x0 + (float)w1[j] * x1 + (float)w2[j] * x2 + (float)w3[j] * x3;
    }}
    for (; i < k; ++i) {{
        const float xi = x[i];
        const signed char *restrict wi = w + (long)i * n;
        for (j = 0; j < n; ++j) acc[j] += (float)wi[j] * xi;
    }}
    for (j = 0; j < n; ++j) y[j] += scale[j] * acc[j];
}}
"""

HEAD8 = """\
static void {p}_head8(float *restrict y, const signed char *restrict w, const float *restrict scale,
                      const float *restrict b, const float *restrict x, int k, int n)
{{
    int i = 0, j;
    for (j = 0; j < n; ++j) y[j] = 0.0f;
    for (; i + 4 <= k; i += 4) {{          /* four inputs at a time, four outputs per statement group */
        const float x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
        const signed char *restrict w0 = w + (long)i * n, *restrict w1 = w0 + n, *restrict w2 = w1 + n, *restrict w3 = w2 + n;
        for (j = 0; j + 4 <= n; j += 4) {{
            y[j] += (float)w0[j] * x0 + (float)w1[j] * x1 + (float)w2[j] * x2 + (float)w3[j] * x3;
            y[j + 1] += (float)w0[j + 1] * x0 + (float)w1[j + 1] * x1 + (float)w2[j + 1] * x2 + (float)w3[j + 1] * x3;
            y[j + 2] += (float)w0[j + 2] * x0 + (float)w1[j + 2] * x1 + (float)w2[j + 2] * x2 + (float)w3[j + 2] * x3;
            y[j + 3] += (float)w0[j + 3] * x0 + (float)w1[j + 3] * x1 + (float)w2[j + 3] * x2 + (float)w3[j + 3] * x3;
        }}
        for (; j < n; ++j) y[j] += (float)w0[j] * x0 + (float)w1[j] * x1 + (float)w2[j] * x2 + (float)w3[j] * x3;
    }}
    for (; i < k; ++i) {{
        const float xi = x[i];
        const signed char *restrict wi = w + (long)i * n;
        for (j = 0; j < n; ++j) y[j] += (float)wi[j] * xi;
    }}
    for (j = 0; j < n; ++j) y[j] = b[j] + scale[j] * y[j];
}}
"""

TANH = """\
static float fast_tanh(float x)    /* tanh to within 3.5e-7 (Eigen's rational fast tanh; no libm call) */
{{
    const float c = 7.90531110763549805f;
    float x2, p, q;
    x = x > c ? c : (x < -c ? -c : x);
    x2 = x * x;
    p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
    p = x2 * p + -8.60467152213735e-11f;
    p = x2 * p + 5.12229709037114e-08f;
    p = x2 * p + 1.48572235717979e-05f;
    p = x2 * p + 6.37261928875436e-04f;
    p = x2 * p + 4.89352455891786e-03f;
    q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
    q = x2 * q + 2.26843463243900e-03f;
    q = x2 * q + 4.89352518554385e-03f;
    return x * p / q;
}}
"""
