@testable import SwcryptCore
import XCTest

final class LUKS2MetadataCheckTests: XCTestCase {
    func metadata(salt: String?, digest: String?) throws -> JSONValue {
        var d = #"{"type":"pbkdf2","keyslots":["0"],"segments":["0"],"hash":"sha256","iterations":1000"#
        if let salt { d += #","salt":"\#(salt)""# }
        if let digest { d += #","digest":"\#(digest)""# }
        return try JSONValue(parsing: #"{"digests":{"0":"# + d + "}}}")
    }

    let salt32 = "kA50/1TT17e8UgG5uA+8eLNnavi01MNfzdkrx4Jb9AE="   // as cryptsetup wrote it: 32 bytes
    let digest32 = "YtsK8NjNQNvXMSO7zJI21eOJGUzvPCjVXC9/2dIadYY="

    func testAHeaderCryptsetupWroteHasNoProblem() throws {
        XCTAssertEqual(LUKS2MetadataCheck.problems(try metadata(salt: salt32, digest: digest32)), [])
    }

    /// The three ways libcryptsetup 2.8.8's PBKDF2_digest_verify says "verified" for any key.
    func testTheDigestsLibcryptsetupWouldAcceptForAnyKey() throws {
        XCTAssertEqual(LUKS2MetadataCheck.problems(try metadata(salt: salt32, digest: nil)),
                       ["digest 0 has no digest value (libcryptsetup would accept any passphrase)"])
        XCTAssertEqual(LUKS2MetadataCheck.problems(try metadata(salt: "AAAAAAAAAAAAAAAAAAAAAA==", digest: digest32)),
                       ["digest 0's salt is 16 bytes, not 32 (libcryptsetup would accept any passphrase)"])
        XCTAssertEqual(LUKS2MetadataCheck.problems(try metadata(salt: salt32, digest: "AAAAAAAA")),
                       ["digest 0's digest is 6 bytes, not 20 or 32 (libcryptsetup would accept any passphrase)"])
        // Within 20...64 but neither 20 nor sha256's 32: accepted for any key too.
        XCTAssertEqual(LUKS2MetadataCheck.problems(try metadata(salt: salt32, digest: String(repeating: "A", count: 32))),
                       ["digest 0's digest is 24 bytes, not 20 or 32 (libcryptsetup would accept any passphrase)"])
        XCTAssertEqual(LUKS2MetadataCheck.problems(try metadata(salt: nil, digest: digest32)), ["digest 0 has no salt value"])
        XCTAssertEqual(LUKS2MetadataCheck.problems(try metadata(salt: "@@@@", digest: digest32)), ["digest 0's salt is not base64"])
    }

    func testBase64Lengths() {
        XCTAssertEqual(LUKS2MetadataCheck.decodedLength(base64: salt32), 32)
        XCTAssertEqual(LUKS2MetadataCheck.decodedLength(base64: "YQ=="), 1)
        XCTAssertEqual(LUKS2MetadataCheck.decodedLength(base64: "YWI="), 2)
        XCTAssertNil(LUKS2MetadataCheck.decodedLength(base64: "YQ="))
        XCTAssertNil(LUKS2MetadataCheck.decodedLength(base64: "Y==="))
    }
}
