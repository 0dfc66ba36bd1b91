import CSwcryptShim

/// What this binary was built as.
public enum BuildInfo {
    /// swcrypt's version: `git describe` of the release build (Scripts/build-release),
    /// or a development build's placeholder that says it is one.
    public static let version = String(cString: swcrypt_shim_version())
}

/// The file the dynamic loader mapped `symbol` from (a shared library's path), or nil.
public func loadedObjectPath(of symbol: UnsafeRawPointer) -> String? {
    swcrypt_shim_object_path(symbol).map { String(cString: $0) }
}
