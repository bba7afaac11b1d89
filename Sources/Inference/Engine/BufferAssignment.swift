/// Gives each storage a buffer, sharing buffers between storages whose lifetimes do not overlap.
///
/// Lifetimes come from the step list: a storage is live from the first step that touches it to the last one that
/// reads it. The input and output storages live for the whole run. Best-fit reuse keeps peak memory close to the
/// largest set of simultaneously live blobs, which is what makes memory follow the tile size.
package enum BufferAssignment {
    /// Element counts of the buffers to make, and the buffer index of each storage. `size` is a storage's element
    /// count in the backend's layout (by default the CPU's, with channels padded to blocks of 16).
    package static func assign(_ plan: LogicalPlan, size: (StorageSpec) -> Int = \.floatCount)
        -> (counts: [Int], storageBuffer: [Int])
    {
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
        var counts: [Int] = []
        var free: [Int] = []
        var storageBuffer = [Int](repeating: -1, count: n)
        let order = (0..<n).filter { last[$0] >= 0 }.sorted { first[$0] < first[$1] }
        var releaseAt: [Int: [Int]] = [:]
        for s in order { releaseAt[last[s], default: []].append(s) }
        var cursor = 0
        for step in -1...plan.steps.count {
            while cursor < order.count, first[order[cursor]] == step {
                let s = order[cursor]
                let need = size(plan.storages[s])
                let candidates = free.filter { counts[$0] >= need }
                if let best = candidates.min(by: { counts[$0] < counts[$1] }) {
                    free.removeAll { $0 == best }
                    storageBuffer[s] = best
                } else {
                    counts.append(need)
                    storageBuffer[s] = counts.count - 1
                }
                cursor += 1
            }
            for s in releaseAt[step] ?? [] { free.append(storageBuffer[s]) }
        }
        return (counts, storageBuffer)
    }
}
