import HTTPTypes
import Imaging
import JobStore
import UpscaleCore

/// What a job will cost, from the image header and the request alone, so that a job past the server's limits is
/// refused before its upload is stored: the pixels the model runs over (after the shrink above 2x that
/// `--max-input-side` asks for) and the size of the output. The sizes come from the rules the pipeline follows
/// (`UpscaleOptions.shrunkInputSize` and `outputSize`), applied to the options the worker will run with.
struct WorkEstimate: Equatable {
    let modelWidth: Int
    let modelHeight: Int
    let outputWidth: Int
    let outputHeight: Int

    var modelPixels: Int { modelWidth * modelHeight }

    /// `modelScale`: the model's native scale when known (an imported 2x model's is recorded at import), else 4.
    init(width: Int, height: Int, options: UpscaleOptions, modelScale: Int? = nil) {
        let modelScale = modelScale ?? ModelCatalog.named(options.model)?.nativeScale ?? 4
        let input =
            options.shrunkInputSize(width: width, height: height, modelScale: modelScale) ?? (width, height)
        let output = options.outputSize(width: input.width, height: input.height, modelScale: modelScale)
        (modelWidth, modelHeight) = (input.width, input.height)
        (outputWidth, outputHeight) = (output.width, output.height)
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
