import XCTest
@testable import SwcryptCore

final class StackNamingTests: XCTestCase {
    func testUUIDRoundTrip() throws {
        let id = StackNaming.newStackID()
        XCTAssertEqual(id.count, 16)
        let uuid = StackNaming.uuid(layer: .integrity, stack: id, name: "vol-1_dif")
        XCTAssertEqual(StackNaming.parse(uuid: uuid), .init(layer: .integrity, stack: id, name: "vol-1_dif"))
        XCTAssertNil(StackNaming.parse(uuid: "CRYPT-LUKS2-0123-vol"))
        XCTAssertNil(StackNaming.parse(uuid: "SWCRYPT-CRYPT-xyz-vol"))
    }

    func testNameRules() {
        XCTAssertNoThrow(try StackNaming.validate(name: "ci-test_1"))
        for bad in ["", "a/b", ".", "..", String(repeating: "x", count: 124), "sp ace", "tab\t"] {
            XCTAssertThrowsError(try StackNaming.validate(name: bad), bad)
        }
    }
}
