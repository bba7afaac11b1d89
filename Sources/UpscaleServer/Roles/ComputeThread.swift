import Foundation
import Imaging
import JobStore
import Logging
import ServiceLifecycle
import UpscaleCore

/// One long-lived thread that runs blocking work, one closure at a time, and resumes each caller when its closure is
/// done. Long computations so never occupy the concurrency pool that serves HTTP.
///
/// It must be the same thread every time: oneDNN keeps its default ("library") scratchpad in thread-local storage of
/// the thread that created a primitive, so a primitive made on one thread and run on another reads a null scratchpad
/// (a crash seen when a second job of the same size reused the first job's plan from a fresh thread).
final class ComputeThread: @unchecked Sendable {
    private let lock = NSLock()
    private let available = DispatchSemaphore(value: 0)
    private var queue: [@Sendable () -> Void] = []

    init(name: String) {
        // The thread holds its object strongly: it never ends, and an unowned reference could be read after a worker
        // that failed at start-up (no GPU, say) had already freed the object, which aborts the process.
        let thread = Thread { [self] in
            while true {
                available.wait()
                lock.lock()
                let work = queue.removeFirst()
                lock.unlock()
                work()
            }
        }
        thread.stackSize = 16 << 20
        thread.name = name
        thread.start()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            lock.lock()
            queue.append {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
            lock.unlock()
            available.signal()
        }
    }
}
