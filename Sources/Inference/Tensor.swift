/// A single image-like tensor in planar CHW layout: all of channel 0, then channel 1, and so on.
///
/// This is the engine's exchange format: inputs come in as RGB in [0, 1], outputs go out the same way.
public struct Tensor: Sendable, Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    /// `channels * height * width` values, row-major within each channel plane.
    public var data: [Float]

    public init(channels: Int, height: Int, width: Int, data: [Float]) {
        precondition(data.count == channels * height * width, "tensor data does not match its shape")
        self.channels = channels
        self.height = height
        self.width = width
        self.data = data
    }

    public init(channels: Int, height: Int, width: Int, repeating value: Float = 0) {
        self.init(
            channels: channels, height: height, width: width,
            data: [Float](repeating: value, count: channels * height * width))
    }

    public var shape: Shape { Shape(channels: channels, height: height, width: width) }

    /// The `height` x `width` window whose top-left corner is at (`y`, `x`), all channels.
    public func cropped(y: Int, x: Int, height: Int, width: Int) -> Tensor {
        precondition(
            y >= 0 && x >= 0 && y + height <= self.height && x + width <= self.width, "crop outside the tensor")
        var out = Tensor(channels: channels, height: height, width: width)
        for c in 0..<channels {
            for row in 0..<height {
                let src = (c * self.height + y + row) * self.width + x
                let dst = (c * height + row) * width
                out.data.replaceSubrange(dst..<(dst + width), with: data[src..<(src + width)])
            }
        }
        return out
    }

    /// The centred square of edge `size`.
    public func centreCrop(_ size: Int) -> Tensor {
        cropped(y: (height - size) / 2, x: (width - size) / 2, height: size, width: size)
    }

    @inline(__always)
    public subscript(c: Int, y: Int, x: Int) -> Float {
        get { data[(c * height + y) * width + x] }
        set { data[(c * height + y) * width + x] = newValue }
    }
}

/// The shape of one blob (batch size is always 1).
public struct Shape: Sendable, Hashable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    public var count: Int { channels * height * width }
    public var description: String { "\(channels)x\(height)x\(width)" }
}
