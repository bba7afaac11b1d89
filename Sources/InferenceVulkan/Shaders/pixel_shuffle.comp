// PyTorch-order pixel shuffle: output channel c at (y, x) comes from input channel c*r*r + (y%r)*r + x%r at (y/r, x/r).
// With `inverse` set, its inverse (pixel unshuffle): output channel c*r*r + i*r + j at (y, x) comes from input channel c
// at (y*r + i, x*r + j).
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer Input { sfloat x[]; };
layout(std430, binding = 1) buffer Output { sfloat y[]; };

layout(push_constant) uniform Parameters {
    uint outC, outH, outW, factor, inOffset, outOffset, inverse;
} p;

void main() {
    const uint count = p.outC * p.outH * p.outW;
    const uint stride = gl_NumWorkGroups.x * 256;
    const uint r = p.factor;
    for (uint i = gl_GlobalInvocationID.x; i < count; i += stride) {
        const uint c = i / (p.outH * p.outW), rest = i % (p.outH * p.outW);
        const uint oy = rest / p.outW, ox = rest % p.outW;
        uint source;
        if (p.inverse != 0u) {
            const uint inH = p.outH * r, inW = p.outW * r, phase = c % (r * r);
            source = ((c / (r * r)) * inH + oy * r + phase / r) * inW + ox * r + phase % r;
        } else {
            source = ((c * r * r + (oy % r) * r + ox % r) * (p.outH / r) + oy / r) * (p.outW / r) + ox / r;
        }
        y[p.outOffset + i] = x[p.inOffset + source];
    }
}
