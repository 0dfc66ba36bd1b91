import XCTest
@testable import SwcryptCore

/// clevis's LUKS2 token format: what `clevis encrypt tang` wrote (a real JWE, made
/// against a tang server on loopback), and jose's own JSON serialization of it
/// (`jose jwe fmt -i JWE -o-`), which clevis luks bind stores under "jwe".
final class ClevisTokenTests: XCTestCase {
    static let compact = "eyJhbGciOiJFQ0RILUVTIiwiY2xldmlzIjp7InBpbiI6InRhbmciLCJ0YW5nIjp7ImFkdiI6eyJrZXlzIjpbeyJhbGciOiJFUzUxMiIsImNydiI6IlAtNTIxIiwia2V5X29wcyI6WyJ2ZXJpZnkiXSwia3R5IjoiRUMiLCJ4IjoiQVBJb2pHVjY3dGxuM3hDUEJFZUVvNTd6blM3ZFJyMXBRdGxMYjREaGlwc3NLLWZGYXdSYU5FV01JS3BFMGFwVnROSGJ6OGFsY0s2aGVuOVgxel9zM3hjViIsInkiOiJBTG1DODJ6dXRYbmxQSFdiRTNHdEx3ejdUeDJQWURNbEh1NXdUeW5YNGJXY0M5MEZlbjBzcEQ0WUlUU2MwdF9mbHpzM0JQS2RhX1h1SnpiZ0EzUjkxXzBNIn0seyJhbGciOiJFQ01SIiwiY3J2IjoiUC01MjEiLCJrZXlfb3BzIjpbImRlcml2ZUtleSJdLCJrdHkiOiJFQyIsIngiOiJBQmp6RXhDY1hrS2hydlVaUkJqclNIV1lLc3U2eW1BdTJEckNqbjc1R2VuRHBzQmhRWG9peDd4QjdTTXk0cFlMMW8wcEp0endKRzVTOFdYX1Z1SkR4M2JzIiwieSI6IkFXZ241aVlnOTNwZHpBVlo5aFVjZlJraG9vcmxqempfeF9XU1IyYWY2aE1MZmIwMHdmQ2JVUTB3cWhLUkdoZlJPNFVWOENKSmJJdjllUFd5WU5neG1iUmsifV19LCJ1cmwiOiJodHRwOi8vMTI3LjAuMC4xOjg4ODgifX0sImVuYyI6IkEyNTZHQ00iLCJlcGsiOnsiY3J2IjoiUC01MjEiLCJrdHkiOiJFQyIsIngiOiJBZUI2TTZ3OTFvUVgzV09FRG1nRjExTlVvVlgxeWk1bVRLUmpUV1hnTWk1aHFiRWxQLTJHaTI1TDcwem1SanBRcWo5TU1UYlg2YlVReFVBNlRDYWYzSkhpIiwieSI6IkFHWTNqOHdLMU1ZeVRFRHhyZ0R4VzFzN2l2TFl6ZW5VcldsMXJObFpsN0NrR2pPOXVNTFQzS3ZjbmxTVFVYOEQ5NHFrNklmZm5nbG90bF9mMUxtRXVvSmIifSwia2lkIjoiZkR1OVl5cjRCZTJMaTg0aTRfSzJ5R1h1RUJrcTN4SW1HUlhCdVNWY2tmcyJ9..Ucl_5hXqiOYgI5Z0.ga_X6n4lbA.8ZVEAN0CiVNbaTC8xD5f3g"
    static let joseJSON = #"{"ciphertext":"ga_X6n4lbA","encrypted_key":"","iv":"Ucl_5hXqiOYgI5Z0","protected":"eyJhbGciOiJFQ0RILUVTIiwiY2xldmlzIjp7InBpbiI6InRhbmciLCJ0YW5nIjp7ImFkdiI6eyJrZXlzIjpbeyJhbGciOiJFUzUxMiIsImNydiI6IlAtNTIxIiwia2V5X29wcyI6WyJ2ZXJpZnkiXSwia3R5IjoiRUMiLCJ4IjoiQVBJb2pHVjY3dGxuM3hDUEJFZUVvNTd6blM3ZFJyMXBRdGxMYjREaGlwc3NLLWZGYXdSYU5FV01JS3BFMGFwVnROSGJ6OGFsY0s2aGVuOVgxel9zM3hjViIsInkiOiJBTG1DODJ6dXRYbmxQSFdiRTNHdEx3ejdUeDJQWURNbEh1NXdUeW5YNGJXY0M5MEZlbjBzcEQ0WUlUU2MwdF9mbHpzM0JQS2RhX1h1SnpiZ0EzUjkxXzBNIn0seyJhbGciOiJFQ01SIiwiY3J2IjoiUC01MjEiLCJrZXlfb3BzIjpbImRlcml2ZUtleSJdLCJrdHkiOiJFQyIsIngiOiJBQmp6RXhDY1hrS2hydlVaUkJqclNIV1lLc3U2eW1BdTJEckNqbjc1R2VuRHBzQmhRWG9peDd4QjdTTXk0cFlMMW8wcEp0endKRzVTOFdYX1Z1SkR4M2JzIiwieSI6IkFXZ241aVlnOTNwZHpBVlo5aFVjZlJraG9vcmxqempfeF9XU1IyYWY2aE1MZmIwMHdmQ2JVUTB3cWhLUkdoZlJPNFVWOENKSmJJdjllUFd5WU5neG1iUmsifV19LCJ1cmwiOiJodHRwOi8vMTI3LjAuMC4xOjg4ODgifX0sImVuYyI6IkEyNTZHQ00iLCJlcGsiOnsiY3J2IjoiUC01MjEiLCJrdHkiOiJFQyIsIngiOiJBZUI2TTZ3OTFvUVgzV09FRG1nRjExTlVvVlgxeWk1bVRLUmpUV1hnTWk1aHFiRWxQLTJHaTI1TDcwem1SanBRcWo5TU1UYlg2YlVReFVBNlRDYWYzSkhpIiwieSI6IkFHWTNqOHdLMU1ZeVRFRHhyZ0R4VzFzN2l2TFl6ZW5VcldsMXJObFpsN0NrR2pPOXVNTFQzS3ZjbmxTVFVYOEQ5NHFrNklmZm5nbG90bF9mMUxtRXVvSmIifSwia2lkIjoiZkR1OVl5cjRCZTJMaTg0aTRfSzJ5R1h1RUJrcTN4SW1HUlhCdVNWY2tmcyJ9","tag":"8ZVEAN0CiVNbaTC8xD5f3g"}"#

