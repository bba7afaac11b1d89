#include "CVipsShim.h"

#include <stdlib.h>
#include <libexif/exif-data.h>

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

int upscaler_vips_tiffload_source(VipsSource *source, VipsImage **out, VipsFailOn fail_on) {
    return vips_tiffload_source(source, out,
        "fail_on", fail_on, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
}

int upscaler_vips_gifload_source(VipsSource *source, VipsImage **out, VipsFailOn fail_on) {
    return vips_gifload_source(source, out,
        "fail_on", fail_on, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
}

int upscaler_vips_heifload_source(VipsSource *source, VipsImage **out, VipsFailOn fail_on) {
    return vips_heifload_source(source, out,
        "fail_on", fail_on, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
}

int upscaler_vips_has_operation(const char *nickname) {
    return vips_type_find("VipsOperation", nickname) != 0;
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

int upscaler_vips_cast_ushort(VipsImage *in, VipsImage **out) {
    return vips_cast_ushort(in, out, NULL);
}

int upscaler_vips_copy_interpretation(VipsImage *in, VipsImage **out, VipsInterpretation interpretation) {
    return vips_copy(in, out, "interpretation", interpretation, NULL);
}

int upscaler_vips_icc_embedded_to_srgb(VipsImage *in, VipsImage **out, int depth) {
    return vips_icc_transform(in, out, "srgb",
        "embedded", TRUE, "intent", VIPS_INTENT_RELATIVE, "depth", depth, NULL);
}

int upscaler_vips_icc_srgb_to_file(VipsImage *in, VipsImage **out, const char *profile_path, int depth) {
    return vips_icc_transform(in, out, profile_path,
        "input_profile", "srgb", "embedded", FALSE, "intent", VIPS_INTENT_RELATIVE, "depth", depth, NULL);
}

int upscaler_vips_srgb_profile(void **data, size_t *len) {
    VipsBlob *blob = NULL;
    if (vips_profile_load("srgb", &blob, NULL) != 0 || blob == NULL) {
        return -1;
    }
    size_t length = 0;
    const void *bytes = vips_blob_get(blob, &length);
    *data = g_memdup2(bytes, length);
    *len = length;
    vips_area_unref(VIPS_AREA(blob));
    return 0;
}

int upscaler_exif_make_upright(const void *data, size_t len, void **out, size_t *out_len) {
    ExifData *exif = exif_data_new();
    if (exif == NULL) {
        return -1;
    }
    exif_data_load_data(exif, data, (unsigned int) len);
    ExifContent *ifd0 = exif->ifd[EXIF_IFD_0];
    if (ifd0 == NULL || ifd0->count == 0) {
        exif_data_unref(exif);
        return -1;
    }
    ExifEntry *orientation = exif_content_get_entry(ifd0, EXIF_TAG_ORIENTATION);
    if (orientation != NULL && orientation->format == EXIF_FORMAT_SHORT && orientation->components == 1) {
        exif_set_short(orientation->data, exif_data_get_byte_order(exif), 1);
    } else if (orientation != NULL) {
        exif_content_remove_entry(ifd0, orientation);
    }
    // IFD1 describes the thumbnail, and `data` holds its JPEG bytes; both show the image before upscaling.
    ExifContent *ifd1 = exif->ifd[EXIF_IFD_1];
    while (ifd1 != NULL && ifd1->count > 0) {
        exif_content_remove_entry(ifd1, ifd1->entries[0]);
    }
    if (exif->data != NULL) {
        free(exif->data);   // libexif's default allocator is malloc
        exif->data = NULL;
        exif->size = 0;
    }
    unsigned char *saved = NULL;
    unsigned int saved_len = 0;
    exif_data_save_data(exif, &saved, &saved_len);
    exif_data_unref(exif);
    if (saved == NULL || saved_len == 0) {
        free(saved);
        return -1;
    }
    *out = saved;
    *out_len = saved_len;
    return 0;
}

int upscaler_vips_pngsave_buffer(VipsImage *in, void **buf, size_t *len, int compression, int bitdepth, int strip) {
    return vips_pngsave_buffer(in, buf, len,
        "compression", compression, "bitdepth", bitdepth, "strip", strip ? TRUE : FALSE, NULL);
}

int upscaler_vips_jpegsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int progressive, int strip) {
    return vips_jpegsave_buffer(in, buf, len,
        "Q", quality, "optimize_coding", TRUE, "interlace", progressive ? TRUE : FALSE,
        "strip", strip ? TRUE : FALSE, NULL);
}

int upscaler_vips_webpsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int lossless, int strip) {
    return vips_webpsave_buffer(in, buf, len,
        "Q", quality, "lossless", lossless ? TRUE : FALSE, "strip", strip ? TRUE : FALSE, NULL);
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
