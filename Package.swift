// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "podnet",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "podnet", targets: ["podnet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // Pure model: addresses, the validated node model, the rule IR and its
        // iptables-save rendering, desired/observed state. No C types, no I/O.
        .target(name: "PodNet"),
        // YAML/JSON config and NodeList loading with field-path validation.
        .target(name: "PodNetConfig", dependencies: ["PodNet", "PodNetYAML", "PodNetSystem"]),
        // libyaml's event parser as Swift values: the one place libyaml's C types are
        // known (YAML configs without Yams, and so without Foundation, in the binary).
        .target(name: "PodNetYAML", dependencies: ["CYAML"]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // NodeConfig -> DesiredState, and the full-state rendering.
        .target(name: "PodNetCompiler", dependencies: ["PodNet"]),
        // Thread-scoped network namespace entry, shared by both backends; file locks; input files.
        .target(name: "PodNetSystem", dependencies: ["CNamespace"]),
        .systemLibrary(name: "CNamespace"),
        // mallopt: the command keeps the memory it frees (see Allocator.swift).
        .systemLibrary(name: "CMalloc"),

        .systemLibrary(name: "CIPTC", pkgConfig: "libip4tc",
                       providers: [.apt(["libiptc-dev"])]),
        .systemLibrary(name: "CMNL", pkgConfig: "libmnl",
                       providers: [.apt(["libmnl-dev"])]),
        .target(name: "PodNetIptables", dependencies: ["PodNet", "PodNetSystem", "CIPTC"]),
        .target(name: "PodNetNetlink", dependencies: ["PodNet", "PodNetSystem", "CMNL"]),

        // Observe the node and execute a plan across both backends, with rollback.
        .target(name: "PodNetDataplane", dependencies: ["PodNet", "PodNetIptables", "PodNetNetlink", "PodNetSystem"]),

        // podnet as the node's CNI plugin: the protocol, the allocation store under
        // dataDir, and ADD/DEL/CHECK/GC as scoped applies of the node's desired state.
        .target(name: "PodNetCNI", dependencies: [
            "PodNet", "PodNetConfig", "PodNetCompiler", "PodNetDataplane", "PodNetIptables", "PodNetNetlink", "PodNetSystem",
        ]),

        .executableTarget(name: "podnet", dependencies: [
            "PodNet", "PodNetConfig", "PodNetCompiler", "PodNetDataplane", "PodNetSystem", "PodNetCNI", "CMalloc",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Helpers for kernel tests: throwaway namespaces, oracle commands.
        .target(name: "PodNetTestSupport", dependencies: ["PodNetSystem"], path: "Tests/PodNetTestSupport"),
        .testTarget(name: "PodNetTests", dependencies: ["PodNet", "PodNetTestSupport"]),
        // Runs the built podnet binary: exit statuses, messages, output.
        .testTarget(name: "PodNetCLITests", dependencies: ["PodNetTestSupport", "PodNetCNI", "PodNetConfig"]),
        // Yams (on the same libyaml) is the oracle the YAML reader is compared with.
        .testTarget(name: "PodNetConfigTests", dependencies: [
            "PodNetConfig", "PodNetTestSupport", .product(name: "Yams", package: "Yams"),
        ]),
        .testTarget(name: "PodNetCompilerTests", dependencies: [
            "PodNetCompiler", "PodNetConfig", "PodNetTestSupport",
        ]),
        .testTarget(name: "PodNetIptablesTests", dependencies: [
            "PodNetIptables", "PodNetCompiler", "PodNetConfig", "PodNetTestSupport",
        ]),
        .testTarget(name: "PodNetDataplaneTests", dependencies: [
            "PodNetDataplane", "PodNetCompiler", "PodNetConfig", "PodNetTestSupport",
        ]),
        .testTarget(name: "PodNetNetlinkTests", dependencies: ["PodNetNetlink", "PodNetTestSupport"]),
        // The CNI protocol and store without root; the binary driven as libcni drives it, on the kernel.
        .testTarget(name: "PodNetCNITests", dependencies: ["PodNetCNI", "PodNetConfig", "PodNetDataplane", "PodNetTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
