import Testing
@testable import PodNet

@Suite struct NexthopIDsTests {
    let owners = (0..<200).map { NexthopOwner(peer: "node-\($0)", family: .ipv4) }

    @Test func idsAreDerivedFromTheOwnerAloneWhateverTheOrder() {
        let ids = NexthopIDs.assign(owners, taken: [])
        #expect(NexthopIDs.assign(owners.reversed(), taken: []) == ids.reversed())
        #expect(Set(ids).count == owners.count)
        #expect(ids == owners.map(NexthopIDs.derived))
        // The family is part of the owner: a dual-stack peer's two nexthops differ.
        #expect(NexthopIDs.derived(NexthopOwner(peer: "node-1", family: .ipv4))
                != NexthopIDs.derived(NexthopOwner(peer: "node-1", family: .ipv6)))
    }

    /// node-522789/ipv4 and node-739192/ipv4 hash to one id (FNV-1a 0x19b34d7f): the
    /// first by name keeps it and the other takes the next, whatever their order.
    @Test func ownersOfOneDerivedIDAreOrderedByName() {
        let (first, second) = (NexthopOwner(peer: "node-522789", family: .ipv4), NexthopOwner(peer: "node-739192", family: .ipv4))
        #expect(NexthopIDs.derived(first) == NexthopIDs.derived(second))
        let id = NexthopIDs.derived(first)
        #expect(NexthopIDs.assign([first, second] + owners, taken: [])[..<2] == [id, id &+ 1])
        #expect(NexthopIDs.assign(owners + [second, first], taken: [])[owners.count...] == [id &+ 1, id])
    }

    @Test func anIDOthersHoldIsSkippedAndOnlyItsOwnerMoves() {
        let taken = NexthopIDs.derived(owners[7])
        let ids = NexthopIDs.assign(owners, taken: [taken, taken &+ 1])
        #expect(ids[7] == taken &+ 2)
        #expect(!ids.contains(taken) && !ids.contains(taken &+ 1))
        for (index, owner) in owners.enumerated() where index != 7 { #expect(ids[index] == NexthopIDs.derived(owner)) }
    }

    @Test func probingWalksPastEveryTakenID() {
        let owner = owners[3]
        let derived = NexthopIDs.derived(owner)
        let everyOtherID = Set((0..<UInt32(64)).map { derived &+ $0 }).subtracting([derived &+ 63])
        #expect(NexthopIDs.assign([owner], taken: everyOtherID) == [derived &+ 63])
    }
}

@Suite struct RouteFittingTests {
    let eth0 = LinkReference(index: 2, name: "eth0")
    let eth1 = LinkReference(index: 3, name: "eth1")
    let owner = NexthopOwner(peer: "node-b", family: .ipv4)
    var nexthop: PeerNexthop { PeerNexthop(id: NexthopIDs.derived(owner), owner: owner, gateway: IPAddress("198.18.0.11")!, proto: 111) }
    var route: RouteState {
        RouteState(destination: try! IPNetwork(parsing: "10.244.2.0/24"), via: .nexthop(id: nexthop.id), table: 254, proto: 111)
    }
    var classic: RouteState {
        RouteState(destination: try! IPNetwork(parsing: "10.244.2.0/24"), gateway: IPAddress("198.18.0.11")!, table: 254, proto: 111)
    }

    func onLink(_ prefix: String, _ link: LinkReference) -> OnLinkPrefix {
        OnLinkPrefix(prefix: try! IPNetwork(parsing: prefix), link: link)
    }

    @Test func aGatewayOnALinkGetsANexthopThereByTheLongestPrefix() {
        let observed = ObservedRoutes(onLinkPrefixes: [onLink("198.18.0.0/15", eth1), onLink("198.18.0.0/24", eth0),
                                                       onLink("::/0", eth1)])
        let fitted = RouteFitting.fit(routes: [route], nexthops: [nexthop], to: observed)
        #expect(fitted.nexthops == [NexthopState(id: nexthop.id, gateway: nexthop.gateway, link: eth0, proto: 111)])
        #expect(fitted.routes == [route])
    }

    @Test func withoutNexthopObjectsOrAnOnLinkGatewayTheRouteIsClassic() {
        let without = ObservedRoutes(nexthopsSupported: false, onLinkPrefixes: [onLink("198.18.0.0/24", eth0)])
        #expect(RouteFitting.fit(routes: [route], nexthops: [nexthop], to: without) == RouteFitting.Fitted(routes: [classic], nexthops: []))
        let offLink = ObservedRoutes(onLinkPrefixes: [onLink("203.0.113.0/24", eth0)])
        #expect(RouteFitting.fit(routes: [route], nexthops: [nexthop], to: offLink) == RouteFitting.Fitted(routes: [classic], nexthops: []))
        // On two links at the same length: the kernel would want to be told which, so classic.
        let ambiguous = ObservedRoutes(onLinkPrefixes: [onLink("198.18.0.0/24", eth0), onLink("198.18.0.0/24", eth1)])
        #expect(RouteFitting.fit(routes: [route], nexthops: [nexthop], to: ambiguous).nexthops.isEmpty)
    }

