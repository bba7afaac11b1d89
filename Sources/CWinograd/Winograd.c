#include "CWinograd.h"

#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Every function that touches AVX-512 says so itself, so the target builds with the default flags and the CPU is
// checked at run time (`upscaler_winograd_supported`) before any of them is called.
#define TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))

/// Tiles transformed, multiplied and transformed back together. A multiple of 6 and 12 (the products' register
/// blocks); 24 keeps one block's transformed input and products near 300 KB for 192 input channels in bf16, within a
/// core's L2.
enum { TILE_BLOCK = 24 };

struct upscaler_winograd {
    int in_channels, out_channels;
    upscaler_winograd_precision precision;
    /// Transformed weights: fp32 `[36][out/16][in][16]`, or bf16 `[36][out/16][in/2][16][2]` (pairs of input channels
    /// side by side, the operand layout of `vdpbf16ps`).
    void *weights;
    float *bias;
    /// bf16 only: each output channel's weights summed over the 3x3 window, `[in][out]`, for the offset correction
    /// (see `input_tile`).
    float *window_sums;
};

int upscaler_winograd_supported(void) {
    __builtin_cpu_init();
    int mask = 0;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512dq")) {
        mask |= 1;
        if (__builtin_cpu_supports("avx512bf16")) mask |= 2;
    }
    return mask;
}

int upscaler_winograd_tiles(int height, int width) { return ((height + 3) / 4) * ((width + 3) / 4); }

/// Tiles the products compute for a block of `count`: the register blocks take 12 (or 6) tiles at a time, so a partial
/// block is rounded up to 12, not to the whole block; the tiles past `count` are zeros.
static int computed_tiles(int count) { return (count + 11) / 12 * 12; }

static size_t element_size(const upscaler_winograd *layer) {
    return layer->precision == UPSCALER_WINOGRAD_BF16 ? 2 : 4;
}

static size_t input_bytes(const upscaler_winograd *layer) {
    return (size_t)36 * TILE_BLOCK * layer->in_channels * element_size(layer);
}

static size_t product_bytes(const upscaler_winograd *layer) {
    return (size_t)36 * TILE_BLOCK * layer->out_channels * sizeof(float);
}

/// Scratch: transformed input, products, then (bf16) the per-tile offsets `[TILE_BLOCK][in]`.
size_t upscaler_winograd_scratch_bytes(const upscaler_winograd *layer) {
    return input_bytes(layer) + product_bytes(layer) + (size_t)TILE_BLOCK * layer->in_channels * sizeof(float);
}

/// Round to nearest even, as `vcvtneps2bf16` does (weights are finite).
static uint16_t to_bf16(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    bits += 0x7FFF + ((bits >> 16) & 1);
    return (uint16_t)(bits >> 16);
}

