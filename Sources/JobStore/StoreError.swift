/// A store failure with a plain message.
public struct StoreError: Error, CustomStringConvertible {
    public let description: String
    /// The disk (or the database's) is full: the service answers 507 `storage_full` and asks to try again later.
    public let isStorageFull: Bool

    public init(_ description: String, storageFull: Bool = false) {
        self.description = description
        isStorageFull = storageFull
    }
}
