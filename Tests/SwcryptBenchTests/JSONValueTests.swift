import SwcryptCore
import SwcryptReports
import Foundation
import XCTest
@testable import SwcryptBenchKit

/// The JSON writer against what Python's json module writes (values taken from
/// Python 3.11's repr and json.dumps).
final class JSONValueTests: XCTestCase {
    func testFloatsAsPythonWritesThem() {
        let cases: [(Double, String)] = [
            (2048.063555, "2048.063555"), (1.0, "1.0"), (0.0, "0.0"), (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"), (0.0001, "0.0001"), (0.00001, "1e-05"), (1.5e-7, "1.5e-07"),
            (504.12109375, "504.12109375"), (1e22, "1e+22"), (123456789.123, "123456789.123"),
            (0.1 + 0.2, "0.30000000000000004"), (Double.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
            (100.0, "100.0"), (12345678901234567.0, "1.2345678901234568e+16"), (-2.5, "-2.5"),
        ]
        for (x, python) in cases { XCTAssertEqual(JSONValue.pythonRepr(x), python, "\(x)") }
    }

    func testStringsAsPythonWritesThem() {
        XCTAssertEqual(JSONValue.string("a—b\"\\\n\u{01}é😀").compactText, #""a\u2014b\"\\\n\u0001\u00e9\ud83d\ude00""#)
    }

    func testLayouts() throws {
        let v = try JSONValue(parsing: #"{"b": [1, 2.0, {}], "a": {"x": null, "y": []}, "c": true}"#)
        XCTAssertEqual(v.compactText, #"{"b": [1, 2.0, {}], "a": {"x": null, "y": []}, "c": true}"#)
        XCTAssertEqual(v.indentedText, """
            {
              "b": [
                1,
                2.0,
                {}
              ],
              "a": {
                "x": null,
                "y": []
              },
              "c": true
            }
            """)
    }

    func testParsingKeepsWhatFoundationLoses() throws {
        let v = try JSONValue(parsing: #" {"z": 1, "a": 1.0, "s": "\u00e9\ud83d\ude00\/"} "#)
        XCTAssertEqual(v, .object([("z", .int(1)), ("a", .double(1)), ("s", .string("é😀/"))]))
        XCTAssertThrowsError(try JSONValue(parsing: #"{"a": 1,}"#))
        XCTAssertThrowsError(try JSONValue(parsing: #"{"a": 1} x"#))
    }

    /// Numbers from arithmetic are written as jq wrote them: integral ones without a fraction.
    func testJqNumbers() {
        XCTAssertEqual(JSONValue.number(1.0 as Double), .int(1))
        XCTAssertEqual(JSONValue.number(1.066 as Double), .double(1.066))
        XCTAssertEqual(JSONValue.number(nil as Double?), .null)
    }

    func testSetting() {
        let v = JSONValue.object([("a", .int(1)), ("b", .int(2))])
        XCTAssertEqual(v.setting("a", .int(3)).compactText, #"{"a": 3, "b": 2}"#)
        XCTAssertEqual(v.setting("c", .null).compactText, #"{"a": 1, "b": 2, "c": null}"#)
    }
}