upscaler_winograd *upscaler_winograd_create(int in_channels, int out_channels, const float *weights,
                                            const float *bias, upscaler_winograd_precision precision) {
    int supported = upscaler_winograd_supported();
    if (in_channels <= 0 || out_channels <= 0 || in_channels % 16 || out_channels % 16) return NULL;
    if (!(supported & (precision == UPSCALER_WINOGRAD_BF16 ? 2 : 1))) return NULL;
    upscaler_winograd *layer = calloc(1, sizeof *layer);
    if (!layer) return NULL;
    layer->in_channels = in_channels;
    layer->out_channels = out_channels;
    layer->precision = precision;
    size_t count = (size_t)36 * in_channels * out_channels;
    layer->weights = aligned_alloc(64, count * element_size(layer));
    layer->bias = aligned_alloc(64, (size_t)out_channels * sizeof(float));
    layer->window_sums = aligned_alloc(64, (size_t)in_channels * out_channels * sizeof(float));
    if (!layer->weights || !layer->bias || !layer->window_sums) {
        upscaler_winograd_destroy(layer);
        return NULL;
    }
    memcpy(layer->bias, bias, (size_t)out_channels * sizeof(float));

    // U = G g G^T, for the interpolation points below (see INPUT_1D).
    static const double G[6][3] = {
        {1, 0, 0},
        {-1.0 / 3, -1.0 / 3, -1.0 / 3},
        {1.0 / 3, -1.0 / 3, 1.0 / 3},
        {1.0 / 15, 2.0 / 15, 4.0 / 15},
        {-16.0 / 15, 8.0 / 15, -4.0 / 15},
        {0, 0, 1},
    };
    int blocks = out_channels / 16;
    for (int o = 0; o < out_channels; o++) {
        for (int i = 0; i < in_channels; i++) {
            const float *g = weights + ((size_t)o * in_channels + i) * 9;
            double window = 0;
            for (int k = 0; k < 9; k++) window += g[k];
            layer->window_sums[(size_t)i * out_channels + o] = (float)window;
            double gg[6][3];
            for (int r = 0; r < 6; r++)
                for (int c = 0; c < 3; c++) gg[r][c] = G[r][0] * g[c] + G[r][1] * g[3 + c] + G[r][2] * g[6 + c];
            for (int r = 0; r < 6; r++) {
                for (int c = 0; c < 6; c++) {
                    float u = (float)(gg[r][0] * G[c][0] + gg[r][1] * G[c][1] + gg[r][2] * G[c][2]);
                    size_t xi = (size_t)r * 6 + c, block = (size_t)(o / 16), lane = (size_t)(o % 16);
                    if (precision == UPSCALER_WINOGRAD_BF16) {
                        size_t at = (((xi * blocks + block) * (in_channels / 2) + i / 2) * 16 + lane) * 2 + (i & 1);
                        ((uint16_t *)layer->weights)[at] = to_bf16(u);
                    } else {
                        ((float *)layer->weights)[((xi * blocks + block) * in_channels + i) * 16 + lane] = u;
                    }
                }
            }
        }
    }
    return layer;
}

void upscaler_winograd_destroy(upscaler_winograd *layer) {
    if (!layer) return;
    free(layer->weights);
    free(layer->bias);
    free(layer->window_sums);
    free(layer);
}

// MARK: - Transforms

// F(4, 3) with interpolation points 0, 1, -1, 2, -1/2 (and infinity). The textbook points 0, +-1, +-2 amplify
// rounding more: in a numeric study of bf16 products on activation-like data, these points gave 3.2x the RMS error of
// a direct bf16 convolution against 4.8x for the textbook set (`python3 tools/winograd_points.py`).

/// B^T x along one axis: six values in, six out.
#define INPUT_1D(x0, x1, x2, x3, x4, x5, r0, r1, r2, r3, r4, r5)                                      \
    do {                                                                                             \
        __m512 half = _mm512_set1_ps(0.5f), one_half = _mm512_set1_ps(1.5f), two = _mm512_set1_ps(2); \
        __m512 five_halves = _mm512_set1_ps(2.5f);                                                   \
        __m512 a = _mm512_sub_ps(x1, x3), e = _mm512_sub_ps(x4, x2);                                 \
        r0 = _mm512_fmadd_ps(one_half, a, _mm512_fnmadd_ps(two, x2, _mm512_add_ps(x0, x4)));         \
        r1 = _mm512_fnmadd_ps(half, x3, _mm512_fnmadd_ps(five_halves, x2, _mm512_sub_ps(x4, x1)));   \
        r2 = _mm512_fnmadd_ps(five_halves, x3, _mm512_fmadd_ps(half, x2, _mm512_add_ps(x4, x1)));    \
        r3 = _mm512_fnmadd_ps(half, a, e);                                                           \
        r4 = _mm512_fmadd_ps(two, a, e);                                                             \
        r5 = _mm512_fnmadd_ps(two, x3, _mm512_fnmadd_ps(one_half, e, _mm512_add_ps(x1, x5)));        \
    } while (0)

