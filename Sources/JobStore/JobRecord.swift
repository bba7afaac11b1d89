public import Foundation

/// A job as the store holds it.
public struct JobRecord: Sendable, Equatable {
    public var id: String
    /// The SHA-256 (hex) of the token that created the job; only that token sees it.
    public var owner: String
    /// The token's name, for usage reports and logs.
    public var ownerName: String
    public var status: JobStatus
    /// The job's options, encoded by the caller; the store does not look inside.
    public var request: Data
    /// The uploaded image, until the job finishes.
    public var inputPath: String
    public var inputWidth: Int
    public var inputHeight: Int
    public var model: String
    public var progress: Double
    public var step: String?
    public var tilesDone: Int?
    public var tilesTotal: Int?
    /// How many times a worker has taken the job (a retry after a lost worker counts again).
    public var attempts: Int
    public var leaseOwner: String?
    public var leaseExpires: Date?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// When the result (and the job) will be swept.
    public var expiresAt: Date?
    public var result: JobResult?
    public var errorCode: ErrorCode?
    public var errorMessage: String?
}
