public import Inference

extension ModelStore {
    /// The weak-denoise companion of a model, as upstream names them: `wdn-` before the last part of the name
    /// (realesr-general-x4v3 → realesr-general-wdn-x4v3).
    public static func denoiseCompanion(of name: String) -> String {
        var parts = name.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        parts.insert("wdn", at: max(0, parts.count - 1))
        return parts.joined(separator: "-")
    }

    /// The network of `name`; with a denoise strength, its weights blended with its companion's
    /// (``Network/interpolated(with:weight:)``): `strength` times the model's plus `1 - strength` times the
    /// companion's, as upstream's `--denoise_strength` does. Loaded once per engine, so once per strength.
    public func network(_ name: String, denoise: Double? = nil) throws -> Network {
        let files = try locate(name)
        let network = try Network(paramFile: files.param, binFile: files.bin)
        guard let denoise else { return network }
        let companion = Self.denoiseCompanion(of: name)
        let companionFiles: ModelFiles
        do {
            companionFiles = try locate(companion)
        } catch {
            throw ModelStoreError(
                .missingFile,
                "--denoise blends \(name) with \(companion), which is not installed; import both "
                    + "(`upscaler models import realesr-general-wdn-x4v3.pth`)")
        }
        let other = try Network(paramFile: companionFiles.param, binFile: companionFiles.bin)
        return try network.interpolated(with: other, weight: Float(denoise))
    }
}
