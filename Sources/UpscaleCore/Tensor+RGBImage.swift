public import Imaging
public import Inference

extension Tensor {
    /// The image's planar RGB pixels as a 3-channel tensor (both are CHW, so this is a move, not a conversion).
    public init(_ image: RGBImage) {
        self.init(channels: 3, height: image.height, width: image.width, data: image.pixels)
    }
}

extension RGBImage {
    /// A 3-channel tensor's values as an image.
    public init(_ tensor: Tensor) {
        precondition(tensor.channels == 3, "an RGB image needs 3 channels")
        self.init(width: tensor.width, height: tensor.height, pixels: tensor.data)
    }
}
