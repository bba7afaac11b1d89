/// The compute shaders of the backend, with the layout each one declares.
enum Shader: String, CaseIterable, Sendable {
    case convolution
    case elementwise
    case pixelShuffle = "pixel_shuffle"
    case interpolation

    /// GLSL source, the shared prelude first (embedded from `Shaders/` at build time).
    var source: String {
        let body: [UInt8]
        switch self {
        case .convolution: body = PackageResources.convolution_comp
        case .elementwise: body = PackageResources.elementwise_comp
        case .pixelShuffle: body = PackageResources.pixel_shuffle_comp
        case .interpolation: body = PackageResources.interpolation_comp
        }
        return String(decoding: PackageResources.prelude_glsl + [10] + body, as: UTF8.self)
    }

    /// Storage buffers the shader binds, in binding order.
    var bindings: Int {
        switch self {
        case .convolution, .elementwise, .interpolation: return 4
        case .pixelShuffle: return 2
        }
    }

    /// Bytes of push constants: 32-bit words, as the shader's `Parameters` block declares them.
    var pushBytes: Int {
        switch self {
        case .convolution: return 4 * 4
        case .elementwise: return 8 * 4
        case .pixelShuffle: return 7 * 4
        case .interpolation: return 7 * 4
        }
    }
}
