public import Foundation

/// Where the set-up script installed the real models, if it has.
public func installedModel(_ name: String) -> (param: URL, bin: URL)? {
    let env = ProcessInfo.processInfo.environment
    let dir: URL
    if let custom = env["UPSCALER_MODELS_DIR"] {
        dir = URL(fileURLWithPath: custom)
    } else if let data = env["XDG_DATA_HOME"] {
        dir = URL(fileURLWithPath: data).appendingPathComponent("upscaler/models")
    } else {
        dir = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share/upscaler/models")
    }
    let param = dir.appendingPathComponent("\(name).param"), bin = dir.appendingPathComponent("\(name).bin")
    guard FileManager.default.fileExists(atPath: param.path), FileManager.default.fileExists(atPath: bin.path) else {
        return nil
    }
    return (param, bin)
}
