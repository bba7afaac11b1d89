import Foundation
import Imaging
import JobStore
import Logging
import ServiceLifecycle
import UpscaleCore

/// The pipeline object, used by one job at a time on the compute thread.
final class UncheckedUpscaler: @unchecked Sendable {
    let value: Upscaler
    init(_ value: Upscaler) { self.value = value }
}
