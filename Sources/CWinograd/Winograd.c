#include "CWinograd.h"

#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "WinogradGemm.h"

struct upscaler_winograd {
    int in_channels, out_channels;
    upscaler_winograd_precision precision;
    /// Transformed weights: fp32 `[36][out/16][in][16]`, or bf16 `[36][out/16][in/2][16][2]` (pairs of input channels
    /// side by side, the operand layout of `vdpbf16ps`).
    void *weights;
    float *bias;
    /// bf16 only: each output channel's weights summed over the 3x3 window, `[out/16][in][16]`, for the offset
    /// correction (see `tile_offset`).
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

/// Scratch: transformed input, products, then (bf16) the per-tile offsets `[TILE_BLOCK][in]` and their contributions
/// `[out/16][TILE_BLOCK][16]`.
size_t upscaler_winograd_scratch_bytes(const upscaler_winograd *layer) {
    return input_bytes(layer) + product_bytes(layer)
           + (size_t)TILE_BLOCK * (layer->in_channels + layer->out_channels) * sizeof(float);
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
            layer->window_sums[((size_t)(o / 16) * in_channels + i) * 16 + o % 16] = (float)window;
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
#define INPUT_1D(x0, x1, x2, x3, x4, x5, r0, r1, r2, r3, r4, r5)                                                      \
    do {                                                                                                              \
        __m512 half = _mm512_set1_ps(0.5f), one_half = _mm512_set1_ps(1.5f), two = _mm512_set1_ps(2);                 \
        __m512 five_halves = _mm512_set1_ps(2.5f);                                                                    \
        __m512 a = _mm512_sub_ps(x1, x3), e = _mm512_sub_ps(x4, x2);                                                  \
        r0 = _mm512_fmadd_ps(one_half, a, _mm512_fnmadd_ps(two, x2, _mm512_add_ps(x0, x4)));                          \
        r1 = _mm512_fnmadd_ps(half, x3, _mm512_fnmadd_ps(five_halves, x2, _mm512_sub_ps(x4, x1)));                    \
        r2 = _mm512_fnmadd_ps(five_halves, x3, _mm512_fmadd_ps(half, x2, _mm512_add_ps(x4, x1)));                     \
        r3 = _mm512_fnmadd_ps(half, a, e);                                                                            \
        r4 = _mm512_fmadd_ps(two, a, e);                                                                              \
        r5 = _mm512_fnmadd_ps(two, x3, _mm512_fnmadd_ps(one_half, e, _mm512_add_ps(x1, x5)));                         \
    } while (0)

/// A^T x along one axis: six values in, four out.
#define OUTPUT_1D(x0, x1, x2, x3, x4, x5, s0, s1, s2, s3)                                                             \
    do {                                                                                                              \
        __m512 d12 = _mm512_sub_ps(x1, x2), a12 = _mm512_add_ps(x1, x2);                                              \
        s0 = _mm512_add_ps(_mm512_add_ps(x0, a12), _mm512_add_ps(x3, x4));                                            \
        s1 = _mm512_fnmadd_ps(_mm512_set1_ps(0.5f), x4, _mm512_fmadd_ps(_mm512_set1_ps(2), x3, d12));                 \
        s2 = _mm512_fmadd_ps(_mm512_set1_ps(0.25f), x4, _mm512_fmadd_ps(_mm512_set1_ps(4), x3, a12));                 \
        s3 = _mm512_add_ps(_mm512_fnmadd_ps(_mm512_set1_ps(0.125f), x4,                                               \
                                            _mm512_fmadd_ps(_mm512_set1_ps(8), x3, d12)), x5);                        \
    } while (0)

/// B^T along y of input column `x`, rows y0..y0+5, of one 16-channel block, reading zeros outside the image.
/// `rows_inside`: all six rows lie in the image.
TARGET_AVX512 static inline void input_column(const float *block, int height, int width, int y0, int x,
                                              int rows_inside, __m512 column[6]) {
    __m512 d[6];
    int x_inside = x >= 0 && x < width;
    for (int k = 0; k < 6; k++) {
        int y = y0 + k;
        d[k] = x_inside && (rows_inside || (y >= 0 && y < height))
                   ? _mm512_loadu_ps(block + ((size_t)y * width + x) * 16)
                   : _mm512_setzero_ps();
    }
    INPUT_1D(d[0], d[1], d[2], d[3], d[4], d[5], column[0], column[1], column[2], column[3], column[4], column[5]);
}

/// The bf16 offset of a tile whose 6x6 patch starts at (y0, x0): the mean of its first 2x2 output pixels, those of
/// them inside the image (the first always is).
///
/// The offset exists for bf16. The transform turns a patch's mean into large coefficients whose bf16 rounding error
/// the output transform then spreads over every pixel; activations are mostly smooth and positive, so the mean is most
/// of the signal. Taking a per-tile, per-channel offset out of the patch before rounding, and adding back its exact
/// fp32 contribution afterwards (offset times the window sum of the weights, by linearity: see `corrections`), keeps
/// only the varying part in bf16. A constant patch transforms to -3 x -3 = 9 times the constant at coefficient (1, 1)
/// and zero elsewhere (B^T applied to ones is (0, -3, 0, 0, 0, 0)), so taking the offset out is one multiply-add there.
TARGET_AVX512 static inline __m512 tile_offset(const float *block, int height, int width, int y0, int x0) {
    const float *centre = block + ((size_t)(y0 + 1) * width + x0 + 1) * 16;
    int right = x0 + 2 < width ? 16 : 0, below = y0 + 2 < height ? width * 16 : 0;
    __m512 sum = _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(centre), _mm512_loadu_ps(centre + right)),
                               _mm512_add_ps(_mm512_loadu_ps(centre + below), _mm512_loadu_ps(centre + below + right)));
    return _mm512_mul_ps(_mm512_set1_ps(0.25f), sum);
}

