import Foundation
import Imaging
import Inference
import JobStore
import UpscaleCore

/// A job's options as the api role validated them and the worker reads them back from the store.
struct JobRequest: Codable, Sendable, Equatable {
    var model: String
    /// nil: the model's native scale.
    var scale: Double?
    /// Stored as its file extension, as requests queued by earlier versions have it.
    var format: ImageFormat
    var quality: Int?
    var tile: Int?
    var background: String?
    var keepProfile: Bool?
    var stripMetadata: Bool?

    /// The fields as a client sent them, whatever the transport (JSON, multipart, query).
    struct Fields {
        var scale: Double?
        var outputExt: String?
        var model: String?
        var quality: Int?
        var tile: Int?
        var background: String?
        var keepProfile: Bool?
        var stripMetadata: Bool?
    }

    /// Checks `fields` the way the old service did (scale 2 or 4 when `seedScales`), or as the command line does.
    static func validated(
        _ fields: Fields, seedScales: Bool, defaultModel: String,
        knownModels: Set<String>, maxTile: Int
    ) throws -> JobRequest {
        if let scale = fields.scale {
            if seedScales {
                guard scale == 2 || scale == 4 else {
                    throw APIError.badRequest(.invalidScale, "scale must be 2 or 4, got \(Self.format(scale))")
                }
            } else {
                guard OptionBounds.allows(scale: scale) else {
                    throw APIError.badRequest(
                        .invalidScale,
                        "scale must be above 0 and at most "
                            + "\(Int(OptionBounds.maxScale)), got \(Self.format(scale))")
                }
            }
        }
        let ext = (fields.outputExt ?? "png").lowercased()
        guard let format = ImageFormat(name: ext) else {
            throw APIError.badRequest(.invalidOutputExtension, "output_ext must be png, jpg or webp, got '\(ext)'")
        }
        let model = fields.model ?? defaultModel
        guard knownModels.contains(model) else {
            throw APIError.badRequest(
                .unknownModel,
                "unknown model '\(model)'; see GET / for the models (\(knownModels.sorted().joined(separator: ", ")))")
        }
        if let quality = fields.quality, !OptionBounds.quality.contains(quality) {
            throw APIError.badRequest(
                .invalidQuality, "quality must be \(OptionBounds.text(OptionBounds.quality)), got \(quality)")
        }
        // The server's cap, not the pipeline's: a client's tile edge sets the memory a worker takes.
        let tiles = OptionBounds.tile.lowerBound...min(maxTile, OptionBounds.tile.upperBound)
        if let tile = fields.tile, !tiles.contains(tile) {
            throw APIError.badRequest(
                .invalidTile, "tile must be \(OptionBounds.text(tiles)) on this server (--max-tile), got \(tile)")
        }
        if let background = fields.background, UpscaleOptions.parseColour(background) == nil {
            throw APIError.badRequest(.invalidBackground, "background must be #rrggbb, white or black")
        }
        // The old service defaulted to 4x.
        return JobRequest(
            model: model, scale: fields.scale ?? 4, format: format, quality: fields.quality,
            tile: fields.tile, background: fields.background, keepProfile: fields.keepProfile,
            stripMetadata: fields.stripMetadata)
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(value)
    }

    /// The pipeline options for this request under the server's limits.
    func upscaleOptions(_ configuration: ServerConfiguration) -> UpscaleOptions {
        var options = UpscaleOptions(
            model: model, scale: scale, format: format,
            quality: quality ?? 95, threads: configuration.threads,
            limits: ImageLimits(
                maxPixels: configuration.maxPixels,
                maxFileBytes: configuration.maxBodyBytes))
        if let tile { options.tiling.tile = tile } else { options.autoTile = true }
        options.device = configuration.device
        options.precision = configuration.precision
        options.cpuFallback = configuration.cpuFallback
        options.tiling.overlap = min(options.tiling.overlap, options.tiling.tile / 2)
        if let background, let colour = UpscaleOptions.parseColour(background) { options.background = colour }
        options.keepProfile = keepProfile ?? false
        options.stripMetadata = stripMetadata ?? false
        options.maxInputSide = configuration.maxInputSide
        return options
    }
}
