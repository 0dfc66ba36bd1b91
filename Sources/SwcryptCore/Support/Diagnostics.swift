import Synchronization

/// One sink for what the C libraries (libdevmapper, libcryptsetup, libnvme) and
/// swcrypt's own layers want to say. Libraries never print; the command decides
/// what reaches stderr (`--debug`).
public final class Diagnostics: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug = 0, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public struct Entry: Sendable {
        public var level: Level
        public var source: String
        public var message: String
    }

    private let storage = Mutex<[Entry]>([])
    private let echo = Mutex<(@Sendable (Entry) -> Void)?>(nil)

    public static let shared = Diagnostics()

    public init() {}

    public func log(_ level: Level, _ source: String, _ message: String) {
        let entry = Entry(level: level, source: source, message: message)
        storage.withLock { $0.append(entry) }
        echo.withLock { $0 }?(entry)
    }

    /// Called for every new entry (the CLI's `--debug` prints them as they come).
    public func setEcho(_ handler: (@Sendable (Entry) -> Void)?) {
        echo.withLock { $0 = handler }
    }

    public var entries: [Entry] { storage.withLock { $0 } }

    /// Entries logged since `mark` (a count taken from `entries.count`).
    public func entries(since mark: Int) -> [Entry] {
        storage.withLock { Array($0.dropFirst(mark)) }
    }

    public var count: Int { storage.withLock { $0.count } }
}