    @Test func aForeignNexthopOnTheDerivedIDMovesThePeerAndItsRoutesToTheNext() {
        let observed = ObservedRoutes(foreignNexthopIDs: [nexthop.id], onLinkPrefixes: [onLink("198.18.0.0/24", eth0)])
        let fitted = RouteFitting.fit(routes: [route], nexthops: [nexthop], to: observed)
        #expect(fitted.nexthops.map(\.id) == [nexthop.id &+ 1])
        #expect(fitted.routes.map(\.via) == [.nexthop(id: nexthop.id &+ 1)])
    }
}

@Suite struct NexthopDiffTests {
    let eth0 = LinkReference(index: 2, name: "eth0")

    @Test func aMovedGatewayIsOneNexthopReplaceAndTheRouteIsUnchanged() {
        let route = RouteState(destination: try! IPNetwork(parsing: "10.244.2.0/24"), via: .nexthop(id: 5), table: 254, proto: 111)
        let old = NexthopState(id: 5, gateway: IPAddress("198.18.0.11")!, link: eth0, proto: 111)
        var new = old
        new.gateway = IPAddress("198.18.0.12")!
        let stale = NexthopState(id: 6, gateway: IPAddress("198.18.0.13")!, link: eth0, proto: 111)
        let result = RouteDiff.plan(desired: RouteFitting.Fitted(routes: [route], nexthops: [new]),
                                    observed: ObservedRoutes(owned: [route], nexthops: [old, stale]))
        #expect(result.operations.isEmpty)
        #expect(result.nexthops == [.replace(old: old, new: new), .delete(stale)])
        let plan = Plan(nexthops: result.nexthops)
        #expect(PlanText.render(plan, bridge: nil) == """
            # nexthops
            ~ ip nexthop replace id 5 via 198.18.0.12 dev eth0 proto 111   # was via 198.18.0.11 dev eth0
            - ip nexthop del id 6   # via 198.18.0.13 dev eth0
            Plan: 2 nexthop changes.

            """)
        let document = PlanDocument(plan, bridge: nil)
        #expect(document.nexthops.map(\.op) == ["replace", "delete"])
        #expect(document.nexthops.first?.nexthop == 5)
        #expect(document.nexthops.first?.gateway == "198.18.0.12")
        #expect(document.nexthops.first?.oldGateway == "198.18.0.11")
        #expect(document.nexthops.first?.interface == "eth0")
    }

    @Test func aRouteMovingBetweenFormsIsOneReplace() {
        let classic = RouteState(destination: try! IPNetwork(parsing: "10.244.2.0/24"), gateway: IPAddress("198.18.0.11")!,
                                 table: 254, proto: 111)
        var throughNexthop = classic
        throughNexthop.via = .nexthop(id: 5)
        let nexthop = NexthopState(id: 5, gateway: IPAddress("198.18.0.11")!, link: eth0, proto: 111)
        let result = RouteDiff.plan(desired: RouteFitting.Fitted(routes: [throughNexthop], nexthops: [nexthop]),
                                    observed: ObservedRoutes(owned: [classic]))
        #expect(result.nexthops == [.add(nexthop)])
        #expect(result.operations == [.replace(old: classic, new: throughNexthop)])
        let document = PlanDocument(Plan(routes: result.operations, nexthops: result.nexthops), bridge: nil)
        #expect(document.routes.first?.nexthop == 5)
        #expect(document.routes.first?.gateway == nil)
        #expect(document.routes.first?.oldGateway == "198.18.0.11")
        #expect(document.routes.first?.text == ["ip route replace 10.244.2.0/24 nhid 5 proto 111"])
    }

    @Test func aRefusedNexthopIsNamedWithTheRoutesThatWereToUseIt() {
        let nexthop = NexthopState(id: 5, gateway: IPAddress("198.18.0.11")!, link: eth0, proto: 111)
        let route = RouteState(destination: try! IPNetwork(parsing: "10.244.2.0/24"), via: .nexthop(id: 5), table: 254, proto: 111)
        var plan = Plan()
        plan.refusedNexthops = [RefusedNexthop(operation: .add(nexthop),
                                               reason: .kernel(KernelReason(errno: 101, message: "Nexthop has invalid gateway")))]
        plan.refusedRoutes = [RefusedRoute(operation: .add(route), reason: .nexthopRefused(id: 5))]
        #expect(PlanText.render(plan, bridge: nil) == """
            # routes the kernel refused (the rest was applied; the next apply retries them)
            ! ip nexthop add id 5 via 198.18.0.11 dev eth0 proto 111: Nexthop has invalid gateway (Network is unreachable)
            ! ip route add 10.244.2.0/24 nhid 5 proto 111: its nexthop 5 was refused
            Plan: 1 nexthop refused, 1 route refused.

            """)
        #expect(plan.hasRefusals)
        let document = PlanDocument(plan, bridge: nil)
        #expect(document.status == "changes")
        #expect(document.refusedNexthops.first?.errno == 101)
        #expect(document.refusedRoutes.first?.reason == "its nexthop 5 was refused")
    }
}
