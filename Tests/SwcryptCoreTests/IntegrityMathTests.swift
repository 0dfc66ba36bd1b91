import XCTest
@testable import SwcryptCore

final class IntegrityMathTests: XCTestCase {
    func metadata(_ cipher: String, _ integrity: String) throws -> Int {
        let spec = try XCTUnwrap(CipherSpec(cryptsetup: cipher))
        let alg = try XCTUnwrap(IntegrityAlgorithm(cryptsetupName: integrity))
        return AuthenticatedCipher(cipher: spec, integrity: alg).metadataBytes
    }

    /// The per-sector numbers from the issue and from cryptsetup's tables.
    func testMetadataBytes() throws {
        XCTAssertEqual(try metadata("aegis128-random", "aead"), 32)
        XCTAssertEqual(try metadata("aes-gcm-random", "aead"), 28)
        XCTAssertEqual(try metadata("chacha20-random", "poly1305"), 28)
        XCTAssertEqual(try metadata("aes-xts-random", "hmac-sha256"), 48)
        XCTAssertEqual(try metadata("aes-xts-random", "hmac-sha512"), 80)
        XCTAssertEqual(try metadata("aes-ccm-random", "aead"), 24)
        XCTAssertEqual(try metadata("aegis256-random", "aead"), 48)
        // Deterministic IVs are not stored.
        XCTAssertEqual(try metadata("aes-cbc-essiv:sha256", "hmac-sha256"), 32)
        XCTAssertEqual(try metadata("aes-xts-plain64", "hmac-sha1"), 20)
    }

    func testCipherSpecParsing() {
        XCTAssertEqual(CipherSpec(cryptsetup: "aes-cbc-essiv:sha256")?.ivGenerator, "essiv:sha256")
        XCTAssertEqual(CipherSpec(cryptsetup: "aegis128-random")?.mode, "")
        XCTAssertNil(CipherSpec(cryptsetup: "aes"))
        XCTAssertNil(CipherSpec(cryptsetup: "aes--random"))
        XCTAssertNil(IntegrityAlgorithm(cryptsetupName: "crc32"))
    }
}
