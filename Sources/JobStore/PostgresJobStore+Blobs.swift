public import Foundation
import Logging
internal import NIOSSL
internal import PostgresNIO
import Synchronization

extension PostgresJobStore {
    // MARK: - Blobs

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        try await shielded { [self] in
            let data = Data(bytes)  // Data binds as bytea ([UInt8] would bind as an array of "char")
            try await client.query(
                """
                INSERT INTO blobs (key, data, created_at) VALUES (\(key), \(data), \(Date().timeIntervalSince1970))
                ON CONFLICT (key) DO UPDATE SET data = excluded.data, created_at = excluded.created_at
                """, logger: logger)
        }
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        try await shielded { [self] in
            let rows = try await client.query("SELECT data FROM blobs WHERE key = \(key)", logger: logger)
            var found: Data?
            for try await data in rows.decode(Data.self) { found = data }
            return found.map { Array($0) }
        }
    }

    public func keys(writtenBefore date: Date) async throws -> [String] {
        try await shielded { [self] in
            let rows = try await client.query(
                "SELECT key FROM blobs WHERE created_at < \(date.timeIntervalSince1970) ORDER BY key", logger: logger)
            var keys: [String] = []
            for try await key in rows.decode(String.self) { keys.append(key) }
            return keys
        }
    }

    public func delete(_ keys: [String]) async throws {
        try await shielded { [self] in
            guard !keys.isEmpty else { return }
            try await client.query("DELETE FROM blobs WHERE key = ANY(\(keys))", logger: logger)
        }
    }
}
