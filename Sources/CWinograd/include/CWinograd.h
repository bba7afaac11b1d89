#ifndef UPSCALER_CWINOGRAD_H
#define UPSCALER_CWINOGRAD_H

#include <stddef.h>

/// A 3x3, stride-1, pad-1 convolution computed as Winograd F(4x4, 3x3) on AVX-512, reading and writing the engine's
/// channel-blocked layout (nChw16c). The input and output transforms run in fp32; the 36 batched products run in
/// fp32 (FMA) or bf16 with fp32 accumulation (`vdpbf16ps`). Bias, a residual sum and a (leaky or parametric) ReLU
/// are fused into the output transform.
///
/// Calls are single-threaded: the caller splits the tile range across its own threads, each with its own scratch.

typedef struct upscaler_winograd upscaler_winograd;

typedef enum {
    UPSCALER_WINOGRAD_FP32 = 0,
    UPSCALER_WINOGRAD_BF16 = 1,
} upscaler_winograd_precision;

/// What this CPU can run: bit 0 fp32 (AVX-512F), bit 1 bf16 (AVX-512 BF16).
int upscaler_winograd_supported(void);

/// Transforms and packs the weights. `weights` is OIHW (`out_channels` x `in_channels` x 3 x 3) and `bias` has
/// `out_channels` values, both already padded with zeros and scaled; both channel counts are multiples of 16.
/// Returns NULL when the precision is not supported here or memory is short.
upscaler_winograd *upscaler_winograd_create(int in_channels, int out_channels, const float *weights,
                                            const float *bias, upscaler_winograd_precision precision);
void upscaler_winograd_destroy(upscaler_winograd *layer);

/// Bytes of scratch one thread needs for `upscaler_winograd_run` (64-byte aligned memory).
size_t upscaler_winograd_scratch_bytes(const upscaler_winograd *layer);

/// The number of 4x4 output tiles for an image of this size: the unit the caller splits across threads.
int upscaler_winograd_tiles(int height, int width);

/// Computes output tiles [tile_begin, tile_end) of `output` (out_channels x height x width, blocked) from `input`
/// (in_channels x height x width, blocked, zero padding of 1 implied). With `sum`, adds `sum_scale` times what the
/// output held before; with `slopes` (one per output channel), then applies `x < 0 ? slope * x : x`, which covers
/// ReLU, leaky ReLU and PReLU.
void upscaler_winograd_run(const upscaler_winograd *layer, const float *input, float *output, int height, int width,
                           int tile_begin, int tile_end, int sum, float sum_scale, const float *slopes,
                           void *scratch);

#endif
