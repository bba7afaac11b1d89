#ifndef UPSCALER_WINOGRAD_GEMM_H
#define UPSCALER_WINOGRAD_GEMM_H

// The register-blocked matrix products of the Winograd kernels (private to this target).

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

// Every function that touches AVX-512 says so itself, so the target builds with the default flags and the CPU is
// checked at run time (`upscaler_winograd_supported`) before any of them is called.
#define TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))

/// Tiles transformed, multiplied and transformed back together. A multiple of 6 and 12 (the products' register
/// blocks); 24 keeps one block's transformed input and products near 300 KB for 192 input channels in bf16, within a
/// core's L2.
enum { TILE_BLOCK = 24 };

// M[tiles x out] = V[tiles x in] * U[in x out], once per transform position and, for bf16, once more for the
// offsets' contributions (in fp32). A register block holds NT tiles by NCO vectors of 16 output channels; each step
// broadcasts one input value (bf16: one pair of channels) per tile and multiplies it with NCO weight vectors.

/// The register blocks' loops over tiles and output vectors must be unrolled whole, or the accumulators live in
/// memory: clang left the 2x12 blocks' tile loop rolled, and they ran at 40 % of the 4x6 blocks' rate.
#define UNROLLED _Pragma("clang loop unroll(full)")

#define DEFINE_FP32_BLOCK(NCO, NT)                                                                                    \
    TARGET_AVX512 static inline void block_fp32_##NCO##x##NT(const float *v, int cin, const float *u,                 \
                                                            size_t u_pitch, float *m, size_t m_pitch) {               \
        __m512 acc[NT][NCO];                                                                                          \
        UNROLLED for (int t = 0; t < NT; t++)                                                                         \
            UNROLLED for (int k = 0; k < NCO; k++) acc[t][k] = _mm512_setzero_ps();                                   \
        for (int i = 0; i < cin; i++) {                                                                               \
            __m512 w[NCO];                                                                                            \
            UNROLLED for (int k = 0; k < NCO; k++) w[k] = _mm512_load_ps(u + k * u_pitch + (size_t)i * 16);           \
            UNROLLED for (int t = 0; t < NT; t++) {                                                                   \
                __m512 a = _mm512_set1_ps(v[(size_t)t * cin + i]);                                                    \
                UNROLLED for (int k = 0; k < NCO; k++) acc[t][k] = _mm512_fmadd_ps(a, w[k], acc[t][k]);               \
            }                                                                                                         \
        }                                                                                                             \
        UNROLLED for (int t = 0; t < NT; t++)                                                                         \
            UNROLLED for (int k = 0; k < NCO; k++) _mm512_storeu_ps(m + k * m_pitch + (size_t)t * 16, acc[t][k]);     \
    }

#define DEFINE_BF16_BLOCK(NCO, NT)                                                                                    \
    TARGET_BF16 static inline void block_bf16_##NCO##x##NT(const uint16_t *v, int cin, const uint16_t *u,             \
                                                          size_t u_pitch, float *m, size_t m_pitch) {                 \
        __m512 acc[NT][NCO];                                                                                          \
        UNROLLED for (int t = 0; t < NT; t++)                                                                         \
            UNROLLED for (int k = 0; k < NCO; k++) acc[t][k] = _mm512_setzero_ps();                                   \
        for (int p = 0; p < cin / 2; p++) {                                                                           \
            __m512bh w[NCO];                                                                                          \
            UNROLLED for (int k = 0; k < NCO; k++)                                                                    \
                w[k] = (__m512bh)_mm512_load_si512((const void *)(u + k * u_pitch + (size_t)p * 32));                 \
            UNROLLED for (int t = 0; t < NT; t++) {                                                                   \
                int32_t pair;                                                                                         \
                memcpy(&pair, v + (size_t)t * cin + 2 * p, 4);                                                        \
                __m512bh a = (__m512bh)_mm512_set1_epi32(pair);                                                       \
                UNROLLED for (int k = 0; k < NCO; k++) acc[t][k] = _mm512_dpbf16_ps(acc[t][k], a, w[k]);              \
            }                                                                                                         \
        }                                                                                                             \
        UNROLLED for (int t = 0; t < NT; t++)                                                                         \
            UNROLLED for (int k = 0; k < NCO; k++) _mm512_storeu_ps(m + k * m_pitch + (size_t)t * 16, acc[t][k]);     \
    }

DEFINE_FP32_BLOCK(4, 6)
DEFINE_FP32_BLOCK(2, 12)
DEFINE_FP32_BLOCK(1, 12)
DEFINE_BF16_BLOCK(4, 6)
DEFINE_BF16_BLOCK(2, 12)
DEFINE_BF16_BLOCK(1, 12)

/// M[tiles x out] = V[tiles x in] * U[in x out] for `tiles` tiles (a multiple of 12): whole groups of four
/// output-channel vectors, then a pair, then one. U is `[out/16][in][16]` (bf16: pairs of input channels), M
/// `[out/16][TILE_BLOCK][16]`.
#define DEFINE_GEMM(NAME, TARGET, ELEMENT, BLOCK)                                                                     \
    TARGET static void NAME(const ELEMENT *v, int cin, const ELEMENT *u, int blocks, float *m, int tiles) {           \
        size_t u_pitch = (size_t)cin * 16, m_pitch = (size_t)TILE_BLOCK * 16;                                         \
        int b = 0;                                                                                                    \
        for (; b + 4 <= blocks; b += 4)                                                                               \
            for (int t = 0; t < tiles; t += 6)                                                                        \
                BLOCK##_4x6(v + (size_t)t * cin, cin, u + b * u_pitch, u_pitch, m + b * m_pitch + t * 16, m_pitch);   \
        for (; b + 2 <= blocks; b += 2)                                                                               \
            for (int t = 0; t < tiles; t += 12)                                                                       \
                BLOCK##_2x12(v + (size_t)t * cin, cin, u + b * u_pitch, u_pitch, m + b * m_pitch + t * 16, m_pitch);  \
        for (; b < blocks; b++)                                                                                       \
            for (int t = 0; t < tiles; t += 12)                                                                       \
                BLOCK##_1x12(v + (size_t)t * cin, cin, u + b * u_pitch, u_pitch, m + b * m_pitch + t * 16, m_pitch);  \
    }

DEFINE_GEMM(gemm_fp32, TARGET_AVX512, float, block_fp32)
DEFINE_GEMM(gemm_bf16, TARGET_BF16, uint16_t, block_bf16)

#endif