/// Transforms the 6x6 input patches of tiles [first_tile, first_tile + count) into `v` (`[36][TILE_BLOCK][in]`), and
/// for bf16 keeps each tile's offsets in `offsets` (`[TILE_BLOCK][in]`), channel block by channel block. Neighbouring
/// tiles in a row share two columns of their patches, so each tile computes the pass along y only for its four new
/// columns and takes the other two from the tile before: `columns` holds the last eight, at slot x mod 8 (tiles step
/// by 4, so a tile's six never collide). STORE(at, value) writes one coefficient; with OFFSETS (bf16) each tile's
/// offset is taken out of coefficient (1, 1). Tiles past `count` up to the 12 the products compute get zeros.
#define DEFINE_INPUT_TRANSFORM(NAME, TARGET, ELEMENT, OFFSETS, STORE)                                                 \
    TARGET static void NAME(const upscaler_winograd *layer, const float *input, int height, int width,                \
                            int first_tile, int count, ELEMENT *v, float *offsets) {                                  \
        int tiles_x = (width + 3) / 4, cin = layer->in_channels, computed = computed_tiles(count);                    \
        size_t plane = (size_t)height * width * 16;                                                                   \
        /* Channel block outermost: consecutive tiles then read six rows left to right, which the prefetchers   */    \
        /* follow.                                                                                               */   \
        for (int b = 0; b < cin / 16; b++) {                                                                          \
            const float *block = input + b * plane;                                                                   \
            __m512 columns[8][6];                                                                                     \
            for (int t = 0; t < count; t++) {                                                                         \
                int tile = first_tile + t, tx = tile % tiles_x, y0 = (tile / tiles_x) * 4 - 1, x0 = tx * 4 - 1;       \
                int rows_inside = y0 >= 0 && y0 + 6 <= height, base = (tx * 4) & 7;                                   \
                for (int j = t > 0 && tx > 0 ? 2 : 0; j < 6; j++)                                                     \
                    input_column(block, height, width, y0, x0 + j, rows_inside, columns[(base + j) & 7]);             \
                __m512 dc = _mm512_setzero_ps();                                                                      \
                if (OFFSETS) {                                                                                        \
                    __m512 offset = tile_offset(block, height, width, y0, x0);                                        \
                    _mm512_storeu_ps(offsets + (size_t)t * cin + b * 16, offset);                                     \
                    dc = _mm512_mul_ps(_mm512_set1_ps(9), offset);                                                    \
                }                                                                                                     \
                for (int i = 0; i < 6; i++) {                                                                         \
                    __m512 r[6];                                                                                      \
                    INPUT_1D(columns[base][i], columns[(base + 1) & 7][i], columns[(base + 2) & 7][i],                \
                             columns[(base + 3) & 7][i], columns[(base + 4) & 7][i], columns[(base + 5) & 7][i],      \
                             r[0], r[1], r[2], r[3], r[4], r[5]);                                                     \
                    if (OFFSETS && i == 1) r[1] = _mm512_sub_ps(r[1], dc);                                            \
                    for (int k = 0; k < 6; k++)                                                                   \
                        STORE(v + ((size_t)(i * 6 + k) * TILE_BLOCK + t) * cin + b * 16, r[k]);                   \
                }                                                                                                     \
            }                                                                                                         \
        }                                                                                                             \
        for (int xi = 0; xi < 36 && count < computed; xi++)                                                           \
            memset(v + ((size_t)xi * TILE_BLOCK + count) * cin, 0,                                                \
                   (size_t)(computed - count) * cin * sizeof(ELEMENT));                                           \
        if (OFFSETS && count < computed)                                                                              \
            memset(offsets + (size_t)count * cin, 0, (size_t)(computed - count) * cin * sizeof(float));               \
    }

