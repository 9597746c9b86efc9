/*
 * The "bare read" peer of the no-op apply benchmark: the least a program must do to
 * learn the state podnet compares with its config. It enters the named network
 * namespace, reads the nat and filter tables of both families through libiptc
 * (walking every chain and rule, as a diff must), dumps the routes of both families
 * over rtnetlink with libmnl, and prints what it counted.
 *
 *   bare_read NETNS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libiptc/libiptc.h>
#include <libiptc/libip6tc.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

static void die(const char *what, const char *detail) {
    fprintf(stderr, "bare_read: %s: %s\n", what, detail);
    exit(1);
}

static unsigned long read_ipv4(const char *table) {
    struct xtc_handle *h = iptc_init(table);
    if (!h) die(table, iptc_strerror(errno));
    unsigned long rules = 0;
    for (const char *chain = iptc_first_chain(h); chain; chain = iptc_next_chain(h))
        for (const struct ipt_entry *e = iptc_first_rule(chain, h); e; e = iptc_next_rule(e, h)) {
            (void)iptc_get_target(e, h);
            rules++;
        }
    iptc_free(h);
    return rules;
}

static unsigned long read_ipv6(const char *table) {
    struct xtc_handle *h = ip6tc_init(table);
    if (!h) die(table, ip6tc_strerror(errno));
    unsigned long rules = 0;
    for (const char *chain = ip6tc_first_chain(h); chain; chain = ip6tc_next_chain(h))
        for (const struct ip6t_entry *e = ip6tc_first_rule(chain, h); e; e = ip6tc_next_rule(e, h)) {
            (void)ip6tc_get_target(e, h);
            rules++;
        }
    ip6tc_free(h);
    return rules;
}

static int count_route(const struct nlmsghdr *nlh, void *data) {
    (void)nlh;
    ++*(unsigned long *)data;
    return MNL_CB_OK;
}

/* `ip route show table all` for both families, in one dump. */
static unsigned long dump_routes(void) {
    struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
    if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("netlink", strerror(errno));
    char buf[MNL_SOCKET_BUFFER_SIZE * 4];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = (unsigned)time(NULL);
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg));
    rtm->rtm_family = AF_UNSPEC;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) die("netlink send", strerror(errno));
    unsigned portid = mnl_socket_get_portid(nl), seq = nlh->nlmsg_seq;
    unsigned long routes = 0;
    int ret;
    while ((ret = mnl_socket_recvfrom(nl, buf, sizeof buf)) > 0) {
        ret = mnl_cb_run(buf, ret, seq, portid, count_route, &routes);
        if (ret <= MNL_CB_STOP) break;
    }
    if (ret < 0) die("netlink dump", strerror(errno));
    mnl_socket_close(nl);
    return routes;
}

int main(int argc, char **argv) {
    if (argc != 2) die("usage", "bare_read NETNS");
    char path[256];
    snprintf(path, sizeof path, "/run/netns/%s", argv[1]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) die(path, strerror(errno));
    close(fd);
    unsigned long v4nat = read_ipv4("nat"), v4filter = read_ipv4("filter");
    unsigned long v6nat = read_ipv6("nat"), v6filter = read_ipv6("filter");
    unsigned long routes = dump_routes();
    printf("ipv4 nat %lu filter %lu, ipv6 nat %lu filter %lu rules; %lu routes\n",
           v4nat, v4filter, v6nat, v6filter, routes);
    return 0;
}
