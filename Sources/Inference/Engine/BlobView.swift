/// Where a blob lives: a run of channels inside one storage buffer.
///
/// Storages are `nChw16c` (channel blocks of 16, each block a contiguous `H x W x 16` run) unless `plain`, which is
/// `nchw` and is used only for the caller's input. With batch 1, a channel range that starts at a multiple of 16 is a
/// contiguous run of memory, which is what lets a concat be a set of pointer offsets instead of copies.
package struct BlobView: Equatable, Sendable {
    package var storage: Int
    package var channelOffset: Int
    package var channels: Int
    package var height: Int
    package var width: Int

    package var paddedChannels: Int { (channels + 15) & ~15 }
    package var plane: Int { height * width }

    package func overlaps(_ other: BlobView) -> Bool {
        storage == other.storage
            && channelOffset < other.channelOffset + other.paddedChannels
            && other.channelOffset < channelOffset + paddedChannels
    }
}

/// A storage the planner has decided to create; buffers are assigned later by liveness.
package struct StorageSpec: Sendable {
    package var channels: Int
    package var height: Int
    package var width: Int
    package var plain: Bool

    package var floatCount: Int { (plain ? channels : (channels + 15) & ~15) * height * width }
}
