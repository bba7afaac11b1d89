import Dispatch
import Inference

/// Runs `body` over `count` items split into contiguous chunks across `threads` workers.
@inline(__always)
func parallelChunks(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    let workers = max(1, min(threads, count))
    if workers == 1 { return body(0..<count) }
    withoutActuallyEscaping(body) { body in
        // The chunks touch disjoint memory, which the type system cannot see through raw pointers.
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            shared.value((count * w / workers)..<(count * (w + 1) / workers))
        }
    }
}

/// Carries a value into a concurrent closure whose safety is argued at the use site.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
