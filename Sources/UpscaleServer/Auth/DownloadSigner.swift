import Crypto
public import Foundation
import UpscaleCore

/// Signs download links: `sig` is HMAC-SHA256(key, "file_id:expires") in hex. The link is the permission, so it can be
/// handed to a browser or another program without the bearer token, and it stops working at `expires`.
public struct DownloadSigner: Sendable {
    private let key: SymmetricKey

    public init(key: [UInt8]) {
        self.key = SymmetricKey(data: key)
    }

    public func signature(fileID: String, expires: Int64) -> String {
        HMAC<SHA256>.authenticationCode(for: Self.message(fileID: fileID, expires: expires), using: key).hex
    }

    private static func message(fileID: String, expires: Int64) -> Data { Data("\(fileID):\(expires)".utf8) }

    public enum Verdict: Equatable { case valid, badSignature, expired }

    /// Checks the signature first, so that an expired link that was tampered with says "bad signature".
    public func verify(fileID: String, expires: Int64?, signature: String?, now: Date) -> Verdict {
        guard let expires, let signature, let given = TokenRegistry.hexBytes(signature) else { return .badSignature }
        // swift-crypto compares the codes in constant time.
        guard
            HMAC<SHA256>.isValidAuthenticationCode(
                given, authenticating: Self.message(fileID: fileID, expires: expires),
                using: key)
        else { return .badSignature }
        return Double(expires) < now.timeIntervalSince1970 ? .expired : .valid
    }

    /// The key from `UPSCALER_SIGNING_KEY` (hex or any text), else from `<data-dir>/signing.key`, created with 32
    /// random bytes (mode 0600) the first time. Every api process that shares a data dir or the variable agrees.
    public static func loadKey(environment: String?, dataDirectory: URL) throws -> [UInt8] {
        if let environment, !environment.isEmpty {
            let key = TokenRegistry.hexBytes(environment) ?? Array(environment.utf8)
            guard key.count >= 16 else {
                throw ConfigurationError(
                    "UPSCALER_SIGNING_KEY is too short: use at least 16 random bytes (32 hex digits)")
            }
            return key
        }
        let file = dataDirectory.appendingPathComponent("signing.key")
        if let existing = try? Data(contentsOf: file) {
            guard existing.count >= 32 else {
                throw ConfigurationError("\(file.path) holds only \(existing.count) bytes; delete it to make a new key")
            }
            return Array(existing)
        }
        var generator = SystemRandomNumberGenerator()
        let fresh = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let temporary = dataDirectory.appendingPathComponent(".signing.key.\(UUID().uuidString)")
        guard
            FileManager.default.createFile(
                atPath: temporary.path, contents: Data(fresh),
                attributes: [.posixPermissions: 0o600])
        else {
            throw ConfigurationError("cannot write \(file.path)")
        }
        // Two processes starting together: the first rename wins, and both then read the winner.
        if (try? FileManager.default.moveItem(at: temporary, to: file)) == nil {
            try? FileManager.default.removeItem(at: temporary)
        }
        let stored = try Data(contentsOf: file)
        guard stored.count >= 32 else { throw ConfigurationError("\(file.path) is shorter than 32 bytes") }
        return Array(stored)
    }
}
