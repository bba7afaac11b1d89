// Separable resize from tap tables (the same tables the reference kernel uses): rows first in the tables, then
// columns, TAPS entries per output coordinate. Nearest has one tap of weight 1, bicubic four.
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint TAPS = 1;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) buffer Output { sfloat y[]; };
layout(std430, binding = 2) readonly buffer Indices { int indices[]; };
layout(std430, binding = 3) readonly buffer Weights { float weights[]; };

layout(push_constant) uniform Parameters {
    uint channels, inH, inW, outH, outW, inOffset, outOffset;
} p;

void main() {
    const uint count = p.channels * p.outH * p.outW;
    const uint stride = gl_NumWorkGroups.x * 256;
    for (uint i = gl_GlobalInvocationID.x; i < count; i += stride) {
        const uint c = i / (p.outH * p.outW), rest = i % (p.outH * p.outW);
        const uint oy = rest / p.outW, ox = rest % p.outW;
        const uint plane = p.inOffset + c * p.inH * p.inW;
        float acc = 0.0;
        for (uint ty = 0; ty < TAPS; ty++) {
            const uint row = oy * TAPS + ty;
            const uint iy = uint(indices[row]);
            for (uint tx = 0; tx < TAPS; tx++) {
                const uint column = p.outH * TAPS + ox * TAPS + tx;
                acc += weights[row] * weights[column] * float(x[plane + iy * p.inW + uint(indices[column])]);
            }
        }
        y[p.outOffset + i] = sfloat(acc);
    }
}
