// mallopt(3) and its parameters live in <malloc.h>, which Swift's Glibc module
// does not include.
#ifndef PODNET_CMALLOC_H
#define PODNET_CMALLOC_H
#include <malloc.h>
#endif
