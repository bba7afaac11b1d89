#include "CVipsShim.h"

int upscaler_vips_init(const char *argv0) {
    return VIPS_INIT(argv0);
}

void upscaler_vips_image_unref(VipsImage *image) {
    g_object_unref(G_OBJECT(image));
}

void upscaler_vips_source_unref(VipsSource *source) {
    g_object_unref(G_OBJECT(source));
}

VipsSource *upscaler_vips_source_new_from_copy(const void *data, size_t length) {
    VipsBlob *blob = vips_blob_copy(data, length);
    if (blob == NULL) {
        return NULL;
    }
    VipsSource *source = vips_source_new_from_blob(blob);
    // The source holds its own reference to the blob.
    vips_area_unref(VIPS_AREA(blob));
    return source;
}

int upscaler_vips_pngload_source(VipsSource *source, VipsImage **out, VipsFailOn fail_on) {
    return vips_pngload_source(source, out,
        "fail_on", fail_on, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
}

int upscaler_vips_jpegload_source(VipsSource *source, VipsImage **out, VipsFailOn fail_on) {
    return vips_jpegload_source(source, out,
        "fail_on", fail_on, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
}

int upscaler_vips_webpload_source(VipsSource *source, VipsImage **out, VipsFailOn fail_on) {
    return vips_webpload_source(source, out,
        "fail_on", fail_on, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
}

int upscaler_vips_extract_bands(VipsImage *in, VipsImage **out, int first, int n) {
    return vips_extract_band(in, out, first, "n", n, NULL);
}

int upscaler_vips_linear1(VipsImage *in, VipsImage **out, double a, double b) {
    return vips_linear1(in, out, a, b, NULL);
}

int upscaler_vips_autorot(VipsImage *in, VipsImage **out) {
    return vips_autorot(in, out, NULL);
}

int upscaler_vips_colourspace(VipsImage *in, VipsImage **out, VipsInterpretation space) {
    return vips_colourspace(in, out, space, NULL);
}

int upscaler_vips_cast_uchar(VipsImage *in, VipsImage **out) {
    return vips_cast_uchar(in, out, NULL);
}

int upscaler_vips_pngsave_buffer(VipsImage *in, void **buf, size_t *len) {
    return vips_pngsave_buffer(in, buf, len, "strip", TRUE, NULL);
}

int upscaler_vips_jpegsave_buffer(VipsImage *in, void **buf, size_t *len, int quality) {
    return vips_jpegsave_buffer(in, buf, len,
        "Q", quality, "strip", TRUE, "optimize_coding", TRUE, NULL);
}

int upscaler_vips_webpsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int lossless) {
    return vips_webpsave_buffer(in, buf, len,
        "Q", quality, "lossless", lossless ? TRUE : FALSE, "strip", TRUE, NULL);
}

int upscaler_vips_reduceh_lanczos3(VipsImage *in, VipsImage **out, double shrink) {
    return vips_reduceh(in, out, shrink, "kernel", VIPS_KERNEL_LANCZOS3, NULL);
}

int upscaler_vips_reducev_lanczos3(VipsImage *in, VipsImage **out, double shrink) {
    return vips_reducev(in, out, shrink, "kernel", VIPS_KERNEL_LANCZOS3, NULL);
}

int upscaler_vips_extract_area(VipsImage *in, VipsImage **out, int left, int top, int width, int height) {
    return vips_extract_area(in, out, left, top, width, height, NULL);
}

int upscaler_vips_embed_copy(VipsImage *in, VipsImage **out, int x, int y, int width, int height) {
    return vips_embed(in, out, x, y, width, height, "extend", VIPS_EXTEND_COPY, NULL);
}
