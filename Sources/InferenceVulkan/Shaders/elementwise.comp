// Element-wise ops over views of equal shape. A view of a CHW storage is one contiguous run of elements, so every op
// here is a flat loop from an element offset; a grid-stride loop keeps the workgroup count under the device limit.
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint MODE = 0;  // 0 copy, 1 a*ca + b*cb, 2 a*b, 3 max(a, b), 4 a*ca + s, 5 PReLU

layout(std430, binding = 0) readonly buffer A { sfloat a[]; };
layout(std430, binding = 1) readonly buffer B { sfloat b[]; };
layout(std430, binding = 2) buffer Out { sfloat o[]; };
layout(std430, binding = 3) readonly buffer Slopes { float slopes[]; };

layout(push_constant) uniform Parameters {
    uint count, aOffset, bOffset, outOffset;
    uint plane;          // PReLU: elements per channel; 0 means one slope for all
    float ca, cb, s;
} p;

void main() {
    const uint stride = gl_NumWorkGroups.x * 256;
    for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
        const float va = float(a[p.aOffset + i]);
        float r = va;
        if (MODE == 1) r = va * p.ca + float(b[p.bOffset + i]) * p.cb;
        if (MODE == 2) r = va * float(b[p.bOffset + i]);
        if (MODE == 3) r = max(va, float(b[p.bOffset + i]));
        if (MODE == 4) r = va * p.ca + p.s;
        if (MODE == 5) r = va < 0.0 ? va * slopes[p.plane == 0 ? 0 : i / p.plane] : va;
        o[p.outOffset + i] = sfloat(r);
    }
}
