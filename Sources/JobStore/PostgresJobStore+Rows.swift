import Foundation
import Logging
internal import NIOSSL
internal import PostgresNIO
import Synchronization

extension PostgresJobStore {
    // MARK: - Rows

    private static let columns = """
        id, owner, owner_name, status, request, input_path, input_width, input_height, model, progress, step,
        tiles_done, tiles_total, attempts, lease_owner, lease_expires, created_at, started_at, finished_at, expires_at,
        result_path, result_width, result_height, result_format, processing_seconds, result_device, error_code,
        error_message
        """

    func fetch(_ client: PostgresClient, id: String) async throws -> JobRecord? {
        try await client.withConnection { try await fetch($0, id: id) }
    }

    /// The job, with its row locked until the transaction ends: a finish and a cancel of one job take turns.
    func lockedJob(_ connection: PostgresConnection, id: String) async throws -> JobRecord? {
        let locked = try await connection.query("SELECT id FROM jobs WHERE id = \(id) FOR UPDATE", logger: logger)
        for try await _ in locked {}
        return try await fetch(connection, id: id)
    }

    func fetch(_ connection: PostgresConnection, id: String) async throws -> JobRecord? {
        let rows = try await connection.query(
            "SELECT \(unescaped: Self.columns) FROM jobs WHERE id = \(id)",
            logger: logger)
        // The stream is read to its end (a row stream dropped early is cancelled, which costs a round trip).
        var record: JobRecord?
        for try await row in rows {
            let r = row.makeRandomAccess()
            func date(_ name: String) throws -> Date? {
                try r[name].decode(Double?.self).map { Date(timeIntervalSince1970: $0) }
            }
            var result: JobResult?
            if let path = try r["result_path"].decode(String?.self) {
                result = JobResult(
                    path: path, width: try r["result_width"].decode(Int.self),
                    height: try r["result_height"].decode(Int.self),
                    format: try r["result_format"].decode(String.self),
                    processingSeconds: try r["processing_seconds"].decode(Double?.self) ?? 0,
                    device: try r["result_device"].decode(String?.self))
            }
            record = JobRecord(
                id: try r["id"].decode(String.self), owner: try r["owner"].decode(String.self),
                ownerName: try r["owner_name"].decode(String.self),
                status: JobStatus(rawValue: try r["status"].decode(String.self)) ?? .failed,
                request: try r["request"].decode(Data.self),
                inputPath: try r["input_path"].decode(String.self), inputWidth: try r["input_width"].decode(Int.self),
                inputHeight: try r["input_height"].decode(Int.self), model: try r["model"].decode(String.self),
                progress: try r["progress"].decode(Double.self), step: try r["step"].decode(String?.self),
                tilesDone: try r["tiles_done"].decode(Int?.self), tilesTotal: try r["tiles_total"].decode(Int?.self),
                attempts: try r["attempts"].decode(Int.self), leaseOwner: try r["lease_owner"].decode(String?.self),
                leaseExpires: try date("lease_expires"),
                createdAt: try date("created_at") ?? Date(timeIntervalSince1970: 0),
                startedAt: try date("started_at"), finishedAt: try date("finished_at"),
                expiresAt: try date("expires_at"), result: result,
                errorCode: try r["error_code"].decode(String?.self).map(ErrorCode.init(stored:)),
                errorMessage: try r["error_message"].decode(String?.self))
        }
        return record
    }
}
