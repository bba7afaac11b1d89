import Foundation
import Imaging
import Testing

/// A fresh directory under the system temp folder, removed by the caller.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("imaging-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes bytes to `name` inside `directory` and returns the path.
func writeFile(_ bytes: [UInt8], named name: String, in directory: URL) throws -> String {
    let url = directory.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

/// Runs `body` and returns the ``ImagingError`` it throws, recording an issue if it throws
/// something else or nothing.
func imagingError<R>(_ body: () throws -> R, sourceLocation: SourceLocation = #_sourceLocation) -> ImagingError? {
    do {
        _ = try body()
        Issue.record("expected an ImagingError, but the call succeeded", sourceLocation: sourceLocation)
        return nil
    } catch let error as ImagingError {
        return error
    } catch {
        Issue.record("expected an ImagingError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Largest absolute difference between two equally long arrays.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var worst: Float = 0
    for i in a.indices { worst = max(worst, abs(a[i] - b[i])) }
    return worst
}

/// Mean absolute difference between two equally long arrays.
func meanAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var sum: Double = 0
    for i in a.indices { sum += Double(abs(a[i] - b[i])) }
    return Float(sum / Double(a.count))
}

/// 8-bit levels of a decoded image (values are exact multiples of 1/255 after decode).
func levels(_ image: RGBImage) -> [UInt8] {
    image.pixels.map { UInt8(($0 * 255).rounded()) }
}
