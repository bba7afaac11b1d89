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
        .executableTarget(
            name: "upscaler",
            dependencies: [
                "UpscaleCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings),

        // Helpers shared by the test targets only.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "UpscaleCoreTests", dependencies: ["UpscaleCore", "Imaging", "Inference", "TestSupport"],
                    swiftSettings: swiftSettings),
    ]
)
