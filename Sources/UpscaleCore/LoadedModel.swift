import Inference

/// A model loaded on one device.
struct LoadedModel {
    struct Key: Equatable {
        let target: ComputeTarget
        let precision: Precision?
        let threads: Int
        /// The denoise strength the weights were blended at, if any.
        let denoise: Double?
    }

    let runner: any NetworkRunner
    let scale: Int
    let key: Key
    /// The tile edge the device's memory holds, for `UpscaleOptions.autoTile`; `nil` keeps the options' tile.
    let preferredTile: Int?

    var target: ComputeTarget { key.target }
}
