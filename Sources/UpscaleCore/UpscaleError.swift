import Imaging
import Inference

/// A failure of the upscaling pipeline, with a one-line public message and the internal detail kept apart.
///
/// `message` is what a person sees (CLI stderr, later an HTTP body). `detail` is for logs only.
public struct UpscaleError: Error, CustomStringConvertible, Sendable {
    /// Broad classes callers map to exit codes or HTTP statuses.
    public enum Kind: Sendable, Equatable {
        case invalidInput  // unreadable, corrupt or empty image
        case unsupportedFormat  // not a format we read
        case tooLarge  // over a pixel or byte limit
        case invalidOption  // bad scale, tile size, format name, ...
        case modelUnavailable  // missing or corrupt model files
        case cancelled
        case internalFailure  // backend or I/O failure
    }

    public let kind: Kind
    public let message: String
    public let detail: String

    public init(_ kind: Kind, _ message: String, detail: String = "") {
        self.kind = kind
        self.message = message
        self.detail = detail
    }

    public var description: String { message }

    /// Translates the lower layers' errors, keeping their public text and their detail apart.
    public init(_ error: any Error, modelName: String? = nil) {
        switch error {
        case let e as UpscaleError:
            self = e
        case let e as ImagingError:
            let kind: Kind
            switch e.code {
            case .unreadable: kind = .invalidInput
            case .unsupportedFormat: kind = .unsupportedFormat
            case .tooLarge, .fileTooLarge: kind = .tooLarge
            case .invalidArgument: kind = .invalidOption
            case .encodeFailed, .ioFailed, .libraryInit: kind = .internalFailure
            }
            self.init(kind, e.message, detail: e.detail)
        case let e as InferenceError:
            switch e.code {
            case .malformedModel, .unsupportedOperation:
                let fix =
                    modelName.map { " (model \($0); run `upscaler models verify`, then `upscaler models fetch`)" } ?? ""
                self.init(.modelUnavailable, e.message + fix, detail: e.detail)
            case .noDevice, .unsupportedPrecision, .invalidSetting:
                // The device or precision asked for is not on this machine: a choice to change, not a fault.
                self.init(.invalidOption, e.message, detail: e.detail)
            case .shapeMismatch, .backendFailure, .deviceLost, .outOfDeviceMemory:
                self.init(.internalFailure, e.message, detail: e.detail)
            }
        case let e as ModelStoreError:
            self.init(.modelUnavailable, e.message)
        default:
            self.init(.internalFailure, "internal error", detail: "\(error)")
        }
    }
}
