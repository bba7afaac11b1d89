import Foundation

/// A 64-byte aligned, zero-initialised buffer owned by a plan: fp32 activations, or their bf16 shadows (`UInt16`).
final class AlignedBuffer<Element: Numeric & Sendable>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    init(count: Int) {
        self.count = count
        // At least one 64-byte vector, so an empty storage still has a valid, aligned address.
        let capacity = max(count, 64 / MemoryLayout<Element>.stride)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Element>.stride, alignment: 64)
        raw.initializeMemory(as: Element.self, repeating: 0, count: capacity)
        pointer = raw.assumingMemoryBound(to: Element.self)
    }

    deinit { pointer.deallocate() }

    var byteCount: Int { count * MemoryLayout<Element>.stride }
}

/// Gives each storage a buffer, sharing buffers between storages whose lifetimes do not overlap.
///
/// Lifetimes come from the step list: a storage is live from the first step that touches it to the last one that
/// reads it. The input and output storages live for the whole run. Best-fit reuse keeps peak memory close to the
/// largest set of simultaneously live blobs, which is what makes memory follow the tile size.
enum BufferAssignment {
    static func assign(_ plan: LogicalPlan) -> (buffers: [AlignedBuffer<Float>], storageBuffer: [Int]) {
        let n = plan.storages.count
        var first = [Int](repeating: Int.max, count: n)
        var last = [Int](repeating: -1, count: n)
        for (index, step) in plan.steps.enumerated() {
            for view in step.reads + [step.output] {
                first[view.storage] = min(first[view.storage], index)
                last[view.storage] = max(last[view.storage], index)
            }
        }
        for pinned in [plan.inputView.storage, plan.outputView.storage] {
            first[pinned] = -1
            last[pinned] = plan.steps.count
        }
        var buffers: [AlignedBuffer<Float>] = []
        var free: [Int] = []
        var storageBuffer = [Int](repeating: -1, count: n)
        let order = (0..<n).filter { last[$0] >= 0 }.sorted { first[$0] < first[$1] }
        var releaseAt: [Int: [Int]] = [:]
        for s in order { releaseAt[last[s], default: []].append(s) }
        var cursor = 0
        for step in -1...plan.steps.count {
            while cursor < order.count, first[order[cursor]] == step {
                let s = order[cursor]
                let need = plan.storages[s].floatCount
                let candidates = free.filter { buffers[$0].count >= need }
                if let best = candidates.min(by: { buffers[$0].count < buffers[$1].count }) {
                    free.removeAll { $0 == best }
                    storageBuffer[s] = best
                } else {
                    buffers.append(AlignedBuffer(count: need))
                    storageBuffer[s] = buffers.count - 1
                }
                cursor += 1
            }
            for s in releaseAt[step] ?? [] { free.append(storageBuffer[s]) }
        }
        return (buffers, storageBuffer)
    }
}

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
