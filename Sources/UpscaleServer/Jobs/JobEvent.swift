import Foundation
import JobStore

/// What a worker in this process reports about a job, as it happens.
struct JobEvent: Sendable {
    enum Kind: Sendable { case status, progress, done }
    let kind: Kind
    let jobID: String
    let progress: JobProgress?
}
