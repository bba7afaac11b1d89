// The libvips C API as one Clang module. Include paths come from pkg-config (`vips`).
#ifndef UPSCALER_CVIPS_H
#define UPSCALER_CVIPS_H

#include <vips/vips.h>

#endif
