import Foundation
import SwcryptCore

extension JSONValue {
    /// A document read from a file's bytes (the bench's records).
    public init(parsing data: Data) throws {
        try self.init(parsing: Array(data))
    }
}
