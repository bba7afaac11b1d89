#version 450
// Prepended to every shader. FP16=1 stores activations and weights as fp16 (16-bit storage buffers) and lets the
// convolution multiply and add in fp16 within a slice of K; totals stay fp32.
#if FP16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define sfloat float16_t
#else
#define sfloat float
#endif
