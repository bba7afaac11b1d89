// Why this shim exists: Swift cannot call C variadic functions (every libvips operation that takes
// optional arguments is `...`, NULL-terminated), cannot expand function-like macros (VIPS_INIT) and
// cannot use GObject's cast macros (G_OBJECT, VIPS_AREA). Each function here is a thin, fixed-argument
// wrapper over exactly one such call, so that the Swift `Imaging` target never needs C varargs.
// Every function carries the `upscaler_vips_` prefix. Return values follow libvips: 0 on success,
// -1 on failure with the reason in vips_error_buffer().
#ifndef UPSCALER_CVIPS_SHIM_H
#define UPSCALER_CVIPS_SHIM_H

#include <vips/vips.h>

/// VIPS_INIT is a macro (it checks the ABI version before calling vips_init).
int upscaler_vips_init(const char *argv0);

/// g_object_unref needs a G_OBJECT cast; these keep the Swift side free of untyped pointers.
void upscaler_vips_image_unref(VipsImage *image);
void upscaler_vips_source_unref(VipsSource *source);

/// A source over a private copy of `data`, so the source never points into Swift-owned memory.
/// (vips_source_new_from_memory does not copy, and VIPS_AREA is a cast macro.)
VipsSource *upscaler_vips_source_new_from_copy(const void *data, size_t length);

/// Loaders with options: lazy (header only until pixels are read), sequential, and `fail_on`
/// so that truncated or corrupt files fail instead of decoding as grey.
int upscaler_vips_pngload_source(VipsSource *source, VipsImage **out, VipsFailOn fail_on);
int upscaler_vips_jpegload_source(VipsSource *source, VipsImage **out, VipsFailOn fail_on);
int upscaler_vips_webpload_source(VipsSource *source, VipsImage **out, VipsFailOn fail_on);
/// TIFF: the first page. GIF: the first frame. HEIF/AVIF: the primary image.
int upscaler_vips_tiffload_source(VipsSource *source, VipsImage **out, VipsFailOn fail_on);
int upscaler_vips_gifload_source(VipsSource *source, VipsImage **out, VipsFailOn fail_on);
int upscaler_vips_heifload_source(VipsSource *source, VipsImage **out, VipsFailOn fail_on);

/// Whether this libvips has a loader with this nickname, e.g. "heifload_source" (modules may be missing).
int upscaler_vips_has_operation(const char *nickname);


/// `n` bands starting at `first` (vips_extract_band is variadic).
int upscaler_vips_extract_bands(VipsImage *in, VipsImage **out, int first, int n);
/// `a * in + b` per value (vips_linear1 is variadic).
int upscaler_vips_linear1(VipsImage *in, VipsImage **out, double a, double b);

/// Rotates and flips the image as its EXIF orientation says, and drops the tag (vips_autorot is variadic).
int upscaler_vips_autorot(VipsImage *in, VipsImage **out);
int upscaler_vips_colourspace(VipsImage *in, VipsImage **out, VipsInterpretation space);
int upscaler_vips_cast_uchar(VipsImage *in, VipsImage **out);
int upscaler_vips_cast_ushort(VipsImage *in, VipsImage **out);
/// The same pixels labelled with another interpretation (savers and colour transforms read the label).
int upscaler_vips_copy_interpretation(VipsImage *in, VipsImage **out, VipsInterpretation interpretation);

/// Colour management (lcms through libvips), relative colorimetric intent, `depth` 8 or 16.
/// From the profile embedded in `in` to sRGB.
int upscaler_vips_icc_embedded_to_srgb(VipsImage *in, VipsImage **out, int depth);
/// From sRGB to the profile in the file `profile_path` (libvips reads output profiles from files only); the output
/// carries that profile.
int upscaler_vips_icc_srgb_to_file(VipsImage *in, VipsImage **out, const char *profile_path, int depth);
/// libvips' built-in sRGB profile, copied into `*data` (release with g_free).
int upscaler_vips_srgb_profile(void **data, size_t *len);

/// Rewrites an EXIF block for pixels that are now upright: Orientation becomes 1 and the embedded thumbnail (which
/// shows the old, smaller image) is dropped. `*out` is malloc'd (release with free). Returns -1 when libexif cannot
/// parse the block; the caller then drops it.
int upscaler_exif_make_upright(const void *data, size_t len, void **out, size_t *out_len);

/// Savers. They write whatever metadata is attached to `in` (EXIF, XMP, IPTC, ICC): the caller builds `in` from
/// raw pixels and attaches only what it means to keep.
/// `strip` drops even what libvips would add by itself (a JPEG gets a fresh EXIF block otherwise).
int upscaler_vips_pngsave_buffer(VipsImage *in, void **buf, size_t *len, int compression, int bitdepth, int strip);
int upscaler_vips_jpegsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int progressive, int strip);
int upscaler_vips_webpsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int lossless, int strip);

/// Lanczos3 reduction along one axis by `shrink` >= 1 (libvips 8.14 reduce cannot enlarge).
int upscaler_vips_reduceh_lanczos3(VipsImage *in, VipsImage **out, double shrink);
int upscaler_vips_reducev_lanczos3(VipsImage *in, VipsImage **out, double shrink);

/// Geometry fix-ups used to make resize output exact.
int upscaler_vips_extract_area(VipsImage *in, VipsImage **out, int left, int top, int width, int height);
int upscaler_vips_embed_copy(VipsImage *in, VipsImage **out, int x, int y, int width, int height);

#endif
