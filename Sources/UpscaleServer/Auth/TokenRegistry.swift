import Crypto
import Foundation
public import JobStore
import UpscaleCore

/// Who is calling: a token's name and the owner id that jobs and usage are keyed by.
public struct Caller: Sendable, Equatable {
    public let name: String
    /// Hex HMAC-SHA256 of the token's SHA-256 under a key derived from the server's secret: the raw token is never
    /// stored, and a database copied off the server does not let anyone test guesses against it.
    public let owner: String
    /// This token's own request limit, if its line in the tokens file sets one.
    public var rateLimit: TokenRateLimit = .serverDefault
}

/// A token's request limit: the server's `--rate-limit`, none, or its own.
public enum TokenRateLimit: Sendable, Equatable {
    case serverDefault
    case unlimited
    case policy(RateLimitPolicy)
}

/// The accepted bearer tokens, from `VALID_TOKENS` (comma-separated raw tokens, as the old service took them) and a
/// tokens file of `name:sha256hex[:limit]` lines (so the server never needs the raw tokens). The optional limit is
/// that token's request rate, `off` or `RATE/UNIT[,burst=N]` as `--rate-limit` takes it.
///
/// A presented token is hashed and compared with every known hash in constant time, so neither the comparison nor the
/// number of tokens checked depends on how much of a token matched.
public struct TokenRegistry: Sendable {
    struct Entry: Sendable {
        let name: String
        let digest: [UInt8]
        var rateLimit: TokenRateLimit = .serverDefault
        var owner = ""
    }
    private let entries: [Entry]

    public var count: Int { entries.count }

    init(entries: [Entry]) {
        self.entries = entries
    }

    /// A raw token shorter than this is refused: guessing must not be a matter of a few thousand tries.
    public static let minimumTokenLength = 16

    /// Reads both sources. Raw tokens are named `env-1`, `env-2`, ... in the order given. `secret` (the server's
    /// signing key) keys the owner ids.
    public static func load(validTokens: String?, tokensFile: String?, secret: [UInt8]) throws -> TokenRegistry {
        var entries: [Entry] = []
        let raw = (validTokens ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        for (index, token) in raw.enumerated() {
            guard token.count >= minimumTokenLength else {
                throw ConfigurationError(
                    "VALID_TOKENS: token \(index + 1) has \(token.count) characters; a token needs at least "
                        + "\(minimumTokenLength) (`upscaler tokens generate` makes one)")
            }
            entries.append(Entry(name: "env-\(index + 1)", digest: Self.digest(token)))
        }
        if let tokensFile {
            let text: String
            do {
                text = try String(contentsOfFile: tokensFile, encoding: .utf8)
            } catch {
                throw ConfigurationError("cannot read the tokens file \(tokensFile): \(error.localizedDescription)")
            }
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
                let parts = trimmed.split(separator: ":", maxSplits: 2).map(String.init)
                guard parts.count >= 2, let digest = Self.hexBytes(parts[1]), digest.count == 32, !parts[0].isEmpty
                else {
                    throw ConfigurationError("\(tokensFile) line \(number + 1): expected name:sha256hex[:limit]")
                }
                var entry = Entry(name: parts[0], digest: digest)
                if parts.count == 3 {
                    do {
                        entry.rateLimit = try RateLimitPolicy.parse(parts[2]).map { .policy($0) } ?? .unlimited
                    } catch let error as ConfigurationError {
                        throw ConfigurationError("\(tokensFile) line \(number + 1): \(error.description)")
                    }
                }
                entries.append(entry)
            }
        }
        let ownerKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: secret), info: Data("upscaler token owners".utf8),
            outputByteCount: 32)
        for index in entries.indices {
            entries[index].owner = HMAC<SHA256>.authenticationCode(for: entries[index].digest, using: ownerKey).hex
        }
        return TokenRegistry(entries: entries)
    }

    /// The caller for an `Authorization` header value, or nil.
    public func authenticate(authorization: String?) -> Caller? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty else { return nil }
        let digest = Self.digest(token)
        var found: Entry?
        for entry in entries where Self.constantTimeEqual(entry.digest, digest) && found == nil {
            found = entry
        }
        return found.map { Caller(name: $0.name, owner: $0.owner, rateLimit: $0.rateLimit) }
    }

    /// What the registry keeps of a token: its SHA-256, never the token itself.
    public static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    /// Compares every byte whatever the first difference.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    static func hexBytes(_ hex: String) -> [UInt8]? {
        let characters = Array(hex.lowercased().utf8)
        guard characters.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count / 2)
        for i in stride(from: 0, to: characters.count, by: 2) {
            guard let high = hexValue(characters[i]), let low = hexValue(characters[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// A new token: 32 random bytes from the system's secure generator, base64url, with a recognisable prefix.
    public static func generateToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "ups_" + base64
    }
}

/// A problem with the server's configuration, reported before it starts.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
