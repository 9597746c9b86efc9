// libiptc (IPv4) and libip6tc (IPv6) share struct xtc_handle and differ only in
// function prefixes and entry structs, so one module holds both. PodNetIptables uses
// only their handle functions and writes the entry structs by bytes itself.
#include <libiptc/libiptc.h>
#include <libiptc/libip6tc.h>
