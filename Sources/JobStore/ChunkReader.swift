import Foundation
import Synchronization

/// An open file read front to back, one chunk per call, closed at the end or when the reader goes away (a client
/// that hung up).
final class ChunkReader: Sendable {
    private let handle: Mutex<FileHandle?>

    init(handle: FileHandle) { self.handle = Mutex(handle) }

    /// The next chunk, or nil at the end of the file.
    func read(upTo count: Int) throws -> [UInt8]? {
        try handle.withLock { handle in
            guard let open = handle else { return nil }
            guard let data = try open.read(upToCount: count), !data.isEmpty else {
                try? open.close()
                handle = nil
                return nil
            }
            return [UInt8](data)
        }
    }

    deinit { handle.withLock { try? $0?.close() } }
}
