import Testing
@testable import PodNet

@Suite struct ParallelMapTests {
    /// Every length around the chunk edges gives map's result, in order.
    @Test(arguments: [0, 1, 511, 512, 513, 1_023, 1_024, 10_001])
    func equalsMap(count: Int) {
        let input = Array(0..<count)
        #expect(input.parallelMap { $0 &* 2_654_435_761 } == input.map { $0 &* 2_654_435_761 })
    }

    @Test func plansOfThousandsOfLinesRenderInOrder() {
        let routes = (0..<5_000).map { index in
            RouteState(destination: IPNetwork(network: IPAddress(ipv4: 0x0AF4_0000 + UInt32(index) << 8), prefixLength: 24),
                       gateway: IPAddress(ipv4: 0xC612_0000 + UInt32(index)), table: 254, proto: 80)
        }
        let text = PlanText.render(Plan(routes: routes.map(RouteOperation.add)), bridge: nil)
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("+ ip route add ") }.map(String.init)
        #expect(lines == routes.map { "+ " + IpCommandText.route("add", $0) })
        #expect(lines.first == "+ ip route add 10.244.0.0/24 via 198.18.0.0 proto 80")
    }
}