/// A^T x along one axis: six values in, four out.
#define OUTPUT_1D(x0, x1, x2, x3, x4, x5, s0, s1, s2, s3)                                            \
    do {                                                                                             \
        __m512 d12 = _mm512_sub_ps(x1, x2), a12 = _mm512_add_ps(x1, x2);                             \
        s0 = _mm512_add_ps(_mm512_add_ps(x0, a12), _mm512_add_ps(x3, x4));                           \
        s1 = _mm512_fnmadd_ps(_mm512_set1_ps(0.5f), x4, _mm512_fmadd_ps(_mm512_set1_ps(2), x3, d12)); \
        s2 = _mm512_fmadd_ps(_mm512_set1_ps(0.25f), x4, _mm512_fmadd_ps(_mm512_set1_ps(4), x3, a12)); \
        s3 = _mm512_add_ps(_mm512_fnmadd_ps(_mm512_set1_ps(0.125f), x4,                              \
                                            _mm512_fmadd_ps(_mm512_set1_ps(8), x3, d12)), x5);       \
    } while (0)

/// Transforms the 6x6 input patch at (y0, x0) (top-left, may lie outside the image) of one 16-channel block into
/// `v[36]`, reading zeros outside the image, after subtracting `offset` from every value.
///
/// The offset exists for bf16. The transform turns a patch's mean into large coefficients whose bf16 rounding error
/// the output transform then spreads over every pixel; activations are mostly smooth and positive, so the mean is most
/// of the signal. Subtracting a per-tile, per-channel offset first and adding back its exact fp32 contribution
/// afterwards (offset times the window sum of the weights, by linearity) keeps only the varying part in bf16.
TARGET_AVX512 static inline void input_tile(const float *block, int height, int width, int y0, int x0, __m512 offset,
                                            __m512 v[36]) {
    __m512 t[6][6];
    int inside = y0 >= 0 && x0 >= 0 && y0 + 6 <= height && x0 + 6 <= width;
    for (int j = 0; j < 6; j++) {
        __m512 d[6];
        int x = x0 + j;
        for (int k = 0; k < 6; k++) {
            int y = y0 + k;
            d[k] = _mm512_sub_ps((inside || (y >= 0 && y < height && x >= 0 && x < width))
                                     ? _mm512_loadu_ps(block + ((size_t)y * width + x) * 16)
                                     : _mm512_setzero_ps(), offset);
        }
        INPUT_1D(d[0], d[1], d[2], d[3], d[4], d[5], t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j]);
    }
    for (int i = 0; i < 6; i++) {
        INPUT_1D(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], v[i * 6 + 0], v[i * 6 + 1], v[i * 6 + 2],
                 v[i * 6 + 3], v[i * 6 + 4], v[i * 6 + 5]);
    }
}

TARGET_AVX512 static void input_transform_fp32(const upscaler_winograd *layer, const float *input, int height,
                                               int width, int first_tile, int count, float *v) {
    int tiles_x = (width + 3) / 4, cin = layer->in_channels;
    size_t plane = (size_t)height * width * 16;
    // Channel block outermost: consecutive tiles then read six rows left to right, which the prefetchers follow.
    for (int b = 0; b < cin / 16; b++) {
        for (int t = 0; t < count; t++) {
            int tile = first_tile + t, y0 = (tile / tiles_x) * 4 - 1, x0 = (tile % tiles_x) * 4 - 1;
            __m512 out[36];
            input_tile(input + b * plane, height, width, y0, x0, _mm512_setzero_ps(), out);
            for (int xi = 0; xi < 36; xi++) _mm512_storeu_ps(v + ((size_t)xi * TILE_BLOCK + t) * cin + b * 16, out[xi]);
        }
    }
    for (int xi = 0; xi < 36 && count < computed_tiles(count); xi++)
        memset(v + ((size_t)xi * TILE_BLOCK + count) * cin, 0,
               (size_t)(computed_tiles(count) - count) * cin * sizeof(float));
}

