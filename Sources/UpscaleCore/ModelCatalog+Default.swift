extension ModelCatalog {
    /// The model used when none is named: the general-purpose photo model, as in upstream Real-ESRGAN.
    public static let defaultModel = "realesrgan-x4plus"
}
