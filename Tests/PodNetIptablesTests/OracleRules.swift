/// Rules in iptables-restore syntax, written by iptables-legacy-restore /
/// ip6tables-legacy-restore and read back through the backend. Together they use every
/// match and target podnet models, negations, `+` interfaces, port ranges, gotos and
/// IPv6 DNAT with a port; FOREIGN holds extensions podnet does not model.
enum OracleRules {
    static let ipv4Filter = """
        *filter
        :PODNET-F - [0:0]
        :PODNET-G - [0:0]
        :FOREIGN - [0:0]
        -A PODNET-F -s 10.244.0.0/16 -j ACCEPT
        -A PODNET-F ! -s 10.244.0.0/16 -d 10.244.1.10 -j DROP
        -A PODNET-F ! -d 10.0.3.0/255.0.255.0 -j RETURN
        -A PODNET-F -i veth+ ! -o cbr0 -j ACCEPT
        -A PODNET-F ! -i eth0 -o veth1234567890a -j QUEUE
        -A PODNET-F ! -p udp
        -A PODNET-F -p gre -m comment --comment gre -j ACCEPT
        -A PODNET-F -p tcp -m comment --comment "podnet: host port \\"x\\" 'y'" -m tcp ! --sport 1024:65535 --dport 8080 -j ACCEPT
        -A PODNET-F -p tcp -m tcp ! --tcp-option 2 --tcp-flags SYN,ACK SYN -j DROP
        -A PODNET-F -p tcp -m tcp ! --tcp-flags ALL NONE -j DROP
        -A PODNET-F -p udp -m udp ! --dport 53:54 -j ACCEPT
        -A PODNET-F -p sctp -m sctp --sport 9 --dport 100:200 -j ACCEPT
        -A PODNET-F -p tcp -m multiport --dports 80,8000:8080,443 -j ACCEPT
        -A PODNET-F -p udp -m multiport ! --ports 53 -j DROP
        -A PODNET-F -p tcp -m multiport --sports 1:2 -j ACCEPT
        -A PODNET-F -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        -A PODNET-F -m conntrack ! --ctstate INVALID -j DROP
        -A PODNET-F -m conntrack --ctstate NEW,UNTRACKED,SNAT,DNAT -j ACCEPT
        -A PODNET-F -m addrtype ! --dst-type LOCAL -j RETURN
        -A PODNET-F -m addrtype --src-type UNICAST,LOCAL ! --dst-type BROADCAST --limit-iface-in -j DROP
        -A PODNET-F -m mark --mark 0x4000/0x4000 -j ACCEPT
        -A PODNET-F -m mark ! --mark 0x1 -j DROP
        -A PODNET-F -m physdev --physdev-in veth+ ! --physdev-out eth0 --physdev-is-bridged -j ACCEPT
        -A PODNET-F -m physdev ! --physdev-is-in --physdev-is-out -j DROP
        -A PODNET-F -m mark ! --mark 0x4000/0x4000 -j MARK --or-mark 0x4000
        -A PODNET-F -j MARK --set-mark 5
        -A PODNET-F -p tcp -j REJECT --reject-with tcp-reset
        -A PODNET-F -j REJECT
        -A PODNET-F -j REJECT --reject-with icmp-host-unreachable
        -A PODNET-F -g PODNET-G
        -A PODNET-F -j PODNET-G
        -A PODNET-F -p icmp -j ACCEPT
        -A PODNET-F -s 10.0.0.1
        -A PODNET-F -i eth0 -o + -p 47
        -A PODNET-F -p udp -m udp --sport 0:65535
        -A PODNET-G -p tcp -m tcp --sport 5:6 --dport 7 -m comment --comment "a\\\\b" -j RETURN
        -A FORWARD -m comment --comment "podnet: forward" -j PODNET-F
        -A FORWARD -j ACCEPT
        -A FORWARD -m comment --comment "podnet: not a podnet target" -j DROP
        -A FORWARD -j PODNET-F
        -A FORWARD -m comment --comment "podnet: goto" -g PODNET-G
        -A FOREIGN -m limit --limit 5/sec -j ACCEPT
        -A FOREIGN -m statistic --mode random --probability 0.5 -j LOG --log-prefix "x "
        -A FOREIGN -m string --string foo --algo bm -j ACCEPT
        -A FOREIGN -m state --state NEW -j ACCEPT
        -A FOREIGN -p tcp -m tcp --dport 22 -j PODNET-G
        -A FOREIGN -f -j DROP
        COMMIT

        """