TARGET_BF16 static void input_transform_bf16(const upscaler_winograd *layer, const float *input, int height,
                                             int width, int first_tile, int count, uint16_t *v, float *offsets) {
    int tiles_x = (width + 3) / 4, cin = layer->in_channels;
    size_t plane = (size_t)height * width * 16;
    // Channel block outermost: consecutive tiles then read six rows left to right, which the prefetchers follow.
    for (int b = 0; b < cin / 16; b++) {
        for (int t = 0; t < count; t++) {
            int tile = first_tile + t, y0 = (tile / tiles_x) * 4 - 1, x0 = (tile % tiles_x) * 4 - 1;
            __m512 out[36];
            // The offset: the mean of the tile's first 2x2 output pixels, those of them inside the image (the
            // first always is).
            const float *centre = input + b * plane + ((size_t)(y0 + 1) * width + x0 + 1) * 16;
            int right = x0 + 2 < width ? 16 : 0, below = y0 + 2 < height ? width * 16 : 0;
            __m512 offset = _mm512_mul_ps(_mm512_set1_ps(0.25f),
                                          _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(centre), _mm512_loadu_ps(centre + right)),
                                                        _mm512_add_ps(_mm512_loadu_ps(centre + below),
                                                                      _mm512_loadu_ps(centre + below + right))));
            _mm512_storeu_ps(offsets + (size_t)t * cin + b * 16, offset);
            input_tile(input + b * plane, height, width, y0, x0, offset, out);
            for (int xi = 0; xi < 36; xi++) {
                __m256bh packed = _mm512_cvtneps_pbh(out[xi]);
                _mm256_storeu_si256((__m256i *)(v + ((size_t)xi * TILE_BLOCK + t) * cin + b * 16), (__m256i)packed);
            }
        }
    }
    for (int xi = 0; xi < 36 && count < computed_tiles(count); xi++)
        memset(v + ((size_t)xi * TILE_BLOCK + count) * cin, 0,
               (size_t)(computed_tiles(count) - count) * cin * sizeof(uint16_t));
}

/// Transforms the products of each tile back to 4x4 outputs, with bias, residual sum and activation, and stores the
/// pixels that lie inside the image.
TARGET_AVX512 static void output_transform(const upscaler_winograd *layer, const float *m, const float *offsets,
                                           float *output, int height, int width, int first_tile, int count, int sum,
                                           float sum_scale, const float *slopes) {
    int tiles_x = (width + 3) / 4, blocks = layer->out_channels / 16;
    size_t plane = (size_t)height * width * 16, xi_stride = (size_t)blocks * TILE_BLOCK * 16;
    __m512 sum_factor = _mm512_set1_ps(sum_scale);
    for (int t = 0; t < count; t++) {
        int tile = first_tile + t, y0 = (tile / tiles_x) * 4, x0 = (tile % tiles_x) * 4;
        int rows = height - y0 < 4 ? height - y0 : 4, cols = width - x0 < 4 ? width - x0 : 4;
        for (int b = 0; b < blocks; b++) {
            const float *p = m + ((size_t)b * TILE_BLOCK + t) * 16;
            __m512 s[4][6];
            for (int j = 0; j < 6; j++) {
                OUTPUT_1D(_mm512_loadu_ps(p + (0 * 6 + j) * xi_stride), _mm512_loadu_ps(p + (1 * 6 + j) * xi_stride),
                          _mm512_loadu_ps(p + (2 * 6 + j) * xi_stride), _mm512_loadu_ps(p + (3 * 6 + j) * xi_stride),
                          _mm512_loadu_ps(p + (4 * 6 + j) * xi_stride), _mm512_loadu_ps(p + (5 * 6 + j) * xi_stride),
                          s[0][j], s[1][j], s[2][j], s[3][j]);
            }
            __m512 bias = _mm512_loadu_ps(layer->bias + b * 16);
            if (offsets) {
                // The offsets' contribution, exact in fp32: sum over input channels of offset x window sum.
                const float *tile_offsets = offsets + (size_t)t * layer->in_channels;
                const float *sums = layer->window_sums + b * 16;
                for (int i = 0; i < layer->in_channels; i++)
                    bias = _mm512_fmadd_ps(_mm512_set1_ps(tile_offsets[i]),
                                           _mm512_loadu_ps(sums + (size_t)i * layer->out_channels), bias);
            }
            float *block = output + b * plane;
            __m512 slope = slopes ? _mm512_loadu_ps(slopes + b * 16) : _mm512_setzero_ps();
            for (int r = 0; r < rows; r++) {
                __m512 y[4];
                OUTPUT_1D(s[r][0], s[r][1], s[r][2], s[r][3], s[r][4], s[r][5], y[0], y[1], y[2], y[3]);
                float *row = block + ((size_t)(y0 + r) * width + x0) * 16;
                for (int c = 0; c < cols; c++) {
                    __m512 value = _mm512_add_ps(y[c], bias);
                    if (sum) value = _mm512_fmadd_ps(sum_factor, _mm512_loadu_ps(row + c * 16), value);
                    if (slopes) {
                        __mmask16 negative = _mm512_cmp_ps_mask(value, _mm512_setzero_ps(), _CMP_LT_OQ);
                        value = _mm512_mask_mul_ps(value, negative, value, slope);
                    }
                    _mm512_storeu_ps(row + c * 16, value);
                }
            }
        }
    }
}

