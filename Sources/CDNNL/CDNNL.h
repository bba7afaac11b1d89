// oneDNN's C API, plus the two OpenMP entry points that set its thread count.
// libdnnl on Debian is built against libgomp, so its parallel regions follow the
// OpenMP thread count; declaring the functions here avoids depending on where the
// compiler keeps <omp.h>.
#include <oneapi/dnnl/dnnl.h>

void omp_set_num_threads(int count);
int omp_get_max_threads(void);
