import HTTPTypes
import Imaging
import JobStore
import UpscaleCore

/// What a job will cost, from the image header and the request alone, so that a job past the server's limits is
/// refused before its upload is stored: the pixels the model runs over (after the shrink above 2x that
/// `--max-input-side` asks for) and the size of the output.
struct WorkEstimate: Equatable {
    let modelWidth: Int
    let modelHeight: Int
    let outputWidth: Int
    let outputHeight: Int

    var modelPixels: Int { modelWidth * modelHeight }

    init(width: Int, height: Int, scale: Double, maxInputSide: Int?) {
        var (w, h) = (width, height)
        // As the pipeline does it (Upscaler.shrinkLargeInput): only above 2x, to the limit on the longer side.
        if scale > 2 + 1e-9, let limit = maxInputSide, max(w, h) > limit {
            let shrink = Double(limit) / Double(max(w, h))
            (w, h) = (max(1, Int((Double(w) * shrink).rounded())), max(1, Int((Double(h) * shrink).rounded())))
        }
        modelWidth = w
        modelHeight = h
        outputWidth = max(1, Int((Double(w) * scale).rounded()))
        outputHeight = max(1, Int((Double(h) * scale).rounded()))
    }

    /// The refusal for a job past `maxModelPixels` or past what the output format can hold, or nil.
    func refusal(maxModelPixels: Int, format: ImageFormat) -> APIError? {
        if modelPixels > maxModelPixels {
            return APIError(
                .contentTooLarge, .tooMuchWork,
                "the model would run over \(modelWidth)x\(modelHeight) pixels, more than this server's limit of "
                    + "\(maxModelPixels) (--max-model-pixels); send a smaller image, or ask for more than 2x, "
                    + "which shrinks a large input first")
        }
        let side = max(outputWidth, outputHeight)
        if side > Upscaler.maxOutputSide {
            return APIError(
                .unprocessableContent, .unprocessable,
                "the output would be \(outputWidth)x\(outputHeight); the limit is \(Upscaler.maxOutputSide) px "
                    + "per side")
        }
        if side > format.maxSide {
            return APIError(
                .unprocessableContent, .unprocessable,
                "the output would be \(outputWidth)x\(outputHeight), and \(format.fileExtension) holds at most "
                    + "\(format.maxSide) px per side; ask for png, or a smaller scale")
        }
        return nil
    }
}