// MARK: - Batched products
//
// For each of the 36 transform positions: M[tiles x out] = V[tiles x in] * U[in x out]. A register block holds
// NT tiles by NCO vectors of 16 output channels; each step broadcasts one input value (bf16: one pair of channels)
// per tile and multiplies it with NCO weight vectors.

#define DEFINE_FP32_BLOCK(NCO, NT)                                                                               \
    TARGET_AVX512 static inline void block_fp32_##NCO##x##NT(const float *v, int cin, const float *u,           \
                                                            size_t u_pitch, float *m, size_t m_pitch) {         \
        __m512 acc[NT][NCO];                                                                                     \
        for (int t = 0; t < NT; t++)                                                                             \
            for (int k = 0; k < NCO; k++) acc[t][k] = _mm512_setzero_ps();                                       \
        for (int i = 0; i < cin; i++) {                                                                          \
            __m512 w[NCO];                                                                                       \
            for (int k = 0; k < NCO; k++) w[k] = _mm512_load_ps(u + k * u_pitch + (size_t)i * 16);              \
            for (int t = 0; t < NT; t++) {                                                                       \
                __m512 a = _mm512_set1_ps(v[(size_t)t * cin + i]);                                               \
                for (int k = 0; k < NCO; k++) acc[t][k] = _mm512_fmadd_ps(a, w[k], acc[t][k]);                   \
            }                                                                                                    \
        }                                                                                                        \
        for (int t = 0; t < NT; t++)                                                                             \
            for (int k = 0; k < NCO; k++) _mm512_storeu_ps(m + k * m_pitch + (size_t)t * 16, acc[t][k]);         \
    }

#define DEFINE_BF16_BLOCK(NCO, NT)                                                                               \
    TARGET_BF16 static inline void block_bf16_##NCO##x##NT(const uint16_t *v, int cin, const uint16_t *u,       \
                                                          size_t u_pitch, float *m, size_t m_pitch) {           \
        __m512 acc[NT][NCO];                                                                                     \
        for (int t = 0; t < NT; t++)                                                                             \
            for (int k = 0; k < NCO; k++) acc[t][k] = _mm512_setzero_ps();                                       \
        for (int p = 0; p < cin / 2; p++) {                                                                      \
            __m512bh w[NCO];                                                                                     \
            for (int k = 0; k < NCO; k++)                                                                        \
                w[k] = (__m512bh)_mm512_load_si512((const void *)(u + k * u_pitch + (size_t)p * 32));             \
            for (int t = 0; t < NT; t++) {                                                                       \
                int32_t pair;                                                                                    \
                memcpy(&pair, v + (size_t)t * cin + 2 * p, 4);                                                   \
                __m512bh a = (__m512bh)_mm512_set1_epi32(pair);                                                  \
                for (int k = 0; k < NCO; k++) acc[t][k] = _mm512_dpbf16_ps(acc[t][k], a, w[k]);                  \
            }                                                                                                    \
        }                                                                                                        \
        for (int t = 0; t < NT; t++)                                                                             \
            for (int k = 0; k < NCO; k++) _mm512_storeu_ps(m + k * m_pitch + (size_t)t * 16, acc[t][k]);         \
    }