#define STORE_FP32(at, value) _mm512_storeu_ps((at), (value))
#define STORE_BF16(at, value) _mm256_storeu_si256((__m256i *)(at), (__m256i)_mm512_cvtneps_pbh(value))

DEFINE_INPUT_TRANSFORM(input_transform_fp32, TARGET_AVX512, float, 0, STORE_FP32)
DEFINE_INPUT_TRANSFORM(input_transform_bf16, TARGET_BF16, uint16_t, 1, STORE_BF16)

/// Transforms the products of each tile back to 4x4 outputs, with bias, residual sum and activation, and stores the
/// pixels that lie inside the image.
/// `corrections` (bf16, else NULL): per tile, what its offsets contribute to each output channel,
/// `[out/16][TILE_BLOCK][16]`.
TARGET_AVX512 static void output_transform(const upscaler_winograd *layer, const float *m, const float *corrections,
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
            if (corrections)
                bias = _mm512_add_ps(bias, _mm512_loadu_ps(corrections + ((size_t)b * TILE_BLOCK + t) * 16));
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

void upscaler_winograd_run(const upscaler_winograd *layer, const float *input, float *output, int height, int width,
                           int tile_begin, int tile_end, int sum, float sum_scale, const float *slopes,
                           void *scratch) {
    int bf16 = layer->precision == UPSCALER_WINOGRAD_BF16, cin = layer->in_channels, blocks = layer->out_channels / 16;
    void *v = scratch;
    float *m = (float *)((char *)scratch + input_bytes(layer));
    float *offsets = bf16 ? (float *)((char *)m + product_bytes(layer)) : NULL;
    float *corrections = bf16 ? offsets + (size_t)TILE_BLOCK * cin : NULL;
    // Per transform position: its rows of the transformed input, its weights, its products.
    size_t v_step = (size_t)TILE_BLOCK * cin, u_step = (size_t)layer->out_channels * cin,
           m_step = (size_t)layer->out_channels * TILE_BLOCK;
    for (int first = tile_begin; first < tile_end; first += TILE_BLOCK) {
        int count = tile_end - first < TILE_BLOCK ? tile_end - first : TILE_BLOCK, tiles = computed_tiles(count);
        if (bf16) {
            input_transform_bf16(layer, input, height, width, first, count, v, offsets);
            for (int xi = 0; xi < 36; xi++)
                gemm_bf16((const uint16_t *)v + xi * v_step, cin, (const uint16_t *)layer->weights + xi * u_step,
                          blocks, m + xi * m_step, tiles);
            // The offsets' contribution, exact in fp32: sum over input channels of offset x window sum.
            gemm_fp32(offsets, cin, layer->window_sums, blocks, corrections, tiles);
        } else {
            input_transform_fp32(layer, input, height, width, first, count, v, NULL);
            for (int xi = 0; xi < 36; xi++)
                gemm_fp32((const float *)v + xi * v_step, cin, (const float *)layer->weights + xi * u_step, blocks,
                          m + xi * m_step, tiles);
        }
        output_transform(layer, m, corrections, output, height, width, first, count, sum, sum_scale, slopes);
    }
}
