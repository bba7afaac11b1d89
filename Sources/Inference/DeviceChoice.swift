/// Where inference runs, as `--device` and `UPSCALER_DEVICE` spell it: `auto`, `cpu`, `gpu` or `gpu:N`.
public enum DeviceChoice: Sendable, Hashable, CustomStringConvertible {
    /// A discrete or integrated GPU when there is one, the CPU otherwise.
    case auto
    case cpu
    /// A GPU: the best one (`nil`), or device `N` in the driver's order.
    case gpu(Int?)

    public init?(_ text: String) {
        switch text.lowercased() {
        case "auto": self = .auto
        case "cpu": self = .cpu
        case "gpu": self = .gpu(nil)
        default:
            let parts = text.lowercased().split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == "gpu", let index = Int(parts[1]), index >= 0 else { return nil }
            self = .gpu(index)
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .cpu: return "cpu"
        case .gpu(nil): return "gpu"
        case .gpu(let index?): return "gpu:\(index)"
        }
    }
}
