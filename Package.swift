// swift-tools-version:6.0
import PackageDescription

/// One set of Swift settings shared by every Swift target.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "upscaler",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "upscaler", targets: ["upscaler"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.10.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.7.0"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.26.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
    ],
    targets: [
        // C layer: system libraries and the shims Swift cannot call directly.
        .systemLibrary(name: "CVips", path: "Sources/CVips", pkgConfig: "vips",
                       providers: [.apt(["libvips-dev"])]),
        .target(name: "CVipsShim", dependencies: ["CVips"], path: "Sources/CVipsShim",
                linkerSettings: [.linkedLibrary("exif")]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),

        // Swift layers, lowest first.
        .target(name: "Imaging", dependencies: ["CVips", "CVipsShim"], swiftSettings: swiftSettings),
        .target(name: "Inference", dependencies: ["CDNNL"], swiftSettings: swiftSettings),
        .target(name: "UpscaleCore", dependencies: ["Imaging", "Inference"], swiftSettings: swiftSettings),
        // The job queue behind a protocol; SQLite (GRDB) is the embedded implementation.
        .target(
            name: "JobStore",
            dependencies: [
                "Imaging",   // its atomic file write, for blobs kept as files
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // The HTTP service: routes and types generated from Sources/UpscaleServer/openapi.yaml.
        .target(
            name: "UpscaleServer",
            dependencies: [
                "UpscaleCore", "Imaging", "JobStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("openapi.json"), .embedInCode("Resources/docs.html"),
                        .embedInCode("Resources/ui.html")],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]),
        .executableTarget(
            name: "upscaler",
            dependencies: [
                "UpscaleCore", "UpscaleServer", "Inference", "JobStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),

        // Helpers shared by the test targets only.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "UpscaleCoreTests", dependencies: ["UpscaleCore", "Imaging", "Inference", "TestSupport"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "ServerTests", dependencies: ["JobStore", "UpscaleCore", "TestSupport"],
                    swiftSettings: swiftSettings),
    ]
)
