// swift-tools-version:6.0
// The OpenAPI generator, pinned, in a package of its own: `scripts/generate-openapi.sh` runs it to write
// Sources/UpscaleServer/Generated from Sources/UpscaleServer/openapi.json. Keeping it out of the main package keeps
// it out of every build (as a build plugin it compiled twice per clean build, on the critical path).
import PackageDescription

let package = Package(
    name: "openapi-generator",
    dependencies: [
        .package(url: "https://github.com/apple/swift-openapi-generator", exact: "1.14.3")
    ]
)
