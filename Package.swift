// swift-tools-version:6.0
import PackageDescription

/// One set of Swift settings shared by every Swift target.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// Debian's static archives of shaderc and what it calls (libshaderc-dev, glslang-dev, spirv-tools).
let shadercArchives = [
    "shaderc_combined", "glslang", "MachineIndependent", "GenericCodeGen", "OSDependent",
    "OGLCompiler", "HLSL", "SPIRV", "glslang-default-resource-limits", "SPIRV-Tools-opt",
    "SPIRV-Tools",
]

let package = Package(
    name: "upscaler",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "upscaler", targets: ["upscaler"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.10.0"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.7.0"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.26.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.9.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    ],
    targets: [
        // C layer: system libraries and the shims Swift cannot call directly.
        .systemLibrary(
            name: "CVips", path: "Sources/CVips", pkgConfig: "vips",
            providers: [.apt(["libvips-dev"])]),
        .target(
            name: "CVipsShim", dependencies: ["CVips"], path: "Sources/CVipsShim",
            linkerSettings: [.linkedLibrary("exif")]),
        // The engine's own AVX-512 Winograd kernels, each function compiled for the ISA it names and chosen at run time.
        .target(name: "CWinograd", path: "Sources/CWinograd"),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // Vulkan and shaderc headers. The Vulkan loader is opened at run time (see VulkanLibrary.swift); shaderc is
        // linked statically below.
        .systemLibrary(
            name: "CVulkan", path: "Sources/CVulkan",
            providers: [.apt(["libvulkan-dev", "libshaderc-dev", "glslang-dev", "spirv-tools"])]),

        // Swift layers, lowest first.
        // Whole-or-nothing file writes and the temporary-file naming the sweeper relies on.
        .target(name: "AtomicFile", swiftSettings: swiftSettings),
        .target(name: "Imaging", dependencies: ["CVips", "CVipsShim", "AtomicFile"], swiftSettings: swiftSettings),
        // The engine core: model reader, planner, reference kernels, tiler and the backend protocol. No backend.
        .target(name: "Inference", swiftSettings: swiftSettings),
        // Model files users bring (.safetensors, PyTorch .pth): read without executing anything, the network detected
        // from the weights and written out in the ncnn form the engines run.
        .target(
            name: "ModelFormats", dependencies: [.product(name: "ZIPFoundation", package: "ZIPFoundation")],
            swiftSettings: swiftSettings),
        // The CPU backend: oneDNN convolutions and the engine's own memory-bound kernels.
        .target(name: "InferenceCPU", dependencies: ["Inference", "CDNNL", "CWinograd"], swiftSettings: swiftSettings),
        // The GPU backend: Vulkan compute shaders, compiled from GLSL when an engine is made.
        .target(
            name: "InferenceVulkan", dependencies: ["Inference", "CVulkan"],
            resources: [
                .embedInCode("Shaders/prelude.glsl"), .embedInCode("Shaders/convolution.comp"),
                .embedInCode("Shaders/elementwise.comp"), .embedInCode("Shaders/pixel_shuffle.comp"),
                .embedInCode("Shaders/interpolation.comp"),
            ],
            swiftSettings: swiftSettings,
            // shaderc and the glslang and SPIRV-Tools archives it needs, in one group since they refer to each other.
            linkerSettings: [
                .unsafeFlags(
                    ["-Xlinker", "--start-group"] + shadercArchives.map { "-l" + $0 }
                        + ["-Xlinker", "--end-group", "-lstdc++"])
            ]),
        .target(
            name: "UpscaleCore",
            dependencies: [
                "Imaging", "Inference", "InferenceCPU", "InferenceVulkan", "ModelFormats",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        // Timing and comparison helpers for `upscaler bench` and the fidelity tests: reference engines run as
        // Python tools, agreement between outputs, peak memory.
        .target(name: "Benchmarks", dependencies: ["Inference", "UpscaleCore"], swiftSettings: swiftSettings),
        // The job queue behind a protocol; SQLite (GRDB) is the embedded implementation.
        .target(
            name: "JobStore",
            dependencies: [
                "AtomicFile",  // blobs kept as files are written whole or not at all
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),  // the PostgreSQL pool
            ],
            swiftSettings: swiftSettings),
        // The HTTP service. Its routes and types (Generated/) are generated from openapi.json by
        // scripts/generate-openapi.sh, which CI checks against the document.
        .target(
            name: "UpscaleServer",
            dependencies: [
                "UpscaleCore", "Imaging", "Inference", "JobStore", "AtomicFile",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),  // NIOLockedValueBox
                .product(name: "NIOPosix", package: "swift-nio"),  // NIOThreadPool, for a large upload's decoding
                // The request parts a malformed head is answered in (MalformedHeadAnswer).
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            resources: [
                .embedInCode("openapi.json"), .embedInCode("Resources/docs.html"),
                .embedInCode("Resources/ui.html"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "upscaler",
            dependencies: [
                "UpscaleCore", "UpscaleServer", "Inference", "InferenceCPU", "InferenceVulkan", "JobStore",
                "Benchmarks", "ModelFormats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // Runs a model on the GPU from raw tensors and prints timings. Links the engine core and the Vulkan backend
        // only (no libvips, no oneDNN), so with --static-swift-stdlib it runs on a GPU machine that has none of this
        // project's packages (scripts/gpu-check.sh).
        .executableTarget(
            name: "upscaler-gpu-bench", dependencies: ["Inference", "InferenceVulkan"],
            swiftSettings: swiftSettings),

        // Helpers shared by the test targets only.
        .target(
            name: "TestSupport", dependencies: ["Inference"], path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "InferenceTests", dependencies: ["Inference", "InferenceCPU", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "InferenceVulkanTests", dependencies: ["Inference", "InferenceVulkan", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "UpscaleCoreTests",
            dependencies: [
                "UpscaleCore", "Imaging", "Inference", "InferenceCPU", "InferenceVulkan", "TestSupport",
                "Benchmarks", "ModelFormats",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ServerTests", dependencies: ["JobStore", "UpscaleCore", "TestSupport"],
            swiftSettings: swiftSettings),
        // The HTTP surface in process: the app's router on a temporary store, no executable and no model.
        .testTarget(
            name: "UpscaleServerTests",
            dependencies: [
                "UpscaleServer", "UpscaleCore", "ModelFormats", "JobStore", "Imaging", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),  // the generated code's document digest
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
    ]
)
