import Imaging
import Inference

extension Upscaler {
    /// Model-size alpha rows made at a time for the row shrinker.
    static let alphaBandRows = 64

    /// Alpha joins the colour again at its size: enlarged on its own (Lanczos) to what the model made, then shrunk
    /// as the colour was, unless the model enlarged it too (`AlphaUpsampler.model`). When the colour was shrunk to
    /// the target as it came, alpha is enlarged and shrunk a band of rows at a time, so its model-size plane is never
    /// held either; the result is the whole-plane resize's.
    func alpha(_ state: inout State) throws {
        guard let alpha = state.sourceAlpha else { return }
        if let enlarged = state.modelAlpha {
            state.image.alpha = enlarged
            return
        }
        let (input, model) = (state.inputSize, state.modelSize)
        let (width, height) = (state.image.width, state.image.height)
        if width == model.width && height == model.height {
            state.image.alpha = try Imaging.resizeAlpha(
                alpha, width: input.width, height: input.height, to: width, height)
            return
        }
        guard
            let enlarger = AlphaEnlarger(
                alpha, width: input.width, height: input.height, to: model.width, model.height),
            var shrinker = RowShrinker(
                sourceWidth: model.width, sourceHeight: model.height, width: width, height: height)
        else {
            let enlarged = try Imaging.resizeAlpha(
                alpha, width: input.width, height: input.height, to: model.width, model.height)
            state.image.alpha = try Imaging.resizeAlpha(
                enlarged, width: model.width, height: model.height, to: width, height)
            return
        }
        var row = 0
        while row < model.height {
            let rows = row..<min(model.height, row + Self.alphaBandRows)
            try shrinker.add(firstRow: row, rows: Tensor(enlarger.rows(rows)))
            row = rows.upperBound
        }
        state.image.alpha = shrinker.output.data[0..<(width * height)].map { min(max($0, 0), 1) }
    }

    /// Alpha through the model: the model's three outputs averaged and clamped, as three equal planes (the shape the
    /// row shrinker and the resamplers take).
    static func averagedAlpha(_ output: Tensor) -> Tensor {
        let plane = output.width * output.height
        let mean = output.data.withUnsafeBufferPointer { values in
            (0..<plane).map { i in min(max((values[i] + values[plane + i] + values[2 * plane + i]) / 3, 0), 1) }
        }
        return Tensor(channels: 3, height: output.height, width: output.width, data: mean + mean + mean)
    }
}
