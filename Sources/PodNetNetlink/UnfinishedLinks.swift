import PodNet

extension Netlink {
    /// The links a podnet run created and did not finish (see `UnfinishedLink`):
    /// `ip -d link show`, the unmarked bridges and veths under a temporary name.
    public func unfinishedLinks() throws(NetlinkError) -> [Link] {
        try links().filter { UnfinishedLink.isUnfinished(name: $0.name, kind: $0.kind, alias: $0.alias) }
    }

    /// `ip link del NAME` of a link a run left half-made (a host end takes its peer in
    /// the pod with it). Nothing to do when it is gone; a link that has since become
    /// something else under that name is left alone.
    public func deleteUnfinishedLink(named name: String) throws(NetlinkOperationError) {
        guard let link = try attempt("ip -d link show dev \(name)", { () throws(NetlinkError) in
            try self.link(named: name)
        }) else { return }
        guard UnfinishedLink.isUnfinished(name: link.name, kind: link.kind, alias: link.alias) else {
            throw .notUnfinished(name: name, alias: link.alias)
        }
        try deleteLink(link)
    }
}
