// swift-tools-version: 6.1
import PackageDescription

/// Module layout follows ../shared/DESIGN.md: each module depends only on those above it.
let package = Package(
    name: "circuitsweep",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "circuitsweep", targets: ["circuitsweep"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // C shims: modulemap + header only.
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // Thin wrappers, one per C library.
        .target(name: "ZeroMQ", dependencies: [
            "CZeroMQ", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "HDF5", dependencies: ["CHDF5"]),
        .target(name: "CKernels"),
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "Checksum", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),

        // Numerics and science.
        .target(name: "NeoX", dependencies: [
            "Tensor", "Checksum", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        .target(name: "Tokenizer", dependencies: ["Checksum"]),
        .target(name: "Circuits", dependencies: ["NeoX", "Tensor"]),
        .target(name: "Tasks", dependencies: [
            "Tokenizer", "NeoX", "Tensor", "Circuits", "Checksum",
        ]),

        // Results and sweep.
        .target(name: "Results", dependencies: ["HDF5", "Checksum"]),
        .target(name: "Sweep", dependencies: [
            "Results", "Checksum",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Aggregate", dependencies: ["Results", "HDF5"]),
        .target(name: "Report", dependencies: ["Aggregate"]),
        .target(name: "Coordinator", dependencies: [
            "Sweep", "ZeroMQ", "Results", "Tasks", "Tokenizer", "Checksum",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Worker", dependencies: [
            "Sweep", "ZeroMQ", "Results", "Circuits", "Tasks", "NeoX", "Checksum",
            .product(name: "Logging", package: "swift-log"),
        ]),

        .executableTarget(name: "circuitsweep", dependencies: [
            "ZeroMQ", "HDF5", "Tensor", "Checksum", "NeoX", "Tokenizer", "Circuits", "Tasks",
            "Results", "Sweep", "Coordinator", "Worker", "Aggregate", "Report",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Fixture readers shared by the test targets (through the production loaders).
        .target(name: "FixtureSupport", dependencies: ["NeoX", "Tensor"], path: "Tests/FixtureSupport"),

        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "NeoXTests", dependencies: ["FixtureSupport", 
            "NeoX", "Tensor", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer"]),
        .testTarget(name: "CircuitsTests", dependencies: ["FixtureSupport", "Circuits", "NeoX", "Tensor"]),
        .testTarget(name: "TasksTests", dependencies: ["Tasks", "Tokenizer", "NeoX", "Circuits"]),
        .testTarget(name: "ResultsTests", dependencies: ["Results", "HDF5"]),
        .testTarget(name: "AggregateTests", dependencies: ["Aggregate", "Report", "Results"]),
        .testTarget(name: "SweepTests", dependencies: [
            "Sweep", .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "IntegrationTests", dependencies: [
            "Coordinator", "Worker", "Sweep", "Results", "Circuits", "NeoX", "ZeroMQ", "Aggregate", "Checksum", "Tasks", "Tokenizer", "Tensor",
        ]),
    ],
    swiftLanguageModes: [.v6]
)
