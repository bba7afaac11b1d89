// Convolution as an implicit GEMM: C[m][n] = sum_k W[m][k] * X[k][n], with m an output channel, n an output pixel
// and k = (input channel, kernel row, kernel column). The im2col matrix X is never built: each workgroup gathers
// the BK x BN slice it needs into shared memory, beside the BM x BK slice of weights, and each thread keeps a
// TM x TN block of C in registers. Bias, activation and a fused residual sum are applied on the way out.
//
// Layout: activations are CHW (one plane per channel) at an element offset into their buffer, so a concat slice is
// just an offset. Weights are [out][in][kh][kw], already multiplied by the planner's scale.
layout(local_size_x_id = 0) in;
// Everything that shapes the index arithmetic is a specialisation constant, so each layer shape gets a pipeline whose
// divisions and bounds are by constants (multiplies and shifts once compiled).
layout(constant_id = 0) const uint THREADS = 256;  // (BM / TM) * (BN / TN)
layout(constant_id = 1) const uint BM = 64;        // output channels per workgroup: 16, 32 or 64
layout(constant_id = 2) const uint BN = 64;        // output pixels per workgroup
layout(constant_id = 3) const uint KH = 3;
layout(constant_id = 4) const uint KW = 3;
layout(constant_id = 5) const uint SH = 1;
layout(constant_id = 6) const uint SW = 1;
layout(constant_id = 7) const uint DH = 1;
layout(constant_id = 8) const uint DW = 1;
layout(constant_id = 9) const uint ACT = 0;        // 0 none, 1 ReLU, 2 leaky ReLU
layout(constant_id = 10) const uint HAS_SUM = 0;   // add sumScale * (what the output held before)
layout(constant_id = 11) const uint IN_C = 1;
layout(constant_id = 12) const uint IN_H = 1;
layout(constant_id = 13) const uint IN_W = 1;
layout(constant_id = 14) const uint OUT_C = 1;
layout(constant_id = 15) const uint OUT_H = 1;
layout(constant_id = 16) const uint OUT_W = 1;
layout(constant_id = 17) const int PAD_TOP = 0;
layout(constant_id = 18) const int PAD_LEFT = 0;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) buffer Output { sfloat y[]; };
layout(std430, binding = 2) readonly buffer Weights { sfloat w[]; };
layout(std430, binding = 3) readonly buffer Bias { float b[]; };

// What changes between layers of one shape: where the views start in their buffers, and the activation's numbers.
layout(push_constant) uniform Parameters {
    uint inOffset, outOffset;
    float slope, sumScale;
} p;

const uint TM = 4;
const uint TN = 4;  // the fp16 path below holds a thread's TN columns in one f16vec4
const uint BK = 16;
shared sfloat As[BK * 64];
shared sfloat Bs[BK * 64];

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint columnThreads = BN / TN;
    const uint rowThreads = BM / TM;
    const uint tm = tid / columnThreads;
    const uint tn = tid % columnThreads;
    const uint m0 = gl_WorkGroupID.y * BM;
    // Pixel tiles run along x and, past the device's workgroup-count limit, on along z.
    const uint n0 = (gl_WorkGroupID.x + gl_WorkGroupID.z * gl_NumWorkGroups.x) * BN;
    const uint K = IN_C * KH * KW;
    const uint P = OUT_H * OUT_W;
    if (n0 >= P) return;  // the same for the whole workgroup, so no barrier is left waiting

    float acc[TM][TN];
    for (uint i = 0; i < TM; i++) for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;

    for (uint k0 = 0; k0 < K; k0 += BK) {
        // Weights: consecutive threads read consecutive k of one output channel.
        for (uint e = tid; e < BM * BK; e += THREADS) {
            const uint m = e / BK, kk = e % BK;
            const uint gm = m0 + m, gk = k0 + kk;
            As[kk * BM + m] = (gm < OUT_C && gk < K) ? w[gm * K + gk] : sfloat(0);
        }
        // Input patches: consecutive threads read consecutive output pixels, so rows of the input.
        for (uint e = tid; e < BK * BN; e += THREADS) {
            const uint kk = e / BN, n = e % BN;
            const uint gk = k0 + kk, gn = n0 + n;
            sfloat v = sfloat(0);
            if (gk < K && gn < P) {
                const uint ci = gk / (KH * KW), r = gk % (KH * KW);
                const uint ky = r / KW, kx = r % KW;
                const uint oy = gn / OUT_W, ox = gn % OUT_W;
                const int iy = int(oy * SH + ky * DH) - PAD_TOP;
                const int ix = int(ox * SW + kx * DW) - PAD_LEFT;
                if (iy >= 0 && iy < int(IN_H) && ix >= 0 && ix < int(IN_W)) {
                    v = x[p.inOffset + (ci * IN_H + uint(iy)) * IN_W + uint(ix)];
                }
            }
            Bs[kk * BN + n] = v;
        }
        barrier();
#if FP16
        // fp16 arithmetic: the BK products of a slice are summed in fp16 (packed fp16 math on GPUs that have it), and
        // each slice's sum is added to the fp32 total, so rounding never builds up over the whole of K.
        f16vec4 part[TM];
        for (uint i = 0; i < TM; i++) part[i] = f16vec4(0);
        for (uint kk = 0; kk < BK; kk++) {
            const f16vec4 c = f16vec4(Bs[kk * BN + tn], Bs[kk * BN + tn + columnThreads],
                                      Bs[kk * BN + tn + 2 * columnThreads], Bs[kk * BN + tn + 3 * columnThreads]);
            for (uint i = 0; i < TM; i++) part[i] = fma(f16vec4(As[kk * BM + tm + i * rowThreads]), c, part[i]);
        }
        for (uint i = 0; i < TM; i++) for (uint j = 0; j < TN; j++) acc[i][j] += float(part[i][j]);
#else
        for (uint kk = 0; kk < BK; kk++) {
            float a[TM];
            float c[TN];
            for (uint i = 0; i < TM; i++) a[i] = As[kk * BM + tm + i * rowThreads];
            for (uint j = 0; j < TN; j++) c[j] = Bs[kk * BN + tn + j * columnThreads];
            for (uint i = 0; i < TM; i++) for (uint j = 0; j < TN; j++) acc[i][j] = fma(a[i], c[j], acc[i][j]);
        }
#endif
        barrier();
    }

    for (uint i = 0; i < TM; i++) {
        const uint m = m0 + tm + i * rowThreads;
        if (m >= OUT_C) continue;
        const float bias = b[m];
        for (uint j = 0; j < TN; j++) {
            const uint n = n0 + tn + j * columnThreads;
            if (n >= P) continue;
            float v = acc[i][j] + bias;
            if (ACT == 1) v = max(v, 0.0);
            if (ACT == 2) v = v >= 0.0 ? v : v * p.slope;
            const uint at = p.outOffset + m * P + n;
            if (HAS_SUM == 1) v += p.sumScale * float(y[at]);
            y[at] = sfloat(v);
        }
    }
}