    func testTokenFromJoseJSONGivesBackTheCompactJWE() throws {
        let token = try ClevisToken(json: #"{"type":"clevis","keyslots":["3"],"jwe":"# + Self.joseJSON + "}")
        XCTAssertEqual(token.keyslot, 3)
        XCTAssertEqual(token.compactJWE, Self.compact)
        XCTAssertEqual(token.pinDescription, #"tang '{"url":"http://127.0.0.1:8888"}'"#)
    }

    func testJSONRoundTripAndFieldsAsJoseWritesThem() throws {
        let token = try ClevisToken(keyslot: 1, compactJWE: Self.compact + "\n")
        let back = try ClevisToken(json: token.json)
        XCTAssertEqual(back, token)
        XCTAssertTrue(token.json.hasPrefix(#"{"type":"clevis","keyslots":["1"],"jwe":{"protected":""#), token.json)
        let jose = try JSONValue(parsing: Self.joseJSON)
        let ours = try XCTUnwrap(try JSONValue(parsing: token.json)["jwe"])
        for field in ClevisToken.fields {
            XCTAssertEqual(ours[field], jose[field], field)
        }
    }

    func testRefusals() {
        XCTAssertThrowsError(try ClevisToken(keyslot: 0, compactJWE: "not a jwe"))
        XCTAssertThrowsError(try ClevisToken(keyslot: 0, compactJWE: "a.b.c.d"))
        // Five fields, but the protected header names no clevis pin.
        XCTAssertThrowsError(try ClevisToken(keyslot: 0, compactJWE: "eyJhbGciOiJkaXIifQ.x.y.z.w"))
        XCTAssertThrowsError(try ClevisToken(json: #"{"type":"luks2-keyring","keyslots":["0"],"key_description":"k"}"#))
        XCTAssertThrowsError(try ClevisToken(json: #"{"type":"clevis","keyslots":["0","1"],"jwe":{}}"#))
        XCTAssertThrowsError(try ClevisToken(json: "{"))
    }

    func testTokenTimeoutSpans() {
        let tab = SwcryptTab(parsing: """
            a /dev/sda none token-timeout=45
            b /dev/sdb none token-timeout=2min,clevis
            c /dev/sdc none token-timeout=1500ms
            d /dev/sdd none token-timeout=soon
            """)
        XCTAssertEqual(tab.entries.map(\.options.tokenTimeout), [45, 120, 1.5, nil])
        XCTAssertTrue(tab.entries[1].options.clevis)
        XCTAssertEqual(tab.warnings, ["/etc/swcrypttab:4: bad value in 'token-timeout=soon' ignored"])
    }
}