DEFINE_FP32_BLOCK(4, 6)
DEFINE_FP32_BLOCK(2, 12)
DEFINE_FP32_BLOCK(1, 12)
DEFINE_BF16_BLOCK(4, 6)
DEFINE_BF16_BLOCK(2, 12)
DEFINE_BF16_BLOCK(1, 12)

/// All 36 products for the first `tiles` tiles of a block (a multiple of 12): whole groups of four output-channel
/// vectors, then a pair, then one.
#define DEFINE_PRODUCTS(NAME, TARGET, ELEMENT, BLOCK)                                                            \
    TARGET static void NAME(const upscaler_winograd *layer, const ELEMENT *v, float *m, int tiles) {             \
        int cin = layer->in_channels, blocks = layer->out_channels / 16;                                          \
        size_t u_pitch = (size_t)cin * 16, m_pitch = (size_t)TILE_BLOCK * 16;                                     \
        for (int xi = 0; xi < 36; xi++) {                                                                         \
            const ELEMENT *vx = v + (size_t)xi * TILE_BLOCK * cin;                                                \
            const ELEMENT *ux = (const ELEMENT *)layer->weights + (size_t)xi * blocks * u_pitch;                  \
            float *mx = m + (size_t)xi * blocks * m_pitch;                                                        \
            int b = 0;                                                                                            \
            for (; b + 4 <= blocks; b += 4)                                                                       \
                for (int t = 0; t < tiles; t += 6)                                                                \
                    BLOCK##_4x6(vx + (size_t)t * cin, cin, ux + b * u_pitch, u_pitch, mx + b * m_pitch + t * 16, \
                                m_pitch);                                                                         \
            for (; b + 2 <= blocks; b += 2)                                                                       \
                for (int t = 0; t < tiles; t += 12)                                                               \
                    BLOCK##_2x12(vx + (size_t)t * cin, cin, ux + b * u_pitch, u_pitch, mx + b * m_pitch + t * 16,\
                                 m_pitch);                                                                        \
            for (; b < blocks; b++)                                                                               \
                for (int t = 0; t < tiles; t += 12)                                                               \
                    BLOCK##_1x12(vx + (size_t)t * cin, cin, ux + b * u_pitch, u_pitch, mx + b * m_pitch + t * 16,\
                                 m_pitch);                                                                        \
        }                                                                                                         \
    }

DEFINE_PRODUCTS(products_fp32, TARGET_AVX512, float, block_fp32)
DEFINE_PRODUCTS(products_bf16, TARGET_BF16, uint16_t, block_bf16)

void upscaler_winograd_run(const upscaler_winograd *layer, const float *input, float *output, int height, int width,
                           int tile_begin, int tile_end, int sum, float sum_scale, const float *slopes,
                           void *scratch) {
    void *v = scratch;
    float *m = (float *)((char *)scratch + input_bytes(layer));
    float *offsets = layer->precision == UPSCALER_WINOGRAD_BF16
                         ? (float *)((char *)scratch + input_bytes(layer) + product_bytes(layer)) : NULL;
    for (int first = tile_begin; first < tile_end; first += TILE_BLOCK) {
        int count = tile_end - first < TILE_BLOCK ? tile_end - first : TILE_BLOCK;
        if (layer->precision == UPSCALER_WINOGRAD_BF16) {
            input_transform_bf16(layer, input, height, width, first, count, v, offsets);
            products_bf16(layer, v, m, computed_tiles(count));
        } else {
            input_transform_fp32(layer, input, height, width, first, count, v);
            products_fp32(layer, v, m, computed_tiles(count));
        }
        output_transform(layer, m, offsets, output, height, width, first, count, sum, sum_scale, slopes);
    }
}
