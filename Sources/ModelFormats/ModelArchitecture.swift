/// A network family recognised from a state dict's names and shapes, with the sizes that tell its variants apart.
public enum ModelArchitecture: Sendable, Equatable, CustomStringConvertible {
    /// ESRGAN's RRDBNet, as Real-ESRGAN trains it: residual-in-residual dense blocks, then two nearest 2x
    /// enlargements. At 2x and 1x the input is pixel-unshuffled first (by 2 or 4), so the network still enlarges 4x.
    case rrdbNet(blocks: Int, features: Int, growth: Int, scale: Int)
    /// Real-ESRGAN's compact VGG-style network (realesr-animevideov3, realesr-general-x4v3): `convolutions`
    /// 3x3 layers of `features` channels between a first and a last one, a pixel shuffle by `scale`, and the input
    /// enlarged by nearest neighbour added back.
    case srvggNetCompact(convolutions: Int, features: Int, scale: Int, activation: Activation)

    public enum Activation: String, Sendable, Equatable {
        case prelu = "PReLU"
        /// LeakyReLU with slope 0.1 (a state dict holds no weights for it, so ReLU could not be told apart).
        case leakyReLU = "LeakyReLU"
    }

    /// How many times larger the output is than the input.
    public var scale: Int {
        switch self {
        case .rrdbNet(_, _, _, let scale), .srvggNetCompact(_, _, let scale, _): scale
        }
    }

    /// The family's name, as upstream calls it.
    public var family: String {
        switch self {
        case .rrdbNet: "RRDBNet"
        case .srvggNetCompact: "SRVGGNetCompact"
        }
    }

    public var description: String {
        switch self {
        case .rrdbNet(let blocks, let features, let growth, let scale):
            "RRDBNet x\(scale) (\(blocks) blocks, \(features) features, growth \(growth))"
        case .srvggNetCompact(let convolutions, let features, let scale, let activation):
            "SRVGGNetCompact x\(scale) (\(convolutions) convolutions, \(features) features, \(activation.rawValue))"
        }
    }

    /// What ``detect(_:file:)`` recognises, for the message that refuses anything else.
    public static let recognised =
        "RRDBNet (Real-ESRGAN's conv_first/body.N.rdbM names or ESRGAN's model.0/model.1.sub names; 1x, 2x, 4x) and "
        + "SRVGGNetCompact (body.N names; PReLU or LeakyReLU)"
}
