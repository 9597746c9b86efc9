import Testing
import PodNet

@Suite struct IPSetDiffTests {
    static func host(_ text: String) -> IPSetEntry { IPSetEntry(host: IPAddress(text)!) }
    static func net(_ text: String, nomatch: Bool = false) -> IPSetEntry {
        IPSetEntry(try! IPNetwork(parsing: text), nomatch: nomatch)
    }
    static func pods(_ name: String, _ members: [String]) -> IPSetState {
        IPSetState(name: name, type: .hashIP, family: .ipv4, entries: Set(members.map(host)))
    }

    @Test func aNewSetIsCreatedThenFilled() {
        let plan = IPSetDiff.plan(desired: [Self.pods("PODNET-A", ["10.244.2.7", "10.244.1.3"])], observed: [])
        #expect(plan.map(\.commandText) == [
            "ipset create PODNET-A hash:ip family inet",
            "ipset add PODNET-A 10.244.1.3",
            "ipset add PODNET-A 10.244.2.7",
        ])
    }

    @Test func membersChangeInPlace() {
        let plan = IPSetDiff.plan(desired: [Self.pods("PODNET-A", ["10.244.1.3", "10.244.1.9"])],
                                  observed: [Self.pods("PODNET-A", ["10.244.1.3", "10.244.1.4"])])
        #expect(plan.map(\.commandText) == ["ipset add PODNET-A 10.244.1.9", "ipset del PODNET-A 10.244.1.4"])
        #expect(IPSetDiff.plan(desired: [Self.pods("PODNET-A", ["10.244.1.3"])],
                               observed: [Self.pods("PODNET-A", ["10.244.1.3"])]).isEmpty)
    }

    @Test func aNetworkWhoseNomatchFlipsLeavesBeforeItComesBack() {
        let wanted = IPSetState(name: "PODNET-B", type: .hashNet, family: .ipv4,
                                entries: [Self.net("10.0.0.0/8"), Self.net("10.1.0.0/16", nomatch: true)])
        let found = IPSetState(name: "PODNET-B", type: .hashNet, family: .ipv4,
                               entries: [Self.net("10.0.0.0/8"), Self.net("10.1.0.0/16"), Self.net("192.168.0.0/16")])
        #expect(IPSetDiff.plan(desired: [wanted], observed: [found]).map(\.commandText) == [
            "ipset del PODNET-B 10.1.0.0/16",
            "ipset add PODNET-B 10.1.0.0/16 nomatch",
            "ipset del PODNET-B 192.168.0.0/16",
        ])
    }

    @Test func aSetThatMostlyChangesIsFilledAsideAndSwappedIn() {
        let wanted = Self.pods("PODNET-C", ["10.244.3.1", "10.244.3.2"])
        let found = Self.pods("PODNET-C", ["10.244.1.1", "10.244.1.2", "10.244.1.3", "10.244.1.4"])
        let temporary = IPSetState.temporaryName(for: "PODNET-C")
        #expect(temporary.hasPrefix(IPSetState.ownedPrefix) && temporary.count <= IPSetState.maximumNameLength)
        let plan = IPSetDiff.plan(desired: [wanted], observed: [found])
        #expect(plan.map(\.commandText) == [
            "ipset create \(temporary) hash:ip family inet",
            "ipset add \(temporary) 10.244.3.1",
            "ipset add \(temporary) 10.244.3.2",
            "ipset swap \(temporary) PODNET-C",
            "ipset destroy \(temporary)",
        ])
        // The destroy carries the old members (now under the temporary name), for an undo.
        var old = found
        old.name = temporary
        #expect(plan.last == .destroy(old))
        // Everything runs before the tables: the temporary set is made in this plan.
        #expect(plan.phasedAroundTables.afterTables.isEmpty)
        // One member fewer to delete and the deltas are as cheap: in place.
        #expect(IPSetDiff.plan(desired: [wanted], observed: [Self.pods("PODNET-C", ["10.244.1.1", "10.244.1.2", "10.244.1.3"])])
            .allSatisfy { if case .swap = $0 { false } else { true } })
    }

    @Test func aLeftoverTemporarySetIsDestroyedFirst() {
        let temporary = IPSetState.temporaryName(for: "PODNET-C")
        let leftover = IPSetState(name: temporary, type: .hashIP, family: .ipv4)
        let plan = IPSetDiff.plan(desired: [Self.pods("PODNET-C", [])],
                                  observed: [Self.pods("PODNET-C", ["10.1.1.1", "10.1.1.2", "10.1.1.3", "10.1.1.4"]), leftover])
        #expect(plan.map(\.commandText) == [
            "ipset destroy \(temporary)",
            "ipset create \(temporary) hash:ip family inet",
            "ipset swap \(temporary) PODNET-C",
            "ipset destroy \(temporary)",
        ])
        // Without a rebuild, the leftover is destroyed like any unwanted set.
        #expect(IPSetDiff.plan(desired: [Self.pods("PODNET-C", [])], observed: [Self.pods("PODNET-C", []), leftover])
            == [.destroy(leftover)])
    }

    /// The kernel cannot swap a hash:ip with a hash:net: a set under podnet's name with
    /// another type is destroyed and made again, in place (before the tables).
    @Test func aSetOfAnotherTypeIsMadeAgain() {
        let wanted = IPSetState(name: "PODNET-D", type: .hashNet, family: .ipv4, entries: [Self.net("10.0.0.0/8")])
        let found = Self.pods("PODNET-D", ["10.244.1.3"])
        let plan = IPSetDiff.plan(desired: [wanted], observed: [found])
        #expect(plan.map(\.commandText) == [
            "ipset destroy PODNET-D",
            "ipset create PODNET-D hash:net family inet",
            "ipset add PODNET-D 10.0.0.0/8",
        ])
        #expect(plan.phasedAroundTables.afterTables.isEmpty)
    }

    @Test func unwantedSetsAreDestroyedAfterTheTables() {
        let stale = Self.pods("PODNET-OLD", ["10.244.1.3"])
        let plan = IPSetDiff.plan(desired: [Self.pods("PODNET-NEW", [])], observed: [stale])
        #expect(plan == [.create(Self.pods("PODNET-NEW", [])), .destroy(stale)])
        let phases = plan.phasedAroundTables
        #expect(phases.beforeTables == [.create(Self.pods("PODNET-NEW", []))])
        #expect(phases.afterTables == [.destroy(stale)])
    }

    @Test func entriesAreWrittenAsIpsetTakesThem() {
        #expect(Self.host("10.244.2.7").description == "10.244.2.7")
        #expect(Self.host("fd00::7").description == "fd00::7")
        #expect(Self.net("10.1.0.0/16", nomatch: true).description == "10.1.0.0/16 nomatch")
        #expect(IPSetState.isOwned("PODNET-X") && !IPSetState.isOwned("KUBE-X"))
    }

    @Test func thePlanShowsSetsInTextAndJSON() throws {
        var plan = Plan()
        plan.ipsets = IPSetDiff.plan(desired: [Self.pods("PODNET-A", ["10.244.2.7"])],
                                     observed: [Self.pods("PODNET-OLD", [])])
        let text = PlanText.render(plan, bridge: nil)
        #expect(text == """
            # ipsets
            + ipset create PODNET-A hash:ip family inet
            + ipset add PODNET-A 10.244.2.7
            - ipset destroy PODNET-OLD
            Plan: 3 ipset changes.

            """)
        let document = PlanDocument(plan, bridge: nil)
        #expect(document.status == "changes")
        #expect(document.ipsets.map(\.op) == ["create", "add", "destroy"])
        #expect(document.ipsets[0].setType == "hash:ip" && document.ipsets[0].family == "ipv4")
        #expect(document.ipsets[1].set == "PODNET-A" && document.ipsets[1].member == "10.244.2.7")
        #expect(document.ipsets[1].text == ["ipset add PODNET-A 10.244.2.7"])
    }

    @Test func desiredSetsReachThePlan() {
        let desired = DesiredState(ipsets: [Self.pods("PODNET-A", ["10.244.2.7"])])
        var observed = ObservedNode()
        observed.ipsets = [Self.pods("PODNET-A", [])]
        #expect(NodeDiff.plan(desired: desired, observed: observed).ipsets == [.add(set: "PODNET-A", Self.host("10.244.2.7"))])
    }
}
