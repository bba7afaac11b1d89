import Foundation
import Logging
internal import NIOSSL
internal import PostgresNIO
import Synchronization

extension PostgresJobStore {
    static func tls(mode: String, rootCertificates: String?) throws -> PostgresClient.Configuration.TLS {
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        var verified = TLSConfiguration.makeClientConfiguration()
        if let rootCertificates { verified.trustRoots = .file(rootCertificates) }
        switch mode {
        case "disable": return .disable
        case "allow", "prefer": return .prefer(unverified)
        case "require": return .require(unverified)
        case "verify-ca":
            verified.certificateVerification = .noHostnameVerification
            return .require(verified)
        case "verify-full":
            verified.certificateVerification = .fullVerification
            return .require(verified)
        default:
            throw StoreError("sslmode=\(mode): expected disable, allow, prefer, require, verify-ca or verify-full")
        }
    }
}
