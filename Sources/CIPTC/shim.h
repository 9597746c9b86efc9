#include <libiptc/libiptc.h>