    static let ipv4Nat = """
        *nat
        :PODNET-PRE - [0:0]
        :PODNET-POST - [0:0]
        -A PREROUTING -m comment --comment "podnet: pre" -j PODNET-PRE
        -A POSTROUTING -j ACCEPT
        -A POSTROUTING -m comment --comment "podnet: post" -j PODNET-POST
        -A PODNET-PRE -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.10:80
        -A PODNET-PRE -p udp -m udp --dport 53 -j DNAT --to-destination 10.244.1.10
        -A PODNET-PRE -p tcp -j DNAT --to-destination 10.244.1.10-10.244.1.20:80-90 --random --persistent
        -A PODNET-PRE -p tcp -j DNAT --to-destination :81
        -A PODNET-POST -s 10.244.0.0/16 ! -d 10.244.0.0/16 ! -o cbr0 -m comment --comment "podnet: masquerade" -m addrtype ! --dst-type LOCAL -j MASQUERADE
        -A PODNET-POST -p tcp -j MASQUERADE --to-ports 1024-2048 --random
        -A PODNET-POST -p udp -j MASQUERADE --to-ports 5000 --random-fully
        -A PODNET-POST -j SNAT --to-source 192.168.1.2
        -A PODNET-POST -p tcp -j SNAT --to-source 192.168.1.2:1000-2000 --random --random-fully --persistent
        COMMIT

        """

    static let ipv6Filter = """
        *filter
        :PODNET-F - [0:0]
        :FOREIGN - [0:0]
        -A PODNET-F -s fd00:10:244::/48 -j ACCEPT
        -A PODNET-F ! -s fd00:10:244::/48 -d fd00:10:244:1::a -j DROP
        -A PODNET-F ! -d fd00::/ffff::ffff -j RETURN
        -A PODNET-F -i veth+ ! -o cbr0 -j ACCEPT
        -A PODNET-F ! -p tcp
        -A PODNET-F -p all
        -A PODNET-F -p ipv6-icmp -j ACCEPT
        -A PODNET-F -p tcp -m tcp --dport 80 -m comment --comment "podnet: web" -j ACCEPT
        -A PODNET-F -p udp -m multiport --dports 53,5353:5354 -j ACCEPT
        -A PODNET-F -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        -A PODNET-F -m addrtype --dst-type LOCAL -j RETURN
        -A PODNET-F -m physdev --physdev-is-bridged -j ACCEPT
        -A PODNET-F -m mark --mark 0x1/0x3 -j MARK --set-xmark 0x4/0x4
        -A PODNET-F -p tcp -j REJECT --reject-with tcp-reset
        -A PODNET-F -j REJECT --reject-with icmp6-adm-prohibited
        -A PODNET-F -j REJECT
        -A FORWARD -m comment --comment "podnet: forward" -j PODNET-F
        -A FOREIGN -s fd00::/64 -m string --string foo --algo bm -j ACCEPT
        -A FOREIGN -m hl --hl-eq 1 -j DROP
        COMMIT

        """

    static let ipv6Nat = """
        *nat
        :PODNET-PRE - [0:0]
        :PODNET-POST - [0:0]
        -A PREROUTING -m comment --comment "podnet: pre" -j PODNET-PRE
        -A POSTROUTING -m comment --comment "podnet: post" -j PODNET-POST
        -A PODNET-PRE -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:10:244:1::a]:80
        -A PODNET-PRE -p tcp -j DNAT --to-destination fd00:10:244:1::a
        -A PODNET-PRE -p tcp -j DNAT --to-destination fd00::a-fd00::f --random
        -A PODNET-PRE -p udp -j DNAT --to-destination [fd00::a-fd00::f]:53-54
        -A PODNET-POST -s fd00:10:244::/48 -j MASQUERADE
        -A PODNET-POST -p udp -j MASQUERADE --to-ports 5
        -A PODNET-POST -j SNAT --to-source fd00::1
        -A PODNET-POST -p udp -j SNAT --to-source [fd00::1]:5-6
        COMMIT

        """
}
