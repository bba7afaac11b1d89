/// The sizes a job goes through, from the input's size and the options alone. The pipeline follows them, and the
/// server uses the same rules to refuse a job past its limits before anything is decoded.
extension UpscaleOptions {
    /// The exact output size for an input of `width` x `height`: the largest size that fits `fitWidth` x
    /// `fitHeight`, `scale`, or else the model's native scale.
    public func outputSize(width: Int, height: Int, modelScale: Int) -> (width: Int, height: Int) {
        let (w, h) = (Double(width), Double(height))
        if fitWidth != nil || fitHeight != nil {
            let widthScale = fitWidth.map { Double($0) / w } ?? .infinity
            let heightScale = fitHeight.map { Double($0) / h } ?? .infinity
            // The constraining side is exact; the other follows the aspect ratio.
            if let fitWidth, widthScale <= heightScale {
                return (fitWidth, max(1, Int((h * widthScale).rounded())))
            }
            return (max(1, Int((w * heightScale).rounded())), fitHeight ?? height)
        }
        guard let scale else { return (width * modelScale, height * modelScale) }
        return (max(1, Int((w * scale).rounded())), max(1, Int((h * scale).rounded())))
    }

    /// Above 2x, an input longer than `maxInputSide` is first shrunk to it, as the service this replaces did: the
    /// size it is shrunk to, or nil when it is kept. A `scale` then applies to the shrunk input; a
    /// `fitWidth`/`fitHeight` target stays as asked.
    public func shrunkInputSize(width: Int, height: Int, modelScale: Int) -> (width: Int, height: Int)? {
        guard let limit = maxInputSide else { return nil }
        let longest = max(width, height)
        guard longest > limit else { return nil }
        let target = outputSize(width: width, height: height, modelScale: modelScale)
        let enlargement = max(Double(target.width) / Double(width), Double(target.height) / Double(height))
        guard enlargement > 2 + 1e-9 else { return nil }
        let shrink = Double(limit) / Double(longest)
        return (max(1, Int((Double(width) * shrink).rounded())), max(1, Int((Double(height) * shrink).rounded())))
    }
}
