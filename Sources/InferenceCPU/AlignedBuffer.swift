import Inference

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
