/// One server setting, defined once: the flag that sets it, the environment variable read when the flag is absent,
/// what it means, its default as help shows it (taken from ``ServerConfiguration``'s own defaults), and how a value
/// is parsed, checked against its bounds and applied.
public struct ServerSetting: Sendable {
    /// The long flag without dashes, e.g. `port`.
    public let flag: String
    /// The variable read when the flag is not given; older names that are still read follow it.
    public let variables: [String]
    public let summary: String
    /// The default as help shows it; nil when there is none worth stating.
    public let defaultText: String?
    let apply: @Sendable (inout ServerConfiguration, String) throws -> Void

    init(
        _ flag: String, _ variables: [String], _ summary: String, default defaultText: String? = nil,
        apply: @escaping @Sendable (inout ServerConfiguration, String) throws -> Void
    ) {
        self.flag = flag
        self.variables = variables
        self.summary = summary
        self.defaultText = defaultText
        self.apply = apply
    }

    /// What `--help` prints: "Port to listen on ($UPSCALER_PORT, default 8000; 0 picks a free one)."
    public var help: String {
        "\(summary) (" + variables.map { "$" + $0 }.joined(separator: " or ")
            + (defaultText.map { ", default \($0)" } ?? "") + ")."
    }
}
