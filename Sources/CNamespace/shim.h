// setns(2) and CLONE_NEWNET are visible only with _GNU_SOURCE, which Swift's
// Glibc module does not define: expose them through one inline function.
#ifndef PODNET_CNAMESPACE_H
#define PODNET_CNAMESPACE_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>

static inline int podnet_enter_network_namespace(int fd) {
    return setns(fd, CLONE_NEWNET);
}
#endif
